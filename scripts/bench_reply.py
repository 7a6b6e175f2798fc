"""Reply latency through the hub: customer HTTP request -> hub (stores) -> Rasa ->
action server (embedding + search) -> hub (stores) -> response. A script, not a test.

    .venv/bin/python scripts/bench_reply.py [--messages 100] [--url http://127.0.0.1:8000]

Conversations are 10 messages long, like a customer's chat. Without --url it starts
its own stack (hub, Rasa, action server) on free ports with a throw-away database, so
it never touches var/faqbot.db.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.stack import Stack, free_port  # noqa: E402

QUESTIONS = [
    "jak zwrocic towar",
    "ile kosztuje dostawa do paczkomatu",
    "czy moge zaplacic blikiem",
    "how do I return an item?",
    "gdzie jest moja paczka",
    "do you ship to germany",
    "jak zlozyc reklamacje",
    "nie dziala mi kod rabatowy",
    "can I pay cash on delivery?",
    "ile czasu macie na zwrot pieniedzy",
]
SMALL_TALK = ["dzień dobry", "dzięki", "hello"]


TURNS_PER_CONVERSATION = 10  # a customer's chat is short; Rasa's cost grows with its length


def measure(url: str, messages: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"faq": [], "small talk": []}
    texts = itertools.cycle([(q, "faq") for q in QUESTIONS] + [(t, "small talk") for t in SMALL_TALK])
    session = requests.Session()
    conversation = None
    for n in range(messages + 3):  # the first three warm connections and caches up
        if conversation is None or n % TURNS_PER_CONVERSATION == 0:
            created = session.post(f"{url}/api/conversations", json={"language": "pl"}, timeout=10).json()
            conversation = (created["id"], {"Authorization": f"Bearer {created['token']}"})
        text, kind = next(texts)
        started = time.perf_counter()
        response = session.post(
            f"{url}/api/conversations/{conversation[0]}/messages",
            json={"text": text},
            headers=conversation[1],
            timeout=30,
        )
        elapsed = (time.perf_counter() - started) * 1000
        body = response.json()
        if response.status_code != 200 or not body["messages"]:
            raise SystemExit(f"unexpected reply to {text!r}: {response.status_code} {body}")
        times[kind].append(elapsed)
        if body["status"] != "bot":  # queued: start a new conversation, as a new customer would
            conversation = None
    for kind in times:
        times[kind] = times[kind][1:]  # drop warm-up
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--url", help="a running hub (default: start one)")
    args = parser.parse_args()
    stack = None
    url = args.url
    if url is None:
        tmp = Path(tempfile.mkdtemp())
        from handoff.db import migrate

        database_url = f"sqlite:///{tmp / 'bench.db'}"
        migrate(database_url)
        stack = Stack(
            hub_port=free_port(),
            env={"DATABASE_URL": database_url, "RATE_LIMIT_NEW_CONVERSATIONS": "off", "RATE_LIMIT_MESSAGES": "off"},
            log_dir=tmp / "logs",
        )
        print("starting hub, Rasa and action server ...", flush=True)
        stack.start()
        url = stack.hub_url
    try:
        times = measure(url, args.messages)
    finally:
        if stack is not None:
            stack.stop()
    everything = times["faq"] + times["small talk"]
    print(f"{len(everything)} messages through {url}")
    for kind, values in [("all", everything), *times.items()]:
        print(
            f"  {kind:>10}: p50 {np.percentile(values, 50):6.1f} ms   p95 {np.percentile(values, 95):6.1f} ms"
            f"   max {max(values):6.1f} ms   (n={len(values)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
