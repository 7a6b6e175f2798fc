"""`GET /metrics`, read with the Prometheus client's own parser: who may scrape it (a
token, an allowed network, nobody else), that its figures follow what really happens
(messages through the hub, a misbehaving Rasa, a database that is gone, the real bot's
replies), and that with several gunicorn workers a scrape adds all of them up.

A "misbehaving Rasa" is a stand-in (tests/stand_in.py): it answers Rasa's /status and
refuses the webhook's POST, which is what the hub sees when Rasa is up but fails on a
message.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from handoff import create_app
from handoff.config import HubSettings
from scripts.bench_longpoll import QUIET_ENV, _wait_until_up, hub_command
from scripts.stack import Stack

from .conftest import ROOT, SAMPLE_KB
from .stand_in import JsonHandler, StandIn
from .test_hub_api import agent_online, agent_post, bearer, make_app, new_agent, say, start

TOKEN = "metrics-token-for-tests"


def scrape(client, headers: dict[str, str] | None = None, address: str = "127.0.0.1") -> dict:
    """{(sample name, sorted labels): value} of one scrape."""
    response = client.get("/metrics", headers=headers or {}, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return samples(response.get_data(as_text=True))


def samples(text: str) -> dict:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: dict, name: str, **labels: str) -> float:
    return scraped[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'hub.db'}"


# -- who may scrape ---------------------------------------------------------------------------------


def test_from_this_machine_by_default(sqlite_url):
    app = make_app(sqlite_url)
    client = app.test_client()
    scraped = scrape(client)
    assert value(scraped, "faqbot_conversations", state="bot") == 0
    assert scrape(client, address="::1")  # IPv6 loopback too
    assert scrape(client, address="::ffff:127.0.0.1")  # and IPv4 seen through a dual-stack socket
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403
    assert response.mimetype == "application/json" and "METRICS_TOKEN" in response.get_json()["error"]


def test_a_token_opens_it_from_anywhere_compared_exactly(sqlite_url):
    app = make_app(sqlite_url, metrics_token=TOKEN, metrics_networks=())
    client = app.test_client()
    assert scrape(client, bearer(TOKEN), address="203.0.113.9")
    for wrong in (TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "x"):
        response = client.get("/metrics", headers=bearer(wrong), environ_base={"REMOTE_ADDR": "203.0.113.9"})
        assert response.status_code == 401, wrong
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert set(response.get_json()) == {"error"}
    # No network allowed: not even this machine without the token.
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 403


def test_no_token_set_means_no_token_works(sqlite_url):
    app = make_app(sqlite_url, metrics_networks=())
    client = app.test_client()
    assert client.get("/metrics", headers=bearer("")).status_code == 403
    assert client.get("/metrics", headers=bearer("anything")).status_code == 401


def test_an_allowed_network(sqlite_url):
    app = make_app(sqlite_url, metrics_networks=("10.1.0.0/16", "2001:db8::/32"))
    client = app.test_client()
    assert scrape(client, address="10.1.200.3")
    assert scrape(client, address="2001:db8::7")
    for outside in ("10.2.0.1", "127.0.0.1", "2001:db9::1"):
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": outside}).status_code == 403, outside


def test_behind_a_proxy_the_client_address_counts_not_the_proxy(sqlite_url):
    app = make_app(sqlite_url, trusted_proxies=1)  # the proxy runs on this machine
    client = app.test_client()
    outsider = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert outsider.status_code == 403
    assert scrape(client, {"X-Forwarded-For": "127.0.0.1"})


def test_settings_from_the_environment(monkeypatch, sqlite_url):
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    monkeypatch.setenv("METRICS_NETWORKS", "10.0.0.0/8, 192.168.1.0/24")
    monkeypatch.setenv("NPS_ENABLED", "1")
    settings = HubSettings.from_env(database_url=sqlite_url)
    assert settings.metrics_token == TOKEN
    assert settings.metrics_networks == ("10.0.0.0/8", "192.168.1.0/24")
    assert settings.nps_enabled is True
    monkeypatch.setenv("METRICS_NETWORKS", "10.0.0.0/33")
    with pytest.raises(ValueError, match="METRICS_NETWORKS"):
        create_app(HubSettings.from_env(database_url=sqlite_url))
    monkeypatch.delenv("NPS_ENABLED")
    assert HubSettings.from_env(database_url=sqlite_url).nps_enabled is False


# -- figures that follow what happens ----------------------------------------------------------------


def test_conversations_by_state_and_the_queue_follow_real_messages(database_url):
    app = make_app(database_url)
    try:
        client = app.test_client()
        agent_online(app)
        before = scrape(client)
        assert value(before, "faqbot_queue_length") == 0
        assert value(before, "faqbot_dependency_up", dependency="rasa") == 0  # nothing listens there

        conversations = [start(client, "pl") for _ in range(3)]
        for conversation_id, token in conversations[:2]:  # the bot is away: both go to the queue
            assert say(client, conversation_id, token, "pomocy").get_json()["status"] == "queued"
        scraped = scrape(client)
        assert value(scraped, "faqbot_conversations", state="bot") == 1
        assert value(scraped, "faqbot_conversations", state="queued") == 2
        assert value(scraped, "faqbot_conversations", state="assigned") == 0
        assert value(scraped, "faqbot_queue_length") == 2
        assert value(scraped, "faqbot_queue_oldest_wait_seconds") >= 0
        assert value(scraped, "faqbot_dependency_up", dependency="database") == 1

        agent = new_agent(app, "ala")
        assert agent_post(client, agent, conversations[0][0], "claim").status_code == 200
        scraped = scrape(client)
        assert value(scraped, "faqbot_conversations", state="queued") == 1
        assert value(scraped, "faqbot_conversations", state="assigned") == 1
        assert value(scraped, "faqbot_queue_length") == 1
    finally:
        app.extensions["faqbot"].db.dispose()


class MisbehavingRasa(JsonHandler):
    """Answers GET /status (200), refuses the webhook's POST (501: there is no do_POST)."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.reply(200 if self.route == "/status" else 404, {})


