"""One history per customer: a widget visitor is one customer across conversations (its
visitor token), an e-mail left for a ticket is kept on the customer, and agents see the
customer's earlier conversations, from any channel.

On SQLite and PostgreSQL, the bot down (as in tests/test_hub_api.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from handoff import store
from handoff.models import Conversation, Customer, CustomerIdentity, now
from handoff.security import digest
from tests.test_hub_api import agent_view, make_app, new_agent, say


@pytest.fixture
def app(database_url):
    application = make_app(database_url, rate_limit_new_conversations="off")
    yield application
    application.extensions["faqbot"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def begin(client, visitor=None, **extra) -> dict:
    body = {**extra} if visitor is None else {"visitor": visitor, **extra}
    response = client.post("/api/conversations", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def customer_of(app, conversation_id: str) -> str | None:
    with app.extensions["faqbot"].db.transaction() as session:
        return session.get(Conversation, conversation_id).customer_id


def test_a_new_visitor_gets_a_token_and_a_customer(app, client):
    data = begin(client)
    assert set(data) == {"id", "token", "visitor"}
    assert len(data["visitor"]) >= 40 and data["visitor"] != data["token"]
    customer_id = customer_of(app, data["id"])
    with app.extensions["faqbot"].db.transaction() as session:
        identity = session.scalar(select(CustomerIdentity).where(CustomerIdentity.customer_id == customer_id))
        assert (identity.channel, identity.external_id) == ("web", digest(data["visitor"]))  # only the digest


def test_a_returning_visitor_is_the_same_customer(app, client):
    first = begin(client)
    again = begin(client, first["visitor"], language="en")
    assert again["visitor"] == first["visitor"]
    assert again["id"] != first["id"]
    assert customer_of(app, again["id"]) == customer_of(app, first["id"])


@pytest.mark.parametrize("sent", ["not-a-token-we-gave", "", 42, ["x"], None, "x" * 1000], ids=repr)
def test_an_unknown_or_malformed_visitor_gets_a_new_one(app, client, sent):
    known = begin(client)
    data = begin(client, **({"visitor": sent}))
    assert data["visitor"] not in (sent, known["visitor"])
    assert customer_of(app, data["id"]) not in (None, customer_of(app, known["id"]))


def test_agents_see_the_customers_earlier_conversations(app, client):
    first = begin(client)
    assert say(client, first["id"], first["token"], "gdzie jest moja paczka?").status_code == 200  # queued: bot down
    say(client, first["id"], first["token"], "numer 123")
    second = begin(client, first["visitor"])
    say(client, second["id"], second["token"], "jak zwrócić towar?")
    stranger = begin(client)
    say(client, stranger["id"], stranger["token"], "nie moje")

    agent = new_agent(app, "ola")
    view = agent_view(client, agent, second["id"])
    (earlier,) = view["earlier_conversations"]
    assert earlier["id"] == first["id"]
    assert (earlier["channel"], earlier["status"]) == ("web", "queued")
    assert earlier["first_customer_message"] == "gdzie jest moja paczka?"
    assert earlier["handoff_reason"]  # the bot was down: a human was needed
    assert earlier["created_at"].endswith("Z")
    assert view["context"]["customer"]["customer_id"] == customer_of(app, first["id"])
    assert agent_view(client, agent, stranger["id"])["earlier_conversations"] == []


def test_earlier_conversations_newest_first_at_most_10_from_every_channel(app, client):
    hub = app.extensions["faqbot"]
    with hub.db.transaction() as session:
        customer_id = store.customer_for(session, "messenger", "psid-1").id
    ids = [hub.conversations.start("messenger" if i % 2 else "web", None, customer_id)[0].id for i in range(13)]
    with hub.db.transaction() as session:
        for age, conversation_id in enumerate(reversed(ids)):  # ids[0] the oldest
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(created_at=now() - timedelta(hours=age))
            )
    view = hub.desk.conversation(ids[-1])
    listed = view["earlier_conversations"]
    assert [c["id"] for c in listed] == list(reversed(ids[-11:-1]))
    assert {c["channel"] for c in listed} == {"web", "messenger"}
    assert all(c["first_customer_message"] is None and c["handoff_reason"] is None for c in listed)


def test_a_conversation_without_a_customer_has_no_earlier_ones(app):
    hub = app.extensions["faqbot"]
    conversation, _ = hub.conversations.start("web", None)
    view = hub.desk.conversation(conversation.id)
    assert view["earlier_conversations"] == []
    assert (view["context"]["customer"]["customer_id"], view["context"]["customer"]["email"]) == (None, None)


def test_the_email_left_for_a_ticket_is_kept_on_the_customer(app, client):
    """No agent online: the escalation is a ticket and asks for an address (test_hours.py)."""
    first = begin(client)
    body = say(client, first["id"], first["token"], "BLIK?").get_json()
    assert body["status"] == "queued"
    say(client, first["id"], first["token"], "mój mail to jan.kowalski@example.pl, dzięki")
    customer_id = customer_of(app, first["id"])
    with app.extensions["faqbot"].db.transaction() as session:
        assert session.get(Customer, customer_id).email == "jan.kowalski@example.pl"

    second = begin(client, first["visitor"])
    customer = app.extensions["faqbot"].desk.conversation(second["id"])["context"]["customer"]
    assert (customer["customer_id"], customer["email"]) == (customer_id, "jan.kowalski@example.pl")


def test_the_customer_for_a_channel_id_is_stable(app):
    """What the Messenger channel relies on: `customer_for(session, channel, id)`."""
    hub = app.extensions["faqbot"]
    with hub.db.transaction() as session:
        one = store.customer_for(session, "messenger", "psid-9").id
    with hub.db.transaction() as session:
        assert store.customer_for(session, "messenger", "psid-9").id == one
        assert store.customer_for(session, "web", "psid-9").id != one  # ids are per channel
