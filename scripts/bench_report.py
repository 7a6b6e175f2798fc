"""How long the report takes over a large history, on SQLite and PostgreSQL.

Generates N conversations (default 100,000) over a year with the demo generator
(handoff/reports/demo.py: the same rows and facts the hub writes live), bulk-inserts
them into a fresh SQLite file and into a fresh PostgreSQL database created for the run
and dropped after it (`bench_report` on the server of TEST_DATABASE_URL, default
postgresql://127.0.0.1:5432/test; nothing in the `test` database is touched), then
times `figures.compute()` for the last 30 days and for all time.

    .venv/bin/python scripts/bench_report.py [--conversations 100000] [--days 365] [--runs 3]
        [--no-postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handoff.config import database_url as normalise  # noqa: E402
from handoff.db import Database  # noqa: E402
from handoff.reports.demo import History, ensure_agents, insert_rows, load_entries  # noqa: E402
from handoff.reports.figures import compute  # noqa: E402
from handoff.reports.model import Filters  # noqa: E402

BENCH_DATABASE = "bench_report"
SLICES = 20  # generated and inserted a slice of the year at a time: bounded memory


def fill(db: Database, conversations: int, days: int, now: datetime) -> tuple[float, int]:
    """Generate and insert the history; returns (seconds, messages)."""
    agents = ensure_agents(db)
    entries = load_entries()
    rng = random.Random(42)
    start = now - timedelta(days=days)
    step = (now - start) / SLICES
    started, messages = time.perf_counter(), 0
    for index in range(SLICES):
        count = conversations // SLICES + (1 if index < conversations % SLICES else 0)
        rows = History(entries, agents, now, rng).generate(count, start + step * index, start + step * (index + 1))
        insert_rows(db, rows)
        messages += len(rows.messages)
    with db.engine.connect() as connection:  # fresh statistics, as a database in use has
        connection.execute(sa.text("ANALYZE"))
        connection.commit()
    return time.perf_counter() - started, messages


def timed(db: Database, filters: Filters, runs: int) -> tuple[float, float]:
    """Median and best of `runs` reports, in ms (after one warm-up run)."""
    compute(db, filters)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        compute(db, filters)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times)


@contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="bench-report-") as folder:
        db = Database(f"sqlite:///{folder}/hub.db")
        db.migrate()
        yield db
        db.dispose()


@contextmanager
def postgres_database(server_url: str) -> Iterator[Database]:
    """A database of its own on the server, dropped afterwards."""
    url = sa.engine.make_url(normalise(server_url))
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
    db = Database(url.set(database=BENCH_DATABASE).render_as_string(hide_password=False))
    try:
        db.migrate()
        yield db
    finally:
        db.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}"'))
        admin.dispose()


def bench(name: str, db: Database, args: argparse.Namespace, now: datetime) -> list[str]:
    seconds, messages = fill(db, args.conversations, args.days, now)
    print(
        f"{name}: {args.conversations:,} conversations, {messages:,} messages inserted in {seconds:.1f} s", flush=True
    )
    rows = []
    for label, since in (("30 days", now - timedelta(days=30)), ("all time", now - timedelta(days=args.days + 1))):
        median, best = timed(db, Filters(since=since, until=now), args.runs)
        rows.append(f"| {name} | {label} | {median:,.0f} | {best:,.0f} |")
    median, best = timed(
        db, Filters(since=now - timedelta(days=30), until=now, channel="web", language="pl"), args.runs
    )
    rows.append(f"| {name} | 30 days, web, pl | {median:,.0f} | {best:,.0f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    now = datetime.now(UTC)
    rows = []
    with sqlite_database() as db:
        rows += bench("SQLite", db, args, now)
    if not args.no_postgres:
        with postgres_database(os.environ.get("TEST_DATABASE_URL") or "postgresql://127.0.0.1:5432/test") as db:
            rows += bench("PostgreSQL", db, args, now)
    print()
    print(f"The report over {args.conversations:,} conversations ({args.days} days), ms:")
    print("| database | period | median | best |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
