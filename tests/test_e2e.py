"""The whole loop through real processes: the hub (gunicorn), a Rasa server trained on
the repo's data and the action server with the real model and index, all on 127.0.0.1,
talked to over HTTP like a website widget and an agent would.

A second Rasa runs without its action server, for what a customer gets when that
process is down. Both stacks start in parallel (about a minute; readiness is polled).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
import requests

from scripts.stack import Stack, free_port

from .conftest import ROOT, SAMPLE_KB

pytestmark = pytest.mark.e2e


@dataclass
class Running:
    stack: Stack
    kb_dir: object
    database_url: str

    @property
    def url(self) -> str:
        return self.stack.hub_url


def _prepare(tmp, name: str) -> tuple[dict[str, str], str]:
    from handoff.db import migrate

    kb_dir = tmp / f"{name}-faq"
    shutil.copytree(SAMPLE_KB, kb_dir)
    database_url = f"sqlite:///{tmp / f'{name}.db'}"
    migrate(database_url)
    _agent_on_duty(database_url)
    env = {
        "FAQBOT_KB_DIR": str(kb_dir),
        "FAQBOT_KB_LAST_GOOD": str(tmp / f"{name}-last-good"),
        "FAQBOT_RELOAD_INTERVAL": "0.5",
        "DATABASE_URL": database_url,
        "PRESENCE_TIMEOUT": "86400",  # the agent on duty stays online for the whole session
        "RATE_LIMIT_NEW_CONVERSATIONS": "off",  # the tests open many conversations from one address
        "RATE_LIMIT_MESSAGES": "off",
    }
    return env, database_url


def _agent_on_duty(database_url: str) -> None:
    """An agent whose desk is open: escalations wait for live help (with no agent online
    they become tickets answered by e-mail, see tests/test_hours.py)."""
    from handoff.db import Database
    from handoff.models import Agent, now

    db = Database(database_url)
    with db.transaction() as session:
        session.add(Agent(name="on-duty", token_hash="0" * 64, last_seen_at=now()))
    db.dispose()


@pytest.fixture(scope="session")
def stacks(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    env, database_url = _prepare(tmp, "bot")
    down_env, down_url = _prepare(tmp, "actions-down")
    down_env |= {"BOT_START_MAX": "2", "BOT_WAIT_MAX": "2"}  # no action server will come: agents take over soon
    bot = Stack(hub_port=free_port(), env=env, log_dir=tmp / "logs")
    no_actions = Stack(hub_port=free_port(), env=down_env, log_dir=tmp / "logs-down", with_actions=False)
    bot.launch()
    no_actions.launch()
    try:
        bot.wait()
        no_actions.wait()
    except RuntimeError:
        bot.stop()
        no_actions.stop()
        raise
    yield Running(bot, tmp / "bot-faq", database_url), Running(no_actions, tmp / "actions-down-faq", down_url)
    bot.stop()
    no_actions.stop()


@pytest.fixture(scope="session")
def hub(stacks) -> Running:
    return stacks[0]


class Customer:
    def __init__(self, running: Running, language: str) -> None:
        self.url = running.url
        created = requests.post(f"{self.url}/api/conversations", json={"language": language}, timeout=10)
        assert created.status_code == 201
        self.id = created.json()["id"]
        self.headers = {"Authorization": f"Bearer {created.json()['token']}"}
        self.last_seq = 0

    def say(self, text: str) -> dict:
        response = requests.post(
            f"{self.url}/api/conversations/{self.id}/messages", json={"text": text}, headers=self.headers, timeout=30
        )
        assert response.status_code == 200, response.text
        body = response.json()
        self.last_seq = max([self.last_seq, *[m["seq"] for m in body["messages"]]])
        return body

    def new_messages(self, wait: float = 0) -> dict:
        response = requests.get(
            f"{self.url}/api/conversations/{self.id}/messages",
            params={"after": self.last_seq, "wait": wait},
            headers=self.headers,
            timeout=wait + 10,
        )
        assert response.status_code == 200
        body = response.json()
        self.last_seq = max([self.last_seq, *[m["seq"] for m in body["messages"]]])
        return body


class Agent:
    def __init__(self, running: Running, name: str) -> None:
        created = subprocess.run(
            [sys.executable, "-m", "handoff.cli", "agent", "create", name],
            env={**os.environ, "DATABASE_URL": running.database_url},
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        self.url = f"{running.url}/api/agent"
        self.headers = {"Authorization": f"Bearer {created.stdout.strip()}"}

    def get(self, path: str) -> dict:
        response = requests.get(self.url + path, headers=self.headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: dict | None = None, status: int = 200) -> dict:
        response = requests.post(self.url + path, json=body, headers=self.headers, timeout=10)
        assert response.status_code == status, response.text
        return response.json()


def only(body: dict, role: str = "bot") -> dict:
    messages = [m for m in body["messages"] if m["role"] == role]
    assert len(messages) == 1, body
    return messages[0]


def test_polish_conversation(hub):
    customer = Customer(hub, "pl")
    greeting = only(customer.say("dzień dobry"))
    assert greeting["text"].startswith("Dzień dobry") and greeting["source"] is None

    answer = customer.say("jak zwrocic towar")
    assert answer["status"] == "bot"
    assert only(answer)["source"] == {"id": "returns-how", "title": "Jak mogę zwrócić towar?"}
    assert "14 dni" in only(answer)["text"]

    clarification = only(customer.say("chce zmienic adres"))
    choices = [b for b in clarification["buttons"] if b["payload"].startswith("/choose_entry")]
    assert 2 <= len(choices) <= 3
    assert clarification["buttons"][-1]["payload"] == "/request_human"
    chosen = next(
        b for b in choices if json.loads(b["payload"].split("entry", 1)[1])["entry_id"] == "order-change-address"
    )
    picked = only(customer.say(chosen["payload"]))
    assert picked["source"]["id"] == "order-change-address"

    handoff = customer.say("chcę rozmawiać z konsultantem")
    assert handoff["status"] == "queued"
    assert "konsultant" in only(handoff)["text"]
    assert "w kolejce" in only(handoff, "system")["text"]
    waiting = customer.say("halo, jest tam ktoś?")
    assert (waiting["status"], waiting["messages"]) == ("queued", [])  # the bot stays silent
    assert waiting["queue"]["position"] >= 1

    agent = Agent(hub, "Ola")
    queued = next(c for c in agent.get("/queue")["conversations"] if c["id"] == customer.id)
    assert (queued["reason"], queued["channel"], queued["last_customer_message"]) == (
        "customer_request",
        "web",
        "halo, jest tam ktoś?",
    )
    view = agent.post(f"/conversations/{customer.id}/claim")
    assert view["status"] == "assigned" and view["assigned_to"] == "Ola"
    transcript = [(m["role"], m["text"]) for m in view["messages"]]
    assert ("customer", "jak zwrocic towar") in transcript
    assert ("customer", chosen["title"]) in transcript  # the button, shown by its title
    intents = {u["text"]: u["intent"] for u in view["context"]["understood"]}
    assert intents["dzień dobry"] == "greet" and intents["chcę rozmawiać z konsultantem"] == "request_human"
    assert all(0 <= u["confidence"] <= 1 for u in view["context"]["understood"])
    tried = {r["query"]: r for r in view["context"]["retrieval"]}
    assert tried["jak zwrocic towar"]["candidates"][0]["id"] == "returns-how"
    assert tried["chce zmienic adres"]["decision"] == "clarify"
    assert view["context"]["reason"] == "customer_request"

    agent.post(f"/conversations/{customer.id}/messages", {"text": "Dzień dobry, tu Ola. W czym pomóc?"}, status=201)
    delivered = customer.new_messages(wait=5)
    assert delivered["status"] == "assigned"
    # The history after the bot's last reply: the customer's own message, then the agent's.
    assert [(m["role"], m["text"]) for m in delivered["messages"]] == [
        ("customer", "halo, jest tam ktoś?"),
        ("agent", "Dzień dobry, tu Ola. W czym pomóc?"),
    ]

    resolved = agent.post(f"/conversations/{customer.id}/resolve")
    assert resolved["status"] == "resolved"
    assert customer.id not in [c["id"] for c in agent.get("/queue")["conversations"]]
    assert only(customer.new_messages(), "system")["text"].startswith("Konsultant zakończył")

    back = customer.say("czy moge zaplacic blikiem?")
    assert back["status"] == "bot"
    assert only(back)["source"]["id"] == "payment-blik"


def test_english_conversation(hub):
    customer = Customer(hub, "en")
    assert only(customer.say("hello"))["text"].startswith("Hello")
    answer = only(customer.say("how do I return an item?"))
    assert answer["source"] == {"id": "returns-how", "title": "How do I return an item?"}

    clarification = only(customer.say("update my order"))  # which change: the order, or its address?
    titles = {b["title"]: b["payload"] for b in clarification["buttons"]}
    assert clarification["text"].startswith("I'm not sure")
    assert "Can I change my order after placing it?" in titles and "None of these – a consultant" in titles
    picked = only(customer.say(titles["Can I change my order after placing it?"]))
    assert picked["source"] == {"id": "order-change", "title": "Can I change my order after placing it?"}

    miss = customer.say("what is the capital of australia")
    assert miss["status"] == "bot"
    assert only(miss)["buttons"] == [{"title": "Talk to a consultant", "payload": "/request_human"}]
    second = customer.say("who won the world cup in 1998")
    assert second["status"] == "queued"
    assert "consultant" in only(second)["text"]
    assert re.fullmatch(
        r"You are number \d+ in the queue for a consultant, who will answer here\. .+", only(second, "system")["text"]
    )

    agent = Agent(hub, "Tom")
    view = agent.get(f"/conversations/{customer.id}")
    assert view["context"]["reason"] == "repeated_misses"
    assert [r["decision"] for r in view["context"]["retrieval"]][-2:] == ["fallback", "fallback"]
    agent.post(f"/conversations/{customer.id}/messages", {"text": "Hi, Tom here."}, status=201)
    assert only(customer.new_messages(), "agent")["text"] == "Hi, Tom here."
    agent.post(f"/conversations/{customer.id}/resolve")
    assert only(customer.new_messages(), "system")["text"].startswith("The consultant has closed")
    again = customer.say("can I pay with BLIK?")
    assert again["status"] == "bot" and only(again)["source"]["id"] == "payment-blik"


@pytest.mark.parametrize(
    "text, intent",
    [
        ("cześć", "greet"),
        ("dzieki", "thanks"),
        ("do widzenia", "goodbye"),
        ("thanks a lot", "thanks"),
        ("bye", "goodbye"),
    ],
)
def test_small_talk_is_rasa_and_never_reaches_retrieval(hub, text, intent):
    customer = Customer(hub, "pl")
    reply = only(customer.say(text))
    assert reply["source"] is None and reply["buttons"] == []
    view = Agent(hub, f"agent-{intent}-{time.monotonic_ns()}").get(f"/conversations/{customer.id}")
    assert view["context"]["understood"][0]["intent"] == intent
    assert view["context"]["retrieval"] == []


def test_a_greeting_followed_by_a_question_is_a_question(hub):
    reply = only(Customer(hub, "pl").say("dzień dobry, ile kosztuje dostawa do paczkomatu?"))
    assert reply["source"]["id"] == "delivery-cost"


def test_faq_edit_goes_live_in_the_running_bot(hub):
    (hub.kb_dir / "inne" / "bikes.md").write_text(
        "---\nid: bikes\n---\n# Czy sprzedajecie rowery?\n\nNie, Domowo.pl nie sprzedaje rowerów.\n"
    )
    deadline = time.monotonic() + 30
    while True:  # a new conversation each time: misses would escalate the same one
        reply = only(Customer(hub, "pl").say("czy sprzedajecie rowery?"))
        if reply["source"] and reply["source"]["id"] == "bikes":
            break
        assert time.monotonic() < deadline, "the edit did not go live within 30 s"
        time.sleep(0.5)
    assert "nie sprzedaje rowerów" in reply["text"]

    (hub.kb_dir / "inne" / "broken.md").write_text("---\nid: broken\n# no closing line\n")
    time.sleep(2)  # the watcher sees it, refuses it, keeps serving
    assert only(Customer(hub, "pl").say("czy sprzedajecie rowery?"))["source"]["id"] == "bikes"
    (hub.kb_dir / "inne" / "broken.md").unlink()


def test_action_server_down_the_customer_is_told_and_agents_take_over(stacks):
    """No action server at all (and no supervisor to bring one): the customer is told at
    once that the assistant is starting, then, past the patience set for the hub (2 s
    here), the conversation goes to the agents with everything said so far."""
    _, no_actions = stacks
    customer = Customer(no_actions, "pl")
    first = customer.say("jak zwrócić towar?")
    assert first["status"] == "bot"
    assert [m["role"] for m in first["messages"]] == ["system"]
    assert first["messages"][0]["text"].startswith("Asystent właśnie się uruchamia")
    deadline = time.monotonic() + 30
    notices: list[str] = []
    while time.monotonic() < deadline:
        body = customer.new_messages(wait=5)
        notices += [m["text"] for m in body["messages"] if m["role"] == "system"]
        if body["status"] == "queued":
            break
    assert body["status"] == "queued", "the conversation did not reach the agents"
    assert notices[0].startswith("Nasz asystent jest chwilowo niedostępny") and "w kolejce" in notices[1]
    view = Agent(no_actions, "Ewa").get(f"/conversations/{customer.id}")
    assert view["context"]["reason"] == "bot_unavailable"
    assert ("customer", "jak zwrócić towar?") in [(m["role"], m["text"]) for m in view["messages"]]
