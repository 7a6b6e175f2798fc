"""The whole loop, both sides, with every part real: Rasa, the action server with the
model and the FAQ, the hub under gunicorn, and the desk in Debian's chromium.

A customer asks the bot, asks for a person; an agent logs in, sees the conversation
arrive, claims it and reads what the bot understood and tried; the customer asks again;
the agent inserts the suggested FAQ answer, edits it and sends it; the customer receives
it; the agent resolves; the bot takes over and asks for a rating, which the customer
gives, with a comment; the rating is stored for that agent.
"""

from __future__ import annotations

import secrets
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from handoff.db import Database
from handoff.models import Agent, Rating
from scripts.stack import Stack, free_port

from .browser import Problems, chromium, new_context
from .test_desk_browser import create_agent, log_in, open_from_queue, queue_item
from .test_e2e import Customer, Running, _prepare

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("desk-loop")
    env, database_url = _prepare(tmp, "desk-loop")
    env |= {"FAQBOT_SECRET_KEY": secrets.token_hex(32), "FAQBOT_DRAFTS_DIR": str(tmp / "drafts")}
    create_agent("Ola", database_url)
    stack = Stack(hub_port=free_port(), env=env, log_dir=tmp / "logs").start()
    yield Running(stack, tmp / "desk-loop-faq", database_url)
    stack.stop()


def wait_for_customer(customer: Customer, predicate, timeout: float = 30) -> list[dict]:
    """New messages as the widget gets them (long-polls) until `predicate` holds for one."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen += customer.new_messages(wait=5)["messages"]
        if any(predicate(m) for m in seen):
            return seen
    raise AssertionError(f"the customer did not get it within {timeout:.0f} s: {seen}")


def test_a_customer_and_an_agent_from_question_to_rating(running):
    customer = Customer(running, "pl")
    answered = customer.say("ile kosztuje dostawa do paczkomatu?")
    assert [m["source"]["id"] for m in answered["messages"] if m["role"] == "bot"] == ["delivery-cost"]
    handed_over = customer.say("chcę porozmawiać z konsultantem")
    assert handed_over["status"] == "queued" and handed_over["queue"]["position"] == 1

    problems = Problems()
    with chromium() as browser:
        page = problems.watch(new_context(browser, running.url).new_page())
        log_in(page, "Ola")
        expect(queue_item(page, customer.id)).to_contain_text("chcę porozmawiać z konsultantem")
        open_from_queue(page, customer.id)
        page.click("#claim")
        expect(page.locator("#conversation-status")).to_have_text("Prowadzisz tę rozmowę.")
        expect(page.locator("#context-reason")).to_contain_text("poprosił")  # the customer asked for a person
        summary = page.locator("#context-summary")
        expect(summary).to_contain_text("pytanie")  # the first message, understood as a question
        expect(summary).to_contain_text("Ile kosztuje dostawa")  # and the entry the bot answered with

        customer.say("a jak mogę zwrócić towar?")
        expect(page.locator("#transcript .role-customer").last).to_contain_text("zwrócić towar")
        suggestion = page.locator("#suggestions .suggestion").first
        expect(suggestion).to_contain_text("zwrócić")
        suggestion.get_by_role("button").click()
        box = page.locator("#composer-text")
        expect(box).not_to_have_value("")
        suggested = box.input_value()
        box.press("Control+Home")
        box.press_sequentially("Dzień dobry, tu Ola. ")
        box.press("Enter")

        seen = wait_for_customer(customer, lambda m: m["role"] == "agent")
        assert [m["text"] for m in seen if m["role"] == "agent"] == [f"Dzień dobry, tu Ola. {suggested}"]

        page.click("#resolve")
        expect(page.locator("#conversation-status")).to_contain_text("Rozmowa zakończona")
    assert problems.errors == []

    seen = wait_for_customer(customer, lambda m: m["role"] == "bot" and len(m["buttons"]) >= 5)
    question = next(m for m in seen if m["role"] == "bot" and len(m["buttons"]) >= 5)
    five = next(b for b in question["buttons"] if "5" in b["title"])
    thanked = customer.say(five["payload"])
    assert thanked["status"] == "bot" and [m for m in thanked["messages"] if m["role"] == "bot"]
    customer.say("Szybko i konkretnie, dziękuję")

    db = Database(running.database_url)
    try:
        with db.transaction() as session:
            rating = session.scalars(select(Rating).where(Rating.conversation_id == customer.id)).one()
            ola = session.scalars(select(Agent).where(Agent.name == "Ola")).one()
            assert (rating.score, rating.agent_id) == (5, ola.id)
            assert rating.comment == "Szybko i konkretnie, dziękuję"
    finally:
        db.dispose()
