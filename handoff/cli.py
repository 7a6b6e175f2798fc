"""`faqbot`: the project's command line.

    faqbot kb validate|search|eval ...   the knowledge base (see knowledge/cli.py)
    faqbot agent create NAME [--role agent|supervisor] [--password-stdin | --no-password]
                                         a new agent; prints its API token once
    faqbot agent set-password NAME [--password-stdin]
    faqbot agent deactivate NAME
    faqbot agent list                    name, role, active, last seen
    faqbot db upgrade                    apply database migrations
    faqbot report [--since DATE] [--until DATE] [--channel C] [--language L] [--json]
                                         the service's figures (default: the last 30 days)
    faqbot demo seed [--conversations N] [--days D] [--force | --if-empty]
                                         a generated history of conversations, for a demo

Each command imports only what it needs: `faqbot agent` does not load the embedding
model, `faqbot kb` does not touch the database.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _database():
    from .config import database_url
    from .db import Database

    db = Database(database_url())
    db.migrate()
    return db


def _accounts():
    from .accounts import Accounts

    return Accounts(_database())


def _new_password(args) -> str | None:
    """From stdin (`--password-stdin`: its first line), typed twice at a terminal, or
    none at all when there is no terminal to ask at (scripts; the agent then uses the
    API only until `faqbot agent set-password`)."""
    import getpass

    from .accounts import AccountError

    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    if getattr(args, "no_password", False) or not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None
    first = getpass.getpass("desk password (at least 10 characters): ")
    if getpass.getpass("the same again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def cmd_agent_create(args) -> int:
    from .accounts import AccountError
    from .store import Conflict

    try:
        created = _accounts().create(args.name, _new_password(args), role=args.role)
    except (Conflict, AccountError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(created.token)
    print(
        f"agent {created.account.name!r} ({created.account.role}) created; the API token above is shown only once",
        file=sys.stderr,
    )
    if not created.account.has_password:
        print(f"no desk password yet: faqbot agent set-password {created.account.name!r}", file=sys.stderr)
    return 0


def cmd_agent_set_password(args) -> int:
    from .accounts import AccountError, check_password

    try:
        password = _new_password(args)
        if password is None:
            raise AccountError("no terminal to ask the password at: use --password-stdin")
        account = _accounts().set_password(args.name, check_password(password))
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"password of {account.name!r} set; the agent's open desk sessions have ended", file=sys.stderr)
    return 0


def cmd_agent_deactivate(args) -> int:
    from .accounts import AccountError

    try:
        account = _accounts().deactivate(args.name)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"agent {account.name!r} deactivated: no more logins, API calls or open sessions", file=sys.stderr)
    return 0


def cmd_agent_list(args) -> int:
    from .store import utc

    accounts = _accounts().list()
    rows = [(a.name, a.role, "yes" if a.active else "no", utc(a.last_seen_at) or "never") for a in accounts]
    header = ("NAME", "ROLE", "ACTIVE", "LAST SEEN")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(value).ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_db_upgrade(args) -> int:
    from .config import database_url

    _database()
    print(f"database schema up to date ({database_url().split('@')[-1]})")
    return 0


def cmd_report(args) -> int:
    from .reports import cli as report_cli
    from .reports.figures import compute

    try:
        filters = report_cli.filters_from(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    db = _database()
    report = compute(db, filters)
    clusters = None if args.no_gaps else report_cli.gap_clusters(db, filters)
    print(report_cli.as_json(report, clusters) if args.json else report_cli.as_text(report, clusters), end="")
    return 0


def cmd_demo_seed(args) -> int:
    from .reports.demo import DemoError, NotEmpty, seed

    try:
        summary = seed(_database(), conversations=args.conversations, days=args.days, force=args.force)
    except NotEmpty as exc:
        if args.if_empty:  # `make run DEMO=1` a second time: the demo is there already
            print(f"no demo seeded: {exc}", file=sys.stderr)
            return 0
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary)
    return 0


def parser() -> argparse.ArgumentParser:
    from knowledge.cli import add_commands as add_kb_commands

    root = argparse.ArgumentParser(prog="faqbot", description="FAQ chatbot with human handoff")
    commands = root.add_subparsers(dest="command", required=True)
    add_kb_commands(commands)

    agent = commands.add_parser("agent", help="manage agents").add_subparsers(dest="agent_command", required=True)
    create = agent.add_parser("create", help="create an agent and print its API token")
    create.add_argument("name")
    create.add_argument("--role", choices=("agent", "supervisor"), default="agent")
    how = create.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the desk password from stdin")
    how.add_argument("--no-password", action="store_true", help="API token only; no desk login yet")
    create.set_defaults(handler=cmd_agent_create)
    set_password = agent.add_parser("set-password", help="set an agent's desk password (ends its sessions)")
    set_password.add_argument("name")
    set_password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    set_password.set_defaults(handler=cmd_agent_set_password)
    deactivate = agent.add_parser("deactivate", help="no more logins or API calls for this agent")
    deactivate.add_argument("name")
    deactivate.set_defaults(handler=cmd_agent_deactivate)
    agent.add_parser("list", help="agents: name, role, active, last seen").set_defaults(handler=cmd_agent_list)

    db = commands.add_parser("db", help="the hub's database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(handler=cmd_db_upgrade)

    from .reports.cli import add_arguments as add_report_arguments

    report = commands.add_parser("report", help="the service's figures over a period")
    add_report_arguments(report)
    report.set_defaults(handler=cmd_report)
    demo = commands.add_parser("demo", help="demo data").add_subparsers(dest="demo_command", required=True)
    seed = demo.add_parser("seed", help="generate a history of conversations (refuses a database that has some)")
    seed.add_argument("--conversations", type=int, default=600, help="how many (default 600)")
    seed.add_argument("--days", type=int, default=30, help="spread over the last D days (default 30)")
    seed.add_argument("--force", action="store_true", help="add them even if the database has conversations")
    seed.add_argument("--if-empty", action="store_true", help="seed only an empty database; else do nothing (exit 0)")
    seed.set_defaults(handler=cmd_demo_seed)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
