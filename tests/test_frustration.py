"""The pieces behind frustration and ratings that need no Rasa: what reads as shouting
or swearing (bot/actions/frustration.py), what reads as a question after a rating
(bot/actions/questions.py), how the hub reads the bot's rating payloads
(handoff/bot_replies.py) and stores ratings (handoff/store.py). tests/test_rating.py runs
the same through a real Rasa and action server.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from bot.actions.frustration import frustration_signal, is_shouting, is_swearing
from bot.actions.questions import looks_like_question
from handoff import store
from handoff.bot_replies import interpret
from handoff.models import Agent, Conversation, Handoff, Rating, now


@pytest.mark.parametrize(
    "text",
    [
        "GDZIE JEST MOJA PACZKA",
        "ZAMÓWIŁEM TYDZIEŃ TEMU I NIC",
        "WHERE IS MY ORDER",
        "gdzie jest moja paczka!!!",
        "where is my refund!!!!",
        "co to ma być?!?",
        "NIE DZIAŁA!!! pomóżcie",
    ],
)
def test_shouting(text):
    assert is_shouting(text)
    assert frustration_signal(text) == "shouting"


@pytest.mark.parametrize(
    "text",
    [
        "gdzie jest moja paczka?",
        "czy mogę zapłacić BLIK-iem?",
        "DHL?",
        "OK",
        "PayPo czy BLIK",
        "Zamówienie NIE DOTARŁO",  # one word in capitals is emphasis, not shouting
        "Jak Zwrócić Towar",
        "dziękuję!",
        "super!!",
        "1234 5678 9012",
    ],
)
def test_not_shouting(text):
    assert not is_shouting(text)


@pytest.mark.parametrize(
    "text",
    [
        "kurwa, gdzie jest moja paczka",
        "gdzie ta kurwica paczka",
        "co za pierdolony sklep",
        "spierdalaj bocie",
        "zajebiście długo to trwa",
        "ja pierdziele",
        "to jest gówno nie obsługa",
        "gowniana obsluga",
        "chujowa ta odpowiedź",
        "jesteś debilem",
        "co za idiotyczna odpowiedź",
        "this is fucking useless",
        "what the fuck",
        "shitty service",
        "wtf is this",
        "damn it, where is my parcel",
        "this bot is crap",
    ],
)
def test_swearing_in_polish_and_english(text):
    assert is_swearing(text)
    assert frustration_signal(text) == "swearing"


@pytest.mark.parametrize(
    "text",
    [
        "jak zwrócić towar",
        "czy macie duplikat faktury",  # "dup-" starts an innocent word
        "czy spodnie się skurczą w praniu",
        "I anticipate a delay",
        "hello, what about scrap metal recycling",
        "chcę rozmawiać z konsultantem",
        "shipping to Scunthorpe",
    ],
)
def test_innocent_words_are_not_swearing(text):
    assert not is_swearing(text)
    assert frustration_signal(text) is None


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("jak zwrócić towar", True),
        ("Czy mogę zapłacić kartą", True),
        ("ile kosztuje dostawa", True),
        ("a paczkomat?", True),
        ("how do I return an item", True),
        ("Can I pay by card", True),
        ("Bardzo miła obsługa, dziękuję", False),
        ("pani Ola była super", False),
        ("very helpful, thanks", False),
        ("too slow", False),
    ],
)
def test_a_question_after_a_rating(text, question):
    assert looks_like_question(text) is question


# -- the hub reads ratings --------------------------------------------------------------------------


def test_interpret_reads_a_rating_and_a_comment():
    turn = interpret([{"custom": {"text": {"pl": "Dziękuję!", "en": "Thanks!"}, "rating": {"score": 4}}}], "en")
    assert (turn.rating, turn.rating_comment, turn.messages[0].text) == (4, None, "Thanks!")
    turn = interpret([{"custom": {"text": "ok", "rating_comment": "  miła pani  "}}], "pl")
    assert (turn.rating, turn.rating_comment) == (None, "miła pani")


@pytest.mark.parametrize(
    "rating", [{"score": 0}, {"score": 6}, {"score": "5"}, {"score": True}, {"score": 4.5}, 5, None]
)
def test_interpret_ignores_what_is_not_a_score(rating):
    assert interpret([{"custom": {"text": "x", "rating": rating}}], "pl").rating is None


def resolved_conversation(session, agent_name: str) -> tuple[str, int]:
    agent = Agent(name=agent_name, token_hash=uuid.uuid4().hex)
    conversation = Conversation(id=str(uuid.uuid4()), token_hash="x", language="pl", status="resolved")
    session.add_all([agent, conversation])
    session.flush()
    moment = now() - timedelta(seconds=5)
    session.add(
        Handoff(
            conversation_id=conversation.id,
            reason="customer_request",
            claimed_at=moment,
            claimed_by=agent.id,
            resolved_at=moment,
            resolved_by=agent.id,
        )
    )
    session.flush()
    return conversation.id, agent.id


def test_a_rating_is_stored_for_the_agent_who_resolved_and_a_second_one_replaces_it(db):
    with db.transaction() as session:
        conversation_id, ala = resolved_conversation(session, "ala")
        store.rate(session, conversation_id, 2)
    with db.transaction() as session:
        store.rate(session, conversation_id, 5)  # changed their mind
        store.comment_rating(session, conversation_id, "szybko i konkretnie")
    with db.transaction() as session:
        ratings = [(r.agent_id, r.score, r.comment) for r in session.query(Rating)]
    assert ratings == [(ala, 5, "szybko i konkretnie")]


def test_each_resolution_gets_its_own_rating(db):
    with db.transaction() as session:
        conversation_id, ala = resolved_conversation(session, "ala")
        store.rate(session, conversation_id, 3)
        ola = Agent(name="ola", token_hash=uuid.uuid4().hex)
        session.add(ola)
        session.flush()
        session.add(
            Handoff(conversation_id=conversation_id, reason="frustration", resolved_at=now(), resolved_by=ola.id)
        )
    with db.transaction() as session:
        store.rate(session, conversation_id, 5)
        ratings = sorted((r.agent_id, r.score) for r in session.query(Rating))
    assert ratings == sorted([(ala, 3), (ola.id, 5)])


def test_a_comment_without_a_rating_is_not_stored(db):
    with db.transaction() as session:
        conversation_id, _ = resolved_conversation(session, "ala")
        assert store.comment_rating(session, conversation_id, "hmm") is None
        assert session.query(Rating).count() == 0
