"""`faqbot`: the project's command line.

    faqbot kb validate|search|eval ...   the knowledge base (see knowledge/cli.py)
    faqbot agent create NAME             a new agent; prints its token once
    faqbot db upgrade                    apply database migrations

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


def cmd_agent_create(args) -> int:
    from .desk import Desk
    from .pubsub import InProcessPubSub
    from .store import Conflict

    try:
        token = Desk(_database(), InProcessPubSub()).create_agent(args.name)
    except (Conflict, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(token)
    print(f"agent {args.name!r} created; the token above is shown only once", file=sys.stderr)
    return 0


def cmd_db_upgrade(args) -> int:
    from .config import database_url

    _database()
    print(f"database schema up to date ({database_url().split('@')[-1]})")
    return 0


def parser() -> argparse.ArgumentParser:
    from knowledge.cli import add_commands as add_kb_commands

    root = argparse.ArgumentParser(prog="faqbot", description="FAQ chatbot with human handoff")
    commands = root.add_subparsers(dest="command", required=True)
    add_kb_commands(commands)

    agent = commands.add_parser("agent", help="manage agents").add_subparsers(dest="agent_command", required=True)
    create = agent.add_parser("create", help="create an agent and print its token")
    create.add_argument("name")
    create.set_defaults(handler=cmd_agent_create)

    db = commands.add_parser("db", help="the hub's database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(handler=cmd_db_upgrade)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
