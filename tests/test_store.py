"""Store operations (handoff/store.py) on SQLite and PostgreSQL: the schema, message
numbering (also under concurrent writers), status transitions, the queue."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from handoff import store
from handoff.models import Agent, Conversation, Handoff, Message
from handoff.store import NewMessage

TABLES = {"agents", "conversations", "messages", "handoffs"}


def new_conversation(db, status: str = "bot", queued_at: datetime | None = None) -> str:
    conversation_id = str(uuid.uuid4())
    with db.transaction() as session:
        session.add(
            Conversation(
                id=conversation_id,
                token_hash=uuid.uuid4().hex,
                language="pl",
                status=status,
                queued_at=queued_at,
            )
        )
    return conversation_id


def append_texts(db, conversation_id: str, *texts: str) -> list[int]:
    with db.transaction() as session:
        stored = store.append(session, conversation_id, [NewMessage("customer", t) for t in texts])
        return [m.seq for m in stored]


def seqs(db, conversation_id: str) -> list[int]:
    with db.transaction() as session:
        return list(
            session.scalars(select(Message.seq).where(Message.conversation_id == conversation_id).order_by(Message.seq))
        )


def status_of(db, conversation_id: str) -> str:
    with db.transaction() as session:
        return store.get(session, conversation_id).status


def handoff_count(db, conversation_id: str) -> int:
    with db.transaction() as session:
        return session.scalar(
            select(func.count()).select_from(Handoff).where(Handoff.conversation_id == conversation_id)
        )


# -- schema ----------------------------------------------------------------------


def test_migrate_creates_the_schema(db):
    tables = set(sa.inspect(db.engine).get_table_names())
    assert tables >= TABLES
    assert "alembic_version" in tables
    message_columns = {c["name"] for c in sa.inspect(db.engine).get_columns("messages")}
    assert {"conversation_id", "seq", "role", "text", "buttons", "source", "meta"} <= message_columns


def test_migrate_twice_is_harmless(db):
    conversation_id = new_conversation(db)
    append_texts(db, conversation_id, "kept")
    db.migrate()
    assert set(sa.inspect(db.engine).get_table_names()) >= TABLES
    from alembic.script import ScriptDirectory

    from handoff.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
    with db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
    assert seqs(db, conversation_id) == [1]


def test_get_unknown_conversation_raises_not_found(db):
    with db.transaction() as session, pytest.raises(store.NotFound):
        store.get(session, "no-such-id")


# -- message numbers -----------------------------------------------------------------


def test_append_numbers_messages_from_one(db):
    conversation_id = new_conversation(db)
    assert append_texts(db, conversation_id, "a") == [1]
    assert append_texts(db, conversation_id, "b", "c", "d") == [2, 3, 4]
    assert append_texts(db, conversation_id) == []
    assert seqs(db, conversation_id) == [1, 2, 3, 4]
    with db.transaction() as session:
        assert store.get(session, conversation_id).last_seq == 4


def test_append_numbers_each_conversation_independently(db):
    first, second = new_conversation(db), new_conversation(db)
    append_texts(db, first, "a", "b")
    append_texts(db, second, "x")
    append_texts(db, first, "c")
    append_texts(db, second, "y")
    assert seqs(db, first) == [1, 2, 3]
    assert seqs(db, second) == [1, 2]


def test_append_stores_what_it_is_given(db):
    conversation_id = new_conversation(db)
    with db.transaction() as session:
        store.append(
            session,
            conversation_id,
            [
                NewMessage(
                    "bot",
                    "<b>Zwroty</b>",
                    [{"title": "Tak", "payload": "/affirm"}],
                    {"id": "returns", "title": "Zwroty"},
                )
            ],
        )
    with db.transaction() as session:
        (message,) = store.messages_after(session, conversation_id, 0)
        assert store.message_json(message) == {
            "seq": 1,
            "role": "bot",
            "text": "<b>Zwroty</b>",
            "buttons": [{"title": "Tak", "payload": "/affirm"}],
            "source": {"id": "returns", "title": "Zwroty"},
            "html": "<p>&lt;b&gt;Zwroty&lt;/b&gt;</p>",  # raw HTML in an answer is shown as text
            "author": None,
        }


def test_concurrent_appends_are_gap_free_and_unique(db):
    conversation_id = new_conversation(db)
    threads_count, per_thread = 8, 10
    errors: list[BaseException] = []
    start = threading.Barrier(threads_count)

    def writer(number: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with db.transaction() as session:
                    store.append(session, conversation_id, [NewMessage("customer", f"{number}-{i}")])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    total = threads_count * per_thread
    assert seqs(db, conversation_id) == list(range(1, total + 1))
    with db.transaction() as session:
        texts = [m.text for m in store.messages_after(session, conversation_id, 0)]
        assert store.get(session, conversation_id).last_seq == total
    assert sorted(texts) == sorted(f"{n}-{i}" for n in range(threads_count) for i in range(per_thread))
    # each writer's own messages keep their order
    for n in range(threads_count):
        assert [t for t in texts if t.startswith(f"{n}-")] == [f"{n}-{i}" for i in range(per_thread)]


# -- statuses and the queue -------------------------------------------------------------


def test_transition_changes_only_allowed_statuses(db):
    conversation_id = new_conversation(db)
    with db.transaction() as session:
        assert store.transition(session, conversation_id, ("queued",), status="assigned") is False
    assert status_of(db, conversation_id) == "bot"
    with db.transaction() as session:
        assert store.transition(session, conversation_id, ("bot", "resolved"), status="queued") is True
    assert status_of(db, conversation_id) == "queued"
    with db.transaction() as session:
        assert store.transition(session, conversation_id, ("bot",), status="resolved") is False
    assert status_of(db, conversation_id) == "queued"


def test_transition_of_unknown_conversation_changes_nothing(db):
    with db.transaction() as session:
        assert store.transition(session, "no-such-id", ("bot",), status="queued") is False


def test_enqueue_creates_a_handoff(db):
    conversation_id = new_conversation(db)
    with db.transaction() as session:
        assert store.enqueue(session, conversation_id, "bot_unavailable") is True
    with db.transaction() as session:
        conversation = store.get(session, conversation_id)
        assert conversation.status == "queued"
        assert conversation.queued_at is not None
        handoff = store.open_handoff(session, conversation_id)
        assert handoff is not None
        assert handoff.reason == "bot_unavailable"
        assert handoff.resolved_at is None
    assert handoff_count(db, conversation_id) == 1


def test_enqueue_refuses_a_conversation_already_with_humans(db):
    queued = new_conversation(db)
    with db.transaction() as session:
        assert store.enqueue(session, queued, "asked_for_human")
    with db.transaction() as session:
        assert store.enqueue(session, queued, "again") is False
    assert handoff_count(db, queued) == 1

    with db.transaction() as session:
        agent = Agent(name="ala", token_hash=uuid.uuid4().hex)
        session.add(agent)
        session.flush()
        agent_id = agent.id
    assigned = new_conversation(db)
    with db.transaction() as session:
        store.enqueue(session, assigned, "asked_for_human")
        assert store.transition(session, assigned, ("queued",), status="assigned", agent_id=agent_id)
    with db.transaction() as session:
        assert store.enqueue(session, assigned, "again") is False
        assert store.get(session, assigned).agent_id == agent_id
    assert status_of(db, assigned) == "assigned"
    assert handoff_count(db, assigned) == 1


def test_enqueue_after_resolve_opens_a_new_handoff(db):
    conversation_id = new_conversation(db, status="resolved")
    with db.transaction() as session:
        assert store.enqueue(session, conversation_id, "low_confidence") is True
    assert status_of(db, conversation_id) == "queued"
    assert handoff_count(db, conversation_id) == 1


def test_queue_position_orders_by_queued_at(db):
    base = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    middle = new_conversation(db, "queued", base)
    last = new_conversation(db, "queued", base + timedelta(minutes=5))
    first = new_conversation(db, "queued", base - timedelta(minutes=5))
    # waiting longer but not in the queue: does not count
    new_conversation(db, "assigned", base - timedelta(hours=1))
    new_conversation(db, "resolved", base - timedelta(hours=2))
    with db.transaction() as session:
        positions = {cid: store.queue_position(session, store.get(session, cid)) for cid in (first, middle, last)}
    assert positions == {first: 1, middle: 2, last: 3}


def test_queue_position_moves_up_when_earlier_leave(db):
    base = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    first = new_conversation(db, "queued", base)
    second = new_conversation(db, "queued", base + timedelta(seconds=1))
    with db.transaction() as session:
        assert store.queue_position(session, store.get(session, second)) == 2
        store.transition(session, first, ("queued",), status="resolved")
    with db.transaction() as session:
        assert store.queue_position(session, store.get(session, second)) == 1


def test_messages_after(db):
    conversation_id = new_conversation(db)
    other = new_conversation(db)
    append_texts(db, conversation_id, "one", "two", "three")
    append_texts(db, other, "elsewhere")
    with db.transaction() as session:
        assert [m.text for m in store.messages_after(session, conversation_id, 0)] == ["one", "two", "three"]
        assert [(m.seq, m.text) for m in store.messages_after(session, conversation_id, 1)] == [
            (2, "two"),
            (3, "three"),
        ]
        assert store.messages_after(session, conversation_id, 3) == []
        assert store.messages_after(session, conversation_id, 99) == []
        assert store.messages_after(session, "no-such-id", 0) == []
