"""How fast a customer's message reaches an open desk, and what open desks cost.

Runs its own hub (gunicorn with the hub's worker, SQLite, the bot absent so that every
conversation goes to the agents), logs an agent in, opens the desk in Debian's chromium
on a claimed conversation, then:

1. sends N customer messages one after another through the customer API and times each
   from the POST until the text shows in the desk's transcript (the live path: commit,
   pub/sub event, the desk's event stream, its fetch, the DOM);
2. holds M more desk event streams open (other agents' desks) and times other requests
   meanwhile.

    .venv/bin/python scripts/bench_desk.py [--messages 50] [--streams 500]
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_longpoll import percentile, running_hub  # noqa: E402
from scripts.stack import VENV  # noqa: E402

PASSWORD = "benchmark-password-1"
CHROMIUM = "/usr/bin/chromium"


def create_agent(name: str, database_url: str, password: str = PASSWORD, role: str = "agent") -> None:
    """An agent (or a supervisor) with a desk password, made with the command line as an
    admin would."""
    subprocess.run(
        [str(VENV / "python"), "-m", "handoff.cli", "agent", "create", name, "--role", role, "--password-stdin"],
        input=password,
        text=True,
        cwd=ROOT,
        env={"DATABASE_URL": database_url, "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        timeout=60,
    )


def log_in(url: str, name: str, password: str = PASSWORD) -> requests.Session:
    """A logged-in desk session over plain HTTP (the login form, with its CSRF token)."""
    http = requests.Session()
    form = http.get(f"{url}/desk/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = http.post(
        f"{url}/desk/login", data={"csrf_token": token, "name": name, "password": password}, allow_redirects=False
    )
    if answer.status_code != 303:
        raise RuntimeError(f"login failed: {answer.status_code}")
    return http


def waiting_customer(url: str) -> tuple[str, dict[str, str]]:
    body = requests.post(f"{url}/api/conversations", json={"language": "pl"}, timeout=10).json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    requests.post(f"{url}/api/conversations/{body['id']}/messages", json={"text": "halo"}, headers=headers)
    return body["id"], headers


def message_to_desk(url: str, conversation_id: str, headers: dict[str, str], count: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        page = browser.new_context(base_url=url).new_page()
        page.goto(f"/desk/login?next=/desk/c/{conversation_id}")
        page.fill("#login-name", "Ola")
        page.fill("#login-password", PASSWORD)
        page.click("form.login-form button[type=submit]")
        page.wait_for_selector('#connection[data-state="live"]')
        page.click("#claim")
        page.wait_for_selector("#resolve")
        times = []
        send = f"{url}/api/conversations/{conversation_id}/messages"
        with requests.Session() as http:
            for i in range(count):
                text = f"wiadomość numer {i} {time.monotonic_ns()}"
                started = time.perf_counter()
                http.post(send, json={"text": text}, headers=headers, timeout=10).raise_for_status()
                page.wait_for_function(
                    "text => [...document.querySelectorAll('#transcript .role-customer')]"
                    ".some(e => e.textContent.includes(text))",
                    arg=text,
                    timeout=10_000,
                )
                times.append(time.perf_counter() - started)
        browser.close()
    return times


def open_streams(url: str, cookies: str, count: int) -> list[socket.socket]:
    host, port = url.removeprefix("http://").split(":")
    streams = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=30)
        sock.sendall(
            f"GET /desk/api/events HTTP/1.1\r\nHost: {host}\r\nCookie: {cookies}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        streams.append(sock)
    return streams


def other_requests(url: str, http: requests.Session, samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        http.get(f"{url}/desk/api/queue", timeout=10).raise_for_status()
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--streams", type=int, default=500)
    args = parser.parse_args()
    env = {"BOT_START_MAX": "0", "BOT_WAIT_MAX": "0", "PRESENCE_TIMEOUT": "3600", "FAQBOT_SECRET_KEY": "bench" * 8}
    with tempfile.TemporaryDirectory() as tmp, running_hub(Path(tmp), env) as (url, _):
        create_agent("Ola", f"sqlite:///{Path(tmp) / 'hub.db'}")
        agent = log_in(url, "Ola")
        conversation_id, headers = waiting_customer(url)
        times = message_to_desk(url, conversation_id, headers, args.messages)
        print(f"customer message -> shown in an open desk, {len(times)} messages one after another:")
        print(f"  p50 {1000 * percentile(times, 50):.0f} ms, p95 {1000 * percentile(times, 95):.0f} ms")

        idle = other_requests(url, agent, 100)
        cookies = "; ".join(f"{k}={v}" for k, v in agent.cookies.items())
        streams = open_streams(url, cookies, args.streams)
        deadline = time.monotonic() + 60
        health = requests.get(f"{url}/health", timeout=10).json()
        while health["live_connections"] < args.streams and time.monotonic() < deadline:
            time.sleep(0.2)
            health = requests.get(f"{url}/health", timeout=10).json()
        held = other_requests(url, agent, 100)
        print(f"desk event streams held: {health['live_connections']}")
        print(
            f"  GET /desk/api/queue p50/p99: {1000 * percentile(idle, 50):.1f}/{1000 * percentile(idle, 99):.1f} ms"
            f" with none open, {1000 * percentile(held, 50):.1f}/{1000 * percentile(held, 99):.1f} ms with them"
        )
        for sock in streams:
            sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
