"""Open connections against the hub: N customers long-polling at once (as N open chat
widgets do), and meanwhile the latency of everything else (`/health`, a customer's
message, the agents' queue).

Runs its own hub (gunicorn with the hub's worker, SQLite in a temporary folder, no bot:
messages wait for it), so it needs nothing else running:

    .venv/bin/python scripts/bench_longpoll.py [--connections 1000] [--samples 200]

tests/test_server.py uses the same pieces to check that the hub stays responsive.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.stack import QUIET_ENV, VENV, free_port  # noqa: E402


def hub_command(port: int, workers: int = 1) -> list[str]:
    return [
        str(VENV / "gunicorn"),
        "--config",
        "python:handoff.gunicorn_conf",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "handoff.wsgi:app",
    ]


@contextlib.contextmanager
def running_hub(folder: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """A hub on a free port with its own SQLite database and a bot that is not there."""
    from handoff.db import migrate

    database_url = f"sqlite:///{folder / 'hub.db'}"
    migrate(database_url)
    port = free_port()
    environment = {
        **os.environ,
        **QUIET_ENV,
        "DATABASE_URL": database_url,
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "ACTIONS_URL": f"http://127.0.0.1:{free_port()}",
        # Benchmarks and tests open thousands of conversations from one address on
        # purpose: the public API's rate limits (tests/test_public_api.py) are off here.
        "RATE_LIMIT_NEW_CONVERSATIONS": "off",
        "RATE_LIMIT_MESSAGES": "off",
        **(env or {}),
    }
    log = (folder / "hub.log").open("ab")
    process = subprocess.Popen(
        hub_command(port), cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the hub exited with {process.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("the hub did not come up")


def new_conversations(url: str, count: int) -> list[tuple[str, str]]:
    with requests.Session() as http:
        created = []
        for _ in range(count):
            body = http.post(f"{url}/api/conversations", json={}, timeout=10).json()
            created.append((body["id"], body["token"]))
        return created


def open_long_polls(url: str, conversations: list[tuple[str, str]], wait: int = 25) -> list[socket.socket]:
    """One raw connection per conversation, each with a long-poll request sent and its
    answer not read: what a thousand idle widgets look like to the hub."""
    host, port = url.removeprefix("http://").split(":")
    sockets = []
    for conversation_id, token in conversations:
        sock = socket.create_connection((host, int(port)), timeout=30)
        request = (
            f"GET /api/conversations/{conversation_id}/messages?after=0&wait={wait} HTTP/1.1\r\n"
            f"Host: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(request.encode())
        sockets.append(sock)
    return sockets


def read_status(sock: socket.socket, timeout: float) -> int | None:
    """The HTTP status of the answer on `sock`, or None if none came in time."""
    sock.settimeout(timeout)
    try:
        head = sock.recv(64)
    except (TimeoutError, OSError):
        return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and head.startswith(b"HTTP/") else None


def timed(call) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.url}: {response.status_code}")
    return elapsed


def other_requests(url: str, conversation: tuple[str, str], samples: int) -> dict[str, list[float]]:
    """Latency of the requests that must not suffer from the open long-polls."""
    conversation_id, token = conversation
    headers = {"Authorization": f"Bearer {token}"}
    times: dict[str, list[float]] = {"health": [], "message": [], "new conversation": []}
    send = f"{url}/api/conversations/{conversation_id}/messages"
    with requests.Session() as http:
        for i in range(samples):
            times["health"].append(timed(lambda: http.get(f"{url}/health", timeout=10)))
            times["new conversation"].append(timed(lambda: http.post(f"{url}/api/conversations", json={}, timeout=10)))
            times["message"].append(timed(lambda i=i: http.post(send, json={"text": f"pytanie {i}"}, headers=headers)))
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_hub(Path(tmp)) as (url, process):
        conversations = new_conversations(url, args.connections + 1)
        baseline = other_requests(url, conversations[-1], args.samples)
        sockets = open_long_polls(url, conversations[:-1])
        started = time.monotonic()
        while requests.get(f"{url}/health", timeout=30).json()["live_connections"] < len(sockets):
            time.sleep(0.2)
        print(f"{len(sockets)} long-polls taken by the hub in {time.monotonic() - started:.1f} s")
        loaded = other_requests(url, conversations[-1], args.samples)
        print(f"open long-polls held: {len(sockets)}; {args.samples} requests of each kind, sequential")
        print(f"{'request':<18} {'p50 idle':>9} {'p99 idle':>9} {'p50 held':>9} {'p99 held':>9}   (ms)")
        for kind in baseline:
            idle, held = baseline[kind], loaded[kind]
            row = [percentile(idle, 50), percentile(idle, 99), percentile(held, 50), percentile(held, 99)]
            print(f"{kind:<18} " + " ".join(f"{1000 * v:9.1f}" for v in row))
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        answered = sum(read_status(sock, 15) == 200 for sock in sockets)
        print(
            f"graceful stop: {answered}/{len(sockets)} long-polls answered 200 "
            f"within {time.monotonic() - started:.1f} s"
        )
        for sock in sockets:
            sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
