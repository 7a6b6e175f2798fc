"""Surveys through a real Rasa (the trained model) and action server: NPS after the
rating and its comment step (off by default, NPS_ENABLED turns it on), and the bot's own
CSAT, asked when a customer it alone helped says thanks or goodbye, once.

One Rasa + action server for the module, as in tests/test_rating.py; hubs in this
process, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from handoff.models import Agent, Rating
from scripts.stack import Stack

from .conftest import SAMPLE_KB
from .test_hub_api import agent_online
from .test_rating import Customer, bot_text, make_hub, only, resolved_by

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    tmp: Path = tmp_path_factory.mktemp("nps")
    env = {"FAQBOT_KB_DIR": str(SAMPLE_KB), "FAQBOT_KB_LAST_GOOD": str(tmp / "last-good")}
    stack = Stack(env=env, log_dir=tmp / "logs").start()
    yield stack
    stack.stop()


def hub(bot, database_url: str, nps: bool):
    application = make_hub(bot, database_url, nps_enabled=nps)
    agent_online(application)
    return application


@pytest.fixture
def app(bot, database_url):
    """NPS on."""
    application = hub(bot, database_url, nps=True)
    yield application
    application.extensions["faqbot"].db.dispose()


@pytest.fixture
def app_off(bot, database_url):
    """NPS off: the default."""
    application = hub(bot, database_url, nps=False)
    yield application
    application.extensions["faqbot"].db.dispose()


def ratings(app, conversation_id: str) -> list[tuple[str | None, int, str | None, int | None]]:
    """(agent's name or None for the bot, score, comment, NPS) of each rating."""
    with app.extensions["faqbot"].db.transaction() as session:
        rows = session.execute(
            select(Agent.name, Rating.score, Rating.comment, Rating.nps)
            .outerjoin(Agent, Agent.id == Rating.agent_id)
            .where(Rating.conversation_id == conversation_id)
            .order_by(Rating.id)
        ).all()
    return [tuple(row) for row in rows]


def bot_messages(body: dict) -> list[dict]:
    return [m for m in body["messages"] if m["role"] == "bot"]


def assert_nps_question(message: dict, language: str) -> None:
    assert message["text"] == bot_text("utter_ask_nps", language)
    scores = [(b["title"], json.loads(b["payload"].removeprefix("/nps"))) for b in message["buttons"][:-1]]
    assert scores == [(str(n), {"score": n}) for n in range(0, 11)]
    assert message["buttons"][-1] == {"title": bot_text("utter_button_skip_nps", language), "payload": "/skip_nps"}


def nps_score(score: int) -> str:
    return "/nps" + json.dumps({"score": score})


# -- NPS after an agent's rating -----------------------------------------------------------------


def test_nps_off_by_default_no_question(app_off):
    customer = Customer(app_off, "pl")
    resolved_by(app_off, customer, "ala", "pl")
    customer.say('/rate{"score": 4}')
    commented = customer.say("Szybko i konkretnie")
    assert [m["text"] for m in bot_messages(commented)] == [bot_text("utter_comment_thanks", "pl")]
    assert bot_messages(commented)[0]["buttons"] == []
    assert ratings(app_off, customer.id) == [("ala", 4, "Szybko i konkretnie", None)]
    typed = customer.say("9")  # not asked: a number is just a message
    assert ratings(app_off, customer.id) == [("ala", 4, "Szybko i konkretnie", None)]
    assert typed["status"] == "bot"


@pytest.mark.parametrize(
    ("language", "comment"), [("pl", "Pani Ala była bardzo miła"), ("en", "Quick and friendly, thank you")]
)
def test_nps_on_asked_after_the_comment_and_stored(app, language, comment):
    customer = Customer(app, language)
    resolved_by(app, customer, "ala", language)
    customer.say('/rate{"score": 4}')
    commented = bot_messages(customer.say(comment))
    assert [m["text"] for m in commented][0] == bot_text("utter_comment_noted", language)
    assert len(commented) == 2
    assert_nps_question(commented[1], language)

    answered = customer.say(nps_score(9))
    assert only(answered)["text"] == bot_text("utter_nps_thanks", language)
    assert ratings(app, customer.id) == [("ala", 4, comment, 9)]
    history = customer.client.get(
        f"/api/conversations/{customer.id}/messages", headers={"Authorization": f"Bearer {customer.token}"}
    ).get_json()["messages"]
    assert ("customer", "9") in [(m["role"], m["text"]) for m in history]  # the button, shown by its title

    later = customer.say("8")  # only the message right after the question counts
    assert ratings(app, customer.id) == [("ala", 4, comment, 9)]
    assert later["status"] == "bot"


def test_nps_after_no_comment_and_a_typed_score(app):
    customer = Customer(app, "pl")
    resolved_by(app, customer, "ala", "pl")
    customer.say('/rate{"score": 5}')
    (question,) = bot_messages(customer.say("/no_comment"))  # the NPS question says enough
    assert_nps_question(question, "pl")
    assert only(customer.say("10"))["text"] == bot_text("utter_nps_thanks", "pl")
    assert ratings(app, customer.id) == [("ala", 5, None, 10)]


def test_nps_can_be_skipped(app):
    customer = Customer(app, "en")
    resolved_by(app, customer, "tom", "en")
    customer.say('/rate{"score": 3}')
    customer.say("/no_comment")
    assert only(customer.say("/skip_nps"))["text"] == bot_text("utter_no_comment", "en")
    assert ratings(app, customer.id) == [("tom", 3, None, None)]


def test_a_question_instead_of_a_score_is_answered(app):
    customer = Customer(app, "pl")
    resolved_by(app, customer, "ala", "pl")
    customer.say('/rate{"score": 2}')
    customer.say("/no_comment")
    answer = customer.say("jak zwrócić towar?")
    assert answer["status"] == "bot" and only(answer)["source"]["id"] == "returns-how"
    assert ratings(app, customer.id) == [("ala", 2, None, None)]


def test_a_question_instead_of_a_comment_is_answered_and_nps_not_asked(app):
    customer = Customer(app, "en")
    resolved_by(app, customer, "tom", "en")
    customer.say('/rate{"score": 5}')
    answer = customer.say("how do I return an item?")
    assert only(answer)["source"]["id"] == "returns-how"  # no NPS question on top of an answer
    assert ratings(app, customer.id) == [("tom", 5, None, None)]


# -- the bot's own rating ---------------------------------------------------------------------------


def assert_bot_rating_question(message: dict, language: str) -> None:
    assert message["text"] == bot_text("utter_ask_bot_rating", language)
    assert [b["payload"] for b in message["buttons"]] == ["/rate" + json.dumps({"score": n}) for n in range(1, 6)]


@pytest.mark.parametrize(
    ("language", "question", "thanks", "reply"),
    [
        ("pl", "jak zwrócić towar", "dzięki", "utter_you_are_welcome"),
        ("en", "how do I return an item?", "thank you", "utter_you_are_welcome"),
        ("pl", "czy mogę zapłacić blikiem?", "do widzenia", "utter_goodbye"),
    ],
)
def test_thanks_after_an_answer_asks_to_rate_the_bot_once(app_off, language, question, thanks, reply):
    customer = Customer(app_off, language)
    assert only(customer.say(question))["source"]
    first = bot_messages(customer.say(thanks))
    assert [m["text"] for m in first][0] == bot_text(reply, language)  # the usual reply, first
    assert len(first) == 2
    assert_bot_rating_question(first[1], language)

    again = customer.say(thanks)  # not rated, thanks again: not asked twice
    assert [m["text"] for m in bot_messages(again)] == [bot_text(reply, language)]


def test_a_bot_rating_is_stored_without_an_agent_with_its_comment_and_nps(app):
    customer = Customer(app, "pl")
    customer.say("jak zwrócić towar")
    customer.say("dziękuję")
    assert only(customer.say('/rate{"score": 5}'))["text"] == bot_text("utter_rating_thanks", "pl")
    commented = bot_messages(customer.say("Bardzo szybka odpowiedź"))
    assert_nps_question(commented[-1], "pl")
    customer.say(nps_score(7))
    assert ratings(app, customer.id) == [(None, 5, "Bardzo szybka odpowiedź", 7)]
    later = customer.say("dzięki")  # asked once per conversation
    assert [m["text"] for m in bot_messages(later)] == [bot_text("utter_you_are_welcome", "pl")]


def test_thanks_without_an_answer_asks_nothing(app_off):
    customer = Customer(app_off, "pl")
    customer.say("dzień dobry")
    thanked = customer.say("dzięki")
    assert [m["text"] for m in bot_messages(thanked)] == [bot_text("utter_you_are_welcome", "pl")]


def test_after_a_person_helped_the_bot_asks_no_rating_of_its_own(app_off):
    customer = Customer(app_off, "pl")
    assert only(customer.say("jak zwrócić towar"))["source"]["id"] == "returns-how"
    resolved_by(app_off, customer, "ala", "pl")  # asks about the agent
    customer.say('/rate{"score": 4}')
    customer.say("/no_comment")
    thanked = customer.say("dzięki")
    assert [m["text"] for m in bot_messages(thanked)] == [bot_text("utter_you_are_welcome", "pl")]
    assert ratings(app_off, customer.id) == [("ala", 4, None, None)]


# -- the hub's side, without the bot ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("carried", "stored"),
    [({"score": 0}, 0), ({"score": 10}, 10), ({"score": 11}, None), ({"score": -1}, None), ({"score": True}, None)]
    + [({"score": "9"}, None), ({"score": 9.0}, None), (9, None), (None, None)],
)
def test_only_a_whole_score_from_0_to_10_is_an_nps(carried, stored):
    from handoff.bot_replies import interpret

    turn = interpret([{"custom": {"text": "Dziękuję!", "nps": carried}}], "pl")
    assert turn.nps == stored
    assert turn.rating is None


def test_an_nps_without_a_rating_is_not_stored(db):
    from handoff import store
    from handoff.models import Conversation

    with db.transaction() as session:
        session.add(Conversation(id="c1", token_hash="x", language="pl"))
        session.flush()
        assert store.rate_nps(session, "c1", 9) is None
        assert session.scalars(select(Rating)).all() == []
        store.rate(session, "c1", 4)
        assert store.rate_nps(session, "c1", 9).nps == 9
        assert [(r.agent_id, r.score, r.nps) for r in session.scalars(select(Rating))] == [(None, 4, 9)]
