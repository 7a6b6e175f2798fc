"""The customer's side of the desk through a real Rasa (the trained model) and action
server (the real knowledge base): frustration escalates with its reason, an FAQ answer
out of hours carries no notice, and after an agent resolves, the bot asks for a rating
(buttons), stores it for that agent, then takes a comment.

One Rasa + action server for the module (`Stack` without a hub, ~40 s to start); the
hubs run in this process (Flask's test client) with whatever settings a test needs,
on SQLite and PostgreSQL. The bot-independent parts are in tests/test_frustration.py.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import select

from handoff import create_app
from handoff.config import HubSettings
from handoff.models import Agent, Conversation, Handoff, Rating
from handoff.texts import TEXTS
from scripts.stack import Stack

from .conftest import ROOT, SAMPLE_KB
from .test_hours import closed_now
from .test_hub_api import agent_online, agent_post, bearer, new_agent, start

pytestmark = pytest.mark.e2e

DOMAIN = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))


def bot_text(response: str, language: str) -> str:
    return DOMAIN["responses"][response][0]["custom"]["text"][language]


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    tmp: Path = tmp_path_factory.mktemp("rating")
    env = {"FAQBOT_KB_DIR": str(SAMPLE_KB), "FAQBOT_KB_LAST_GOOD": str(tmp / "last-good")}
    stack = Stack(env=env, log_dir=tmp / "logs").start()
    yield stack
    stack.stop()


def make_hub(bot: Stack, database_url: str, **settings):
    values = {"rasa_url": bot.rasa_url, "rasa_token": bot.rasa_token, "actions_url": bot.actions_url, **settings}
    app = create_app(HubSettings(database_url=database_url, **values), migrate=True)
    hub = app.extensions["faqbot"]
    hub.desk.on_resolved = hub.conversations.ask_for_rating  # as handoff/app.py wires it
    return app


@pytest.fixture
def app(bot, database_url):
    application = make_hub(bot, database_url)
    agent_online(application)  # live help: escalations keep their own reason
    yield application
    application.extensions["faqbot"].db.dispose()


class Customer:
    def __init__(self, app, language: str) -> None:
        self.client = app.test_client()
        self.id, self.token = start(self.client, language)
        self.seq = 0

    def say(self, text: str) -> dict:
        response = self.client.post(
            f"/api/conversations/{self.id}/messages", json={"text": text}, headers=bearer(self.token)
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return self._seen(response.get_json())

    def news(self) -> dict:
        response = self.client.get(
            f"/api/conversations/{self.id}/messages?after={self.seq}", headers=bearer(self.token)
        )
        return self._seen(response.get_json())

    def _seen(self, body: dict) -> dict:
        self.seq = max([self.seq, *[m["seq"] for m in body["messages"]]])
        return body


def only(body: dict, role: str = "bot") -> dict:
    messages = [m for m in body["messages"] if m["role"] == role]
    assert len(messages) == 1, body
    return messages[0]


def agent_view(app, conversation_id: str) -> dict:
    """What an agent sees of the conversation (a new agent each time: names are unique)."""
    viewer = new_agent(app, f"viewer-{uuid.uuid4().hex[:8]}")
    response = app.test_client().get(f"/api/agent/conversations/{conversation_id}", headers=viewer)
    assert response.status_code == 200
    return response.get_json()


def handoff_reasons(app, conversation_id: str) -> list[str]:
    with app.extensions["faqbot"].db.transaction() as session:
        return list(
            session.scalars(
                select(Handoff.reason).where(Handoff.conversation_id == conversation_id).order_by(Handoff.id)
            )
        )


def ratings(app, conversation_id: str) -> list[tuple[str | None, int, str | None]]:
    with app.extensions["faqbot"].db.transaction() as session:
        rows = session.execute(
            select(Agent.name, Rating.score, Rating.comment)
            .outerjoin(Agent, Agent.id == Rating.agent_id)
            .where(Rating.conversation_id == conversation_id)
            .order_by(Rating.id)
        ).all()
    return [tuple(row) for row in rows]


# -- frustration ----------------------------------------------------------------------------------


def assert_frustrated(app, customer: Customer, body: dict, language: str) -> None:
    assert body["status"] == "queued", body
    assert only(body)["text"] == bot_text("utter_handoff_frustration", language)
    assert body["queue"]["position"] == 1
    assert handoff_reasons(app, customer.id) == ["frustration"]


@pytest.mark.parametrize(
    ("language", "question", "complaint"),
    [
        ("pl", "jak zwrócić towar", "to nie pomogło"),
        ("pl", "jak zwrócić towar", "nie o to mi chodziło"),
        ("en", "how do I return an item?", "that didn't help"),
        ("en", "how do I return an item?", "useless"),
    ],
)
def test_that_did_not_help_hands_over(app, language, question, complaint):
    customer = Customer(app, language)
    assert only(customer.say(question))["source"]["id"] == "returns-how"
    assert_frustrated(app, customer, customer.say(complaint), language)
    context = agent_view(app, customer.id)["context"]
    assert context["reason"] == "frustration"
    assert context["understood"][-1]["intent"] == "not_helpful"


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("pl", "GDZIE JEST MOJA PACZKA, CZEKAM OD TYGODNIA"),
        ("pl", "gdzie jest moja paczka!!!"),
        ("en", "WHERE IS MY ORDER, I HAVE BEEN WAITING FOR TWO WEEKS"),
        ("pl", "kurwa, gdzie jest moja paczka"),
        ("en", "where the fuck is my parcel"),
        ("pl", "CHCĘ ROZMAWIAĆ Z KONSULTANTEM!!!"),  # asked for a person, and upset: the agent should know
    ],
)
def test_shouting_and_swearing_hand_over(app, language, text):
    customer = Customer(app, language)
    assert_frustrated(app, customer, customer.say(text), language)


@pytest.mark.parametrize(
    ("language", "first", "again"),
    [("pl", "jak zwrócić towar", "jak zwrocic towar??"), ("en", "how do I return an item?", "how to return an item")],
)
def test_the_same_answer_twice_hands_over(app, language, first, again):
    customer = Customer(app, language)
    assert only(customer.say(first))["source"]["id"] == "returns-how"
    body = customer.say(again)
    assert_frustrated(app, customer, body, language)
    retrieval = agent_view(app, customer.id)["context"]["retrieval"]
    assert retrieval[-1]["candidates"][0]["id"] == "returns-how"  # the agent sees what it was about


def test_a_different_question_after_an_answer_is_just_answered(app):
    customer = Customer(app, "pl")
    assert only(customer.say("jak zwrócić towar"))["source"]["id"] == "returns-how"
    body = customer.say("czy mogę zapłacić blikiem?")
    assert body["status"] == "bot" and only(body)["source"]["id"] == "payment-blik"


# -- business hours --------------------------------------------------------------------------------


def test_out_of_hours_an_faq_answer_carries_no_notice(app, bot, database_url):
    in_hours = {text: Customer(app, "pl").say(text)["messages"] for text in ("jak zwrocic towar", "dzień dobry")}
    app = make_hub(bot, database_url, business_hours=closed_now())
    try:
        customer = Customer(app, "pl")
        body = customer.say("jak zwrocic towar")
        assert body["status"] == "bot"
        assert [m["role"] for m in body["messages"]] == ["bot"]
        assert body["messages"][0]["source"]["id"] == "returns-how"
        assert [m["text"] for m in body["messages"]] == [m["text"] for m in in_hours["jak zwrocic towar"]]
        greeting = customer.say("dzień dobry")
        assert [(m["role"], m["text"]) for m in greeting["messages"]] == [
            (m["role"], m["text"]) for m in in_hours["dzień dobry"]
        ]

        escalated = customer.say("chcę rozmawiać z konsultantem")
        assert escalated["status"] == "queued"
        assert only(escalated)["text"] == bot_text("utter_handoff", "pl")
        assert only(escalated, "system")["text"].endswith(TEXTS["ask_email"]["pl"])
        assert escalated["queue"] == {"position": 1, "expected_wait_seconds": None}
        assert handoff_reasons(app, customer.id) == ["out_of_hours"]
        saved = customer.say("ola@example.com")
        assert only(saved, "system")["text"] == TEXTS["email_saved"]["pl"].format(email="ola@example.com")
        with app.extensions["faqbot"].db.transaction() as session:
            conversation = session.get(Conversation, customer.id)
            assert (conversation.ticket, conversation.contact_email) == (True, "ola@example.com")
    finally:
        app.extensions["faqbot"].db.dispose()


# -- rating ----------------------------------------------------------------------------------------


def resolved_by(app, customer: Customer, name: str, language: str) -> dict:
    """The customer asks for a person; agent `name` takes it, answers, resolves. Returns
    what the customer sees next: the bot back, asking for a rating."""
    assert (
        customer.say("chcę rozmawiać z konsultantem" if language == "pl" else "talk to a human")["status"] == "queued"
    )
    agent = new_agent(app, name)
    client = app.test_client()
    assert agent_post(client, agent, customer.id, "messages", {"text": "Już pomagam."}).status_code == 201
    assert agent_post(client, agent, customer.id, "resolve").status_code == 200
    return customer.news()


@pytest.mark.parametrize("language", ["pl", "en"])
def test_after_resolve_the_bot_asks_for_a_rating(app, language):
    customer = Customer(app, language)
    news = resolved_by(app, customer, "ala", language)
    assert news["status"] == "resolved" and news["queue"] is None
    assert [m["role"] for m in news["messages"]] == ["agent", "system", "bot"]
    assert news["messages"][1]["text"] == TEXTS["resolved"][language]  # the bot takes over, and says so
    question = news["messages"][2]
    assert question["text"] == bot_text("utter_ask_rating", language)
    assert [(b["title"], json.loads(b["payload"].removeprefix("/rate"))) for b in question["buttons"]] == [
        (str(n), {"score": n}) for n in range(1, 6)
    ]
    assert all(b["payload"].startswith("/rate{") for b in question["buttons"])


def test_a_rating_is_stored_for_the_agent_then_replaced_then_commented(app):
    customer = Customer(app, "pl")
    resolved_by(app, customer, "ala", "pl")
    rated = customer.say('/rate{"score": 4}')
    assert rated["status"] == "bot"
    thanks = only(rated)
    assert thanks["text"] == bot_text("utter_rating_thanks", "pl")
    assert thanks["buttons"] == [{"title": bot_text("utter_button_no_comment", "pl"), "payload": "/no_comment"}]
    assert ratings(app, customer.id) == [("ala", 4, None)]
    history = customer.client.get(f"/api/conversations/{customer.id}/messages", headers=bearer(customer.token))
    assert ("customer", "4") in [(m["role"], m["text"]) for m in history.get_json()["messages"]]  # shown by its title

    customer.say('/rate{"score": 2}')  # the customer changes their mind: one rating per resolution
    assert ratings(app, customer.id) == [("ala", 2, None)]

    commented = customer.say("Pani Ala była miła, ale czekałem długo")
    assert only(commented)["text"] == bot_text("utter_comment_thanks", "pl")
    assert ratings(app, customer.id) == [("ala", 2, "Pani Ala była miła, ale czekałem długo")]

    later = customer.say("dobrze wiedzieć")  # only the message right after the rating is a comment
    assert ratings(app, customer.id) == [("ala", 2, "Pani Ala była miła, ale czekałem długo")]
    assert later["status"] == "bot"


def test_a_question_after_a_rating_is_answered_not_stored(app):
    customer = Customer(app, "en")
    resolved_by(app, customer, "tom", "en")
    customer.say('/rate{"score": 5}')
    answer = customer.say("how do I return an item?")
    assert answer["status"] == "bot" and only(answer)["source"]["id"] == "returns-how"
    assert ratings(app, customer.id) == [("tom", 5, None)]


def test_no_comment(app):
    customer = Customer(app, "pl")
    resolved_by(app, customer, "ala", "pl")
    customer.say('/rate{"score": 3}')
    body = customer.say("/no_comment")
    assert only(body)["text"] == bot_text("utter_no_comment", "pl")
    customer.say("bardzo miło")
    assert ratings(app, customer.id) == [("ala", 3, None)]


def test_a_rating_cannot_be_typed_without_the_buttons(app):
    """Customers send text, never intents: only an offered button's payload acts as one."""
    customer = Customer(app, "pl")
    body = customer.say('/rate{"score": 1}')
    assert ratings(app, customer.id) == []
    assert body["status"] == "bot"


# -- what Rasa makes of complaints (the trained model) ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("to wcale nie pomogło", "not_helpful"),
        ("nie o to pytałem", "not_helpful"),
        ("ta odpowiedź mi nie pomogła", "not_helpful"),
        ("that didn't help at all", "not_helpful"),
        ("this answer is useless", "not_helpful"),
        ("nie wiem jak zwrócić towar", "ask_question"),
        ("nie działa mi kod rabatowy", "ask_question"),
        ("kod rabatowy nie działa", "ask_question"),
        ("nie dostałem paczki", "ask_question"),
        ("cześć", "greet"),
        ("dzieki", "thanks"),
        ("bye", "goodbye"),
        ("chcę rozmawiać z konsultantem", "request_human"),
    ],
)
def test_rasa_tells_a_complaint_from_a_question(bot, text, intent):
    parsed = requests.post(
        f"{bot.rasa_url}/model/parse", params={"token": bot.rasa_token}, json={"text": text}, timeout=30
    ).json()
    assert parsed["intent"]["name"] == intent, parsed["intent_ranking"][:3]