def test_a_rasa_failing_on_a_message_is_counted(sqlite_url):
    with StandIn(MisbehavingRasa) as rasa:
        app = make_app(sqlite_url, rasa_url=rasa.url, actions_url="")
        client = app.test_client()
        agent_online(app)
        before = scrape(client)
        assert value(before, "faqbot_dependency_up", dependency="rasa") == 1
        for _ in range(2):
            conversation_id, token = start(client, "pl")
            assert say(client, conversation_id, token, "pomocy").get_json()["status"] == "queued"  # agents take it
        after = scrape(client)
    errors = "faqbot_dependency_errors_total"
    assert value(after, errors, dependency="rasa") - value(before, errors, dependency="rasa") == 2
    assert value(after, errors, dependency="action_server") == value(before, errors, dependency="action_server")
    assert value(after, "faqbot_queue_length") == 2


def test_a_database_that_is_gone_is_counted_and_the_scrape_still_answers(tmp_path):
    folder = tmp_path / "db"
    app = make_app(f"sqlite:///{folder / 'hub.db'}")
    client = app.test_client()
    before = scrape(client)
    database = app.extensions["faqbot"].db
    database.dispose()  # no open connection keeps the deleted file alive
    for file in folder.iterdir():
        file.unlink()
    folder.rmdir()
    refused = client.post("/api/conversations", json={})
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    after = scrape(client)
    assert value(after, "faqbot_dependency_up", dependency="database") == 0
    assert ("faqbot_queue_length", ()) not in after  # unknown, rather than a wrong 0
    errors = "faqbot_dependency_errors_total"
    # The refused request, then this scrape's own attempt.
    assert value(after, errors, dependency="database") - value(before, errors, dependency="database") == 2
    assert value(after, "process_resident_memory_bytes") > 0  # the client's standard process metrics


# -- several gunicorn workers ------------------------------------------------------------------------


