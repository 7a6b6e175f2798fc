"""The reporting facts the hub writes as things happen (handoff/reports/facts.py), through
the real `Conversations._store_bot_turn`, `Conversations.start` and desk, on SQLite and
PostgreSQL: each bot message's decision, FAQ entry and reply time; the customer's
unanswered question (gap); what followed a FAQ answer (outcome); hand-overs; the
agent's first reply; the customer's return within 72 hours; whom a rating question asks
about. Bot turns are built by hand, as handoff/bot_replies.py makes them from Rasa's
replies (a real Rasa runs in tests/test_rating.py and tests/test_e2e.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from handoff import store
from handoff.bot_replies import BotMessage, BotTurn
from handoff.models import Conversation, Handoff, Message, now
from handoff.store import NewMessage

from .test_hub_api import make_app

THRESHOLDS = {"answer": 0.6, "margin": 0.05, "clarify": 0.3}


@pytest.fixture
def hub(database_url):
    app = make_app(database_url)
    yield app.extensions["faqbot"]
    app.extensions["faqbot"].db.dispose()


def retrieval(decision: str, *scores: tuple[str, float]) -> dict:
    return {
        "decision": decision,
        "candidates": [{"id": faq_id, "score": score} for faq_id, score in scores],
        "thresholds": THRESHOLDS,
    }


def answer(faq_id: str, score: float = 0.9) -> BotTurn:
    source = {"id": faq_id, "title": faq_id.title()}
    return BotTurn([BotMessage("The answer.", source=source, retrieval=retrieval("answer", (faq_id, score)))])


def fallback() -> BotTurn:
    return BotTurn([BotMessage("I don't know.", retrieval=retrieval("fallback", ("a", 0.1)))])


class Chat:
    """One conversation: the customer writes, the bot's turn is stored as the hub does."""

    def __init__(self, hub, customer_id: str | None = None) -> None:
        self.hub = hub
        self.conversation, _ = hub.conversations.start("web", "pl", customer_id)

    def turn(self, text: str, bot: BotTurn) -> tuple[Message, list[Message]]:
        with self.hub.db.transaction() as session:
            (customer,) = store.append(session, self.conversation.id, [NewMessage("customer", text)])
        result = self.hub.conversations._store_bot_turn(self.conversation, customer, bot, None, "pl")
        bot_messages = [m for m in result.messages if m.role == "bot"]
        return self.reread(customer), [self.reread(m) for m in bot_messages]

    def reread(self, message: Message) -> Message:
        with self.hub.db.transaction() as session:
            return session.get(Message, message.id)

    def get(self) -> Conversation:
        with self.hub.db.transaction() as session:
            return session.get(Conversation, self.conversation.id)


def test_an_answer_records_its_decision_entry_and_reply_time(hub):
    chat = Chat(hub)
    customer, (bot,) = chat.turn("jak zwrocic towar", answer("returns-how"))
    assert (bot.decision, bot.faq_id) == ("answer", "returns-how")
    assert bot.reply_ms is not None and 0 <= bot.reply_ms < 5000
    assert customer.gap is None and customer.reply_ms is None


def test_only_the_first_bot_message_of_a_turn_has_the_reply_time(hub):
    chat = Chat(hub)
    two = BotTurn([BotMessage("Hello!"), BotMessage("How can I help?")])
    _, (first, second) = chat.turn("hej", two)
    assert first.reply_ms is not None and second.reply_ms is None
    assert first.decision is None  # small talk is no decision


def test_a_fallback_is_a_gap(hub):
    customer, (bot,) = Chat(hub).turn("czy sprzedajecie rowery", fallback())
    assert (bot.decision, customer.gap) == ("fallback", "fallback")


def test_a_weak_clarification_is_low_confidence_and_a_close_call_is_not(hub):
    chat = Chat(hub)
    weak = BotTurn([BotMessage("Which one?", retrieval=retrieval("clarify", ("a", 0.45), ("b", 0.4)))])
    customer, (bot,) = chat.turn("adres", weak)
    assert (bot.decision, customer.gap) == ("clarify", "low_confidence")
    close = BotTurn([BotMessage("Which one?", retrieval=retrieval("clarify", ("a", 0.72), ("b", 0.7)))])
    customer, _ = chat.turn("adres dostawy", close)
    assert customer.gap is None  # two good answers: a choice, not a gap


def test_a_pressed_clarification_button_is_chosen(hub):
    chosen = BotTurn([BotMessage("The answer.", source={"id": "returns-how", "title": "Returns"})])
    _, (bot,) = Chat(hub).turn("Returns", chosen)
    assert (bot.decision, bot.faq_id) == ("chosen", "returns-how")


def test_the_same_answer_again_hands_over_and_marks_a_repeat(hub):
    chat = Chat(hub)
    _, (first,) = chat.turn("jak zwrocic towar", answer("returns-how"))
    again = BotTurn(
        [BotMessage("Sorry, a person will help.", retrieval=retrieval("answer", ("returns-how", 0.9)))],
        handoff_reason="frustration",
    )
    customer, (bot,) = chat.turn("no ale jak zwrocic", again)
    assert chat.reread(first).outcome == "repeat"
    assert (bot.decision, bot.faq_id, customer.gap) == ("handoff", None, "handoff")
    assert chat.get().handed_over is True


