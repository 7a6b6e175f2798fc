"""The running stack when a part is missing: right after a start, with Rasa or the action
server killed, with Rasa frozen. Real processes under the launcher's supervisor; the
customer talks to the hub over HTTP, as a widget does.

In every case the customer is told at once, nothing is lost, and the bot (not the human
queue) answers as soon as it is back. Each case prints how long that took.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests

from handoff.texts import TEXTS
from scripts.stack import Backoff, Stack, Supervisor, free_port

from .test_e2e import Customer, Running, _prepare

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def supervised(tmp_path_factory):
    """A stack under a supervisor that restarts what dies (as `make run` does), just
    launched: Rasa is still loading when the first test runs."""
    tmp = tmp_path_factory.mktemp("resilience")
    env, database_url = _prepare(tmp, "resilience")
    stack = Stack(hub_port=free_port(), env=env, log_dir=tmp / "logs").launch()
    supervisor = Supervisor(stack.services, backoff=Backoff(first=0.5), log=print)
    stop = threading.Event()

    def supervise() -> None:
        while not stop.wait(0.2):
            supervisor.check()

    thread = threading.Thread(target=supervise, daemon=True)
    thread.start()
    yield Running(stack, tmp / "resilience-faq", database_url), supervisor
    stop.set()
    thread.join()
    supervisor.stop()


def service(running: Running, name: str):
    return next(s for s in running.stack.services if s.name == name)


def health(running: Running) -> dict:
    return requests.get(f"{running.url}/health", timeout=10).json()


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.2)


def hub_is_up(running: Running) -> bool:
    try:
        return requests.get(f"{running.url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def the_bot_answers(customer: Customer, timeout: float = 180) -> dict:
    """Long-poll until the bot's answer arrives; fail if the conversation is queued."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = customer.new_messages(wait=10)
        assert body["status"] == "bot", body
        answers = [m for m in body["messages"] if m["role"] == "bot"]
        if answers:
            return answers[0]
    raise AssertionError(f"no answer from the bot within {timeout:.0f} s")


def test_a_message_right_after_start_is_answered_by_the_bot(supervised):
    running, _ = supervised
    wait_for(lambda: hub_is_up(running), 60, "the hub starting")
    assert health(running)["bot"] == "starting"  # Rasa is still loading its model
    customer = Customer(running, "pl")
    sent = time.monotonic()
    first = customer.say("jak zwrócić towar?")
    assert first["status"] == "bot"
    assert [m["text"] for m in first["messages"]] == [TEXTS["bot_starting"]["pl"]]
    answer = the_bot_answers(customer)
    assert answer["source"]["id"] == "returns-how"
    print(f"\nright after start: answered by the bot {time.monotonic() - sent:.1f} s after the message")


def all_ready(running: Running) -> bool:
    return health(running)["status"] == "ok"


@pytest.mark.parametrize("name", ["rasa", "action server"])
def test_a_killed_part_comes_back_and_the_bot_answers(supervised, name):
    running, _ = supervised
    wait_for(lambda: all_ready(running), 240, "the whole stack being ready")
    others = {s.name: s.pid for s in running.stack.services if s.name != name}
    victim = service(running, name)
    os.kill(victim.pid, signal.SIGKILL)
    killed = time.monotonic()
    customer = Customer(running, "pl")
    first = customer.say("ile kosztuje dostawa do paczkomatu?")
    told = time.monotonic() - killed
    assert first["status"] == "bot", first
    assert [m["role"] for m in first["messages"]] == ["system"]
    assert first["messages"][0]["text"] == TEXTS["bot_delayed"]["pl"]
    answer = the_bot_answers(customer)
    assert answer["source"]["id"] == "delivery-cost"
    back = time.monotonic() - killed
    assert {s.name: s.pid for s in running.stack.services if s.name != name} == others  # nothing else restarted
    print(f"\n{name} killed: customer told after {told:.1f} s, answered by the bot {back:.1f} s after the kill")


def test_a_frozen_rasa_is_noticed_within_seconds(supervised):
    running, _ = supervised
    wait_for(lambda: all_ready(running), 240, "the whole stack being ready")
    rasa = service(running, "rasa")
    os.kill(rasa.pid, signal.SIGSTOP)
    try:
        customer = Customer(running, "en")
        started = time.monotonic()
        first = customer.say("how long does delivery take?")
        told = time.monotonic() - started
        assert first["status"] == "bot"
        assert [m["text"] for m in first["messages"]] == [TEXTS["bot_delayed"]["en"]]
        assert told < 10, f"the customer waited {told:.1f} s for a word"
    finally:
        os.kill(rasa.pid, signal.SIGCONT)
    answer = the_bot_answers(customer)
    assert answer["source"]["id"] == "delivery-time"
    print(f"\nfrozen Rasa: customer told after {told:.1f} s; answered {time.monotonic() - started:.1f} s after asking")


@pytest.mark.parametrize("typed", ["/restart", "/session_start", "/request_human"])
def test_a_command_typed_by_a_customer_is_text_not_an_intent(supervised, typed):
    running, _ = supervised
    wait_for(lambda: all_ready(running), 240, "the whole stack being ready")
    customer = Customer(running, "pl")
    customer.say("dzień dobry")
    reply = customer.say(typed)
    bot = [m for m in reply["messages"] if m["role"] == "bot"]
    assert bot, reply  # answered, not silenced by a restarted session
    assert TEXTS["bot_unavailable"]["pl"] not in [m["text"] for m in reply["messages"]]
    assert reply["status"] in ("bot", "queued")
    english = ("I'm passing", "Sorry, I don't know")
    assert not bot[0]["text"].startswith(english), bot  # the chat is Polish: so is the answer