@pytest.mark.parametrize("folder_set", [False, True], ids=["folder-made-by-the-hub", "folder-set"])
def test_with_two_workers_a_scrape_adds_up_both(tmp_path, folder_set):
    """Each request that fails on the (misbehaving) Rasa counts in the worker that served
    it; every scrape, whichever worker answers, sees the total. PROMETHEUS_MULTIPROC_DIR
    unset: gunicorn's master makes a folder for the workers; set: its stale files go."""
    from handoff.db import migrate

    database_url = f"sqlite:///{tmp_path / 'hub.db'}"
    migrate(database_url)
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    (multiproc / "counter_1.db").write_bytes(b"stale")  # from an earlier run: removed at start
    environment = {k: v for k, v in os.environ.items() if k.lower() != "prometheus_multiproc_dir"}
    if folder_set:
        environment["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc)
    port = free_port()
    with StandIn(MisbehavingRasa) as rasa:
        env = {
            **environment,
            **QUIET_ENV,
            "DATABASE_URL": database_url,
            "RASA_URL": rasa.url,
            "ACTIONS_URL": "",
            "RATE_LIMIT_NEW_CONVERSATIONS": "off",
            "RATE_LIMIT_MESSAGES": "off",
        }
        log = (tmp_path / "hub.log").open("ab")
        command = hub_command(port, workers=2)
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, process)
            sent = 6
            for _ in range(sent):
                with requests.Session() as http_session:  # a new connection each time: either worker
                    created = http_session.post(f"{url}/api/conversations", json={}, timeout=10).json()
                    reply = http_session.post(
                        f"{url}/api/conversations/{created['id']}/messages",
                        json={"text": "pomocy"},
                        headers=bearer(created["token"]),
                        timeout=10,
                    )
                    assert reply.status_code == 200 and reply.json()["status"] == "queued"
            for _ in range(4):
                with requests.Session() as http_session:
                    text = http_session.get(f"{url}/metrics", timeout=10).text
                scraped = samples(text)
                assert value(scraped, "faqbot_dependency_errors_total", dependency="rasa") == sent
                assert value(scraped, "faqbot_queue_length") == sent
            if folder_set:
                pids = {path.stem.rsplit("_", 1)[-1] for path in multiproc.glob("counter_*.db")}
                assert len(pids) == 2 and "1" not in pids  # both workers write there; the stale file is gone
        finally:
            os.killpg(process.pid, signal.SIGTERM)  # a graceful stop: the master removes its folder
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.close()


def free_port() -> int:
    from .test_hub_api import free_port as port

    return port()


# -- the real bot: reply times by decision -----------------------------------------------------------


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    tmp: Path = tmp_path_factory.mktemp("metrics")
    env = {"FAQBOT_KB_DIR": str(SAMPLE_KB), "FAQBOT_KB_LAST_GOOD": str(tmp / "last-good")}
    stack = Stack(env=env, log_dir=tmp / "logs").start()
    yield stack
    stack.stop()


@pytest.mark.e2e
def test_reply_times_by_decision_with_the_real_bot(bot, sqlite_url):
    settings = {"rasa_url": bot.rasa_url, "rasa_token": bot.rasa_token, "actions_url": bot.actions_url}
    app = create_app(HubSettings(database_url=sqlite_url, **settings), migrate=True)
    client = app.test_client()
    before = scrape(client)
    conversation_id, token = start(client, "pl")
    assert say(client, conversation_id, token, "jak zwrócić towar").get_json()["messages"][0]["source"]
    say(client, conversation_id, token, "dzień dobry")
    after = scrape(client)
    assert value(after, "faqbot_dependency_up", dependency="rasa") == 1
    assert value(after, "faqbot_dependency_up", dependency="action_server") == 1

    def grew(name: str, decision: str) -> float:
        return value(after, name, decision=decision) - value(before, name, decision=decision)

    assert grew("faqbot_bot_reply_seconds_count", "answer") == 1
    assert grew("faqbot_bot_reply_seconds_count", "small_talk") == 1
    assert grew("faqbot_bot_reply_seconds_count", "fallback") == 0
    assert 0 < grew("faqbot_bot_reply_seconds_sum", "answer") < 6  # the hub's Rasa timeout
    within = value(after, "faqbot_bot_reply_seconds_bucket", decision="answer", le="6.0") - value(
        before, "faqbot_bot_reply_seconds_bucket", decision="answer", le="6.0"
    )
    assert within == 1
    app.extensions["faqbot"].db.dispose()
