"""The action server as the stack starts it: `python -m bot.server --port N`, one real
subprocess with the real model, on a small copy of the sample FAQ with one broken file.

It must keep rasa-sdk's `/health` and `/webhook`, and add `/status`: the knowledge
base's version and what it does not serve as it is on disk."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from knowledge.entries import parse_file
from knowledge.loader import EntryLoader
from knowledge.settings import Settings
from tests.faq_files import lines, write

from .conftest import ROOT, SAMPLE_KB

PYTHON = ROOT / ".venv" / "bin" / "python"
BROKEN = "zepsuty.md"
BROKEN_PROBLEM = f"{BROKEN}:1: front matter is not closed: add a line with '---' after it"
STARTUP_SECONDS = 240  # the model, and a cold embedding cache, on two shared cores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.status, json.loads(resp.read())


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return resp.status, json.loads(resp.read())


def wait_until_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"action server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if get(f"{url}/health")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    pytest.fail(f"action server not healthy after {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


@dataclass(frozen=True)
class ActionServer:
    url: str
    port: int
    log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> ActionServer:
    tmp = tmp_path_factory.mktemp("action-server")
    kb_dir = tmp / "faq"
    shutil.copytree(SAMPLE_KB / "zwroty", kb_dir)
    write(kb_dir, BROKEN, lines("---", "id: returns-broken", "# Czy zwrot jest darmowy?", "Tak."))
    cache = tmp / "embeddings.sqlite3"
    if Settings().cache_path is not None and Settings().cache_path.exists():
        shutil.copy(Settings().cache_path, cache)  # warm when other tests filled it; correct either way
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAQBOT_", "SANIC_"))}
    env.update(
        HF_HUB_OFFLINE="1",
        FAQBOT_KB_DIR=str(kb_dir),
        FAQBOT_EMBEDDING_CACHE=str(cache),
        FAQBOT_KB_LAST_GOOD=str(tmp / "last-good"),  # empty: the broken file has no last good copy
    )
    port = free_port()
    log = tmp / "actions.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(PYTHON), "-m", "bot.server", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log)
        yield ActionServer(url, port, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the TCP sockets listening on `port`, from /proc (Linux)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_health_still_answers(server):
    assert get(f"{server.url}/health") == (200, {"status": "ok"})


def test_status_reports_the_version_the_entries_and_what_is_not_served(server):
    served = EntryLoader(SAMPLE_KB / "zwroty").load().entries

    status, body = get(f"{server.url}/status")

    assert status == 200
    assert body == {
        "state": "incomplete",
        "version": 1,
        "entries": len({e.id for e in served}),
        "stale": [],
        "missing": [{"path": BROKEN, "id": "returns-broken", "problem": BROKEN_PROBLEM}],
        "problems": [BROKEN_PROBLEM],
    }
    logged = server.log.read_text()
    assert "ERROR" in logged and f"{BROKEN_PROBLEM} -- entry 'returns-broken' is NOT served" in logged


def test_webhook_still_runs_action_answer_faq(server):
    expected = parse_file(SAMPLE_KB / "zwroty" / "returns-how.md", SAMPLE_KB, "pl")[0]
    call = {
        "next_action": "action_answer_faq",
        "sender_id": "x",
        "tracker": {
            "sender_id": "x",
            "slots": {"misses": 1},
            "latest_message": {
                "text": expected.title,
                "intent": {"name": "ask_question", "confidence": 0.9},
                "entities": [],
                "metadata": {"language": "pl"},
            },
            "events": [],
            "latest_action_name": "action_listen",
        },
        "domain": {"responses": {}},
        "version": "3.6.21",
    }

    status, body = post(f"{server.url}/webhook", call)

    assert status == 200
    assert [(e["event"], e["name"], e["value"]) for e in body["events"]] == [
        ("slot", "misses", 0),
        ("slot", "last_answer", "returns-how"),  # the same answer twice in a row hands over
        ("slot", "bot_answered", True),  # thanks or goodbye may now ask for a rating of the bot
    ]
    [reply] = body["responses"]
    assert reply["custom"]["text"] == expected.answer
    assert reply["custom"]["source"]["id"] == "returns-how"
    assert reply["custom"]["retrieval"]["kb_version"] == 1
    retrieval = reply["custom"]["retrieval"]  # the classifier's say, for the agent's summary
    assert retrieval["confidence"] >= retrieval["thresholds"]["confident"], retrieval


def test_listens_on_the_loopback_interface_only(server):
    assert listening_addresses(server.port) == {"0100007F"}  # 127.0.0.1, as /proc/net/tcp writes it


def search(server: ActionServer, **params: str | int) -> tuple[int, dict]:
    try:
        return get(f"{server.url}/search?{urllib.parse.urlencode(params)}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_search_gives_the_best_entries_with_their_answers_for_agent_assist(server):
    polish = parse_file(SAMPLE_KB / "zwroty" / "returns-how.md", SAMPLE_KB, "pl")[0]
    english = parse_file(SAMPLE_KB / "zwroty" / "returns-how.en.md", SAMPLE_KB, "pl")[0]

    status, body = search(server, q="jak oddac towar ktory nie pasuje", language="pl", k=3)

    assert status == 200
    results = body["results"]
    assert len(results) == 3
    assert all(set(r) == {"id", "title", "answer", "score", "language"} for r in results)
    assert (results[0]["id"], results[0]["title"], results[0]["answer"]) == ("returns-how", polish.title, polish.answer)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert len({r["id"] for r in results}) == 3

    status, body = search(server, q="how do I return an item", language="en", k=1)
    assert status == 200
    assert [(r["id"], r["language"], r["title"]) for r in body["results"]] == [("returns-how", "en", english.title)]


@pytest.mark.parametrize(
    "params", [{}, {"q": "  "}, {"q": "zwrot", "k": 0}, {"q": "zwrot", "k": "x"}, {"q": "zwrot", "language": "polish"}]
)
def test_search_refuses_a_bad_request(server, params):
    status, body = search(server, **params)
    assert status == 400 and set(body) == {"error"}