def test_the_same_question_again_clarified_marks_a_repeat(hub):
    chat = Chat(hub)
    _, (first,) = chat.turn("jak zwrocic towar", answer("returns-how"))
    choice = BotTurn([BotMessage("Which one?", retrieval=retrieval("clarify", ("returns-how", 0.7), ("b", 0.68)))])
    chat.turn("jak zwrocic towar?", choice)
    assert chat.reread(first).outcome == "repeat"
    _, (other,) = chat.turn("ile kosztuje dostawa", answer("delivery-cost"))
    led_by_another = BotTurn([BotMessage("Which?", retrieval=retrieval("clarify", ("returns-how", 0.7), ("b", 0.6)))])
    chat.turn("zwrot", led_by_another)
    assert chat.reread(other).outcome is None  # a choice led by another entry: a new question


@pytest.mark.parametrize(("reason", "outcome"), [("frustration", "not_helpful"), ("customer_request", "handoff")])
def test_what_follows_an_answer_marks_it(hub, reason, outcome):
    chat = Chat(hub)
    _, (first,) = chat.turn("ile kosztuje dostawa", answer("delivery-cost"))
    customer, _ = chat.turn("to nie pomoglo", BotTurn([BotMessage("A person will help.")], handoff_reason=reason))
    assert chat.reread(first).outcome == outcome
    assert customer.gap is None  # "that didn't help" is no question for the FAQ


def test_an_answer_followed_by_other_questions_keeps_no_outcome(hub):
    chat = Chat(hub)
    _, (first,) = chat.turn("ile kosztuje dostawa", answer("delivery-cost"))
    chat.turn("a rowery?", fallback())
    chat.turn("konsultant", BotTurn([BotMessage("A person will help.")], handoff_reason="customer_request"))
    assert chat.reread(first).outcome is None  # the hand-over followed the fallback, not the answer
    _, (second,) = chat.turn("jak zwrocic", answer("returns-how"))
    assert chat.reread(second).outcome is None


def test_a_conversation_that_never_reaches_humans_is_not_handed_over(hub):
    chat = Chat(hub)
    chat.turn("jak zwrocic towar", answer("returns-how"))
    assert chat.get().handed_over is False


def test_the_agents_first_reply_and_the_rating_question(hub):
    chat = Chat(hub)
    chat.turn("konsultant", BotTurn([BotMessage("A person will help.")], handoff_reason="customer_request"))
    agent = hub.desk.authenticate(hub.desk.create_agent("Ola"))
    hub.desk.claim(chat.conversation.id, agent)
    hub.desk.reply(chat.conversation.id, agent, "Dzień dobry")
    with hub.db.transaction() as session:
        first = session.scalar(select(Handoff.first_response_at))
    assert first is not None
    hub.desk.reply(chat.conversation.id, agent, "Już sprawdzam")
    with hub.db.transaction() as session:
        assert session.scalar(select(Handoff.first_response_at)) == first  # the first reply only
    hub.desk.resolve(chat.conversation.id, agent)
    buttons = [{"title": str(n), "payload": f'/rate{{"score": {n}}}'} for n in range(1, 6)]
    result = hub.conversations._store_bot_turn(
        chat.conversation, None, BotTurn([BotMessage("How did we do?", buttons)]), None, "pl"
    )
    ask = chat.reread(result.messages[0])
    assert (ask.decision, ask.agent_id, ask.reply_ms) == ("ask_rating", agent.id, None)


def test_a_rating_question_without_an_agent_is_the_bots(hub):
    buttons = [{"title": "5", "payload": '/rate{"score": 5}'}]
    _, (ask,) = Chat(hub).turn("dzieki, pa", BotTurn([BotMessage("Rate me?", buttons)]))
    assert (ask.decision, ask.agent_id) == ("ask_rating", None)


def test_a_customer_back_within_72_hours_marks_their_earlier_conversations(hub):
    with hub.db.transaction() as session:
        customer = store.customer_for(session, "web", "visitor-1").id
        other = store.customer_for(session, "web", "visitor-2").id
    recent, old, someone_else = Chat(hub, customer), Chat(hub, customer), Chat(hub, other)
    with hub.db.transaction() as session:
        session.execute(
            update(Conversation)
            .where(Conversation.id == old.conversation.id)
            .values(created_at=now() - timedelta(hours=73), followed_up=False)
        )
        session.execute(update(Conversation).values(followed_up=False))
    latest = Chat(hub, customer)
    assert recent.get().followed_up is True
    assert old.get().followed_up is False  # more than 72 hours before
    assert someone_else.get().followed_up is False
    assert latest.get().followed_up is False
    assert Chat(hub).get().followed_up is False  # no customer known: nothing to mark
