"""The agents' side: the queue, a conversation with everything the bot knew, claim,
reply, resolve.

An agent never has to ask the customer to repeat anything: the transcript, what Rasa
understood of each message, what retrieval tried, why the conversation was handed over,
the channel and what is known of the customer come with the conversation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from .. import store
from ..db import Database
from ..events import notify
from ..models import Agent, Conversation, Handoff, Message, now
from ..pubsub import PubSub
from ..security import digest, new_token
from ..store import Conflict, NewMessage, utc
from ..texts import text as hub_text

PREVIEW = 200


class Desk:
    def __init__(self, db: Database, pubsub: PubSub) -> None:
        self.db = db
        self.pubsub = pubsub

    # -- agents -----------------------------------------------------------------

    def create_agent(self, name: str) -> str:
        """Create an agent; returns its token (only its digest is stored)."""
        name = name.strip()
        if not name:
            raise ValueError("an agent needs a name")
        token = new_token()
        with self.db.transaction() as session:
            if session.scalar(select(Agent).where(Agent.name == name)) is not None:
                raise Conflict(f"an agent named {name!r} already exists")
            session.add(Agent(name=name, token_hash=digest(token)))
        return token

    def authenticate(self, token: str) -> Agent | None:
        # The token is 256 random bits: looking up its digest leaks nothing usable.
        with self.db.transaction() as session:
            return session.scalar(select(Agent).where(Agent.token_hash == digest(token), Agent.active.is_(True)))

    # -- the queue ----------------------------------------------------------------

    def queue(self) -> list[dict[str, Any]]:
        """Conversations with humans: waiting ones first, longest wait first."""
        with self.db.transaction() as session:
            rows = session.execute(
                select(Conversation, Agent.name)
                .outerjoin(Agent, Agent.id == Conversation.agent_id)
                .where(Conversation.status.in_(("queued", "assigned")))
                .order_by(Conversation.status.desc(), Conversation.queued_at)  # "queued" before "assigned"
            ).all()
            items = []
            position = 0
            for conversation, agent_name in rows:
                handoff = store.open_handoff(session, conversation.id)
                last = session.scalar(
                    select(Message)
                    .where(Message.conversation_id == conversation.id, Message.role == "customer")
                    .order_by(Message.seq.desc())
                    .limit(1)
                )
                if conversation.status == "queued":
                    position += 1
                items.append(
                    {
                        "id": conversation.id,
                        "status": conversation.status,
                        "position": position if conversation.status == "queued" else None,
                        "channel": conversation.channel,
                        "language": conversation.language,
                        "reason": handoff.reason if handoff else None,
                        "queued_at": utc(conversation.queued_at),
                        "waiting_seconds": _seconds_since(conversation.queued_at),
                        "assigned_to": agent_name,
                        "last_customer_message": last.text[:PREVIEW] if last else None,
                    }
                )
            return items

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            conversation = store.get(session, conversation_id)
            messages = store.messages_after(session, conversation_id, 0)
            handoffs = list(
                session.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id).order_by(Handoff.id))
            )
            names = dict(session.execute(select(Agent.id, Agent.name)).all())
            return {
                "id": conversation.id,
                "status": conversation.status,
                "channel": conversation.channel,
                "language": conversation.language,
                "assigned_to": names.get(conversation.agent_id),
                "created_at": utc(conversation.created_at),
                "messages": [_agent_view(m, names) for m in messages],
                "context": _context(conversation, messages, handoffs),
            }

    # -- taking part ----------------------------------------------------------------

    def claim(self, conversation_id: str, agent: Agent) -> dict[str, Any]:
        with self.db.transaction() as session:
            self._claim(session, conversation_id, agent)
        notify(self.pubsub, conversation_id, queue_changed=True)
        return self.conversation(conversation_id)

    def _claim(self, session, conversation_id: str, agent: Agent) -> None:
        conversation = store.get(session, conversation_id)
        if conversation.status == "assigned" and conversation.agent_id == agent.id:
            return
        if not store.transition(session, conversation_id, ("queued",), status="assigned", agent_id=agent.id):
            raise Conflict(_unavailable(store.get(session, conversation_id)))
        handoff = store.open_handoff(session, conversation_id)
        if handoff is not None:
            handoff.claimed_at, handoff.claimed_by = now(), agent.id

    def reply(self, conversation_id: str, agent: Agent, text: str) -> Message:
        """An agent's message to the customer; replying to a waiting conversation claims it."""
        with self.db.transaction() as session:
            conversation = store.get(session, conversation_id)
            claimed = conversation.status == "queued"
            self._claim(session, conversation_id, agent)
            (message,) = store.append(session, conversation_id, [NewMessage("agent", text, agent_id=agent.id)])
        notify(self.pubsub, conversation_id, queue_changed=claimed)
        return message

    def resolve(self, conversation_id: str, agent: Agent) -> dict[str, Any]:
        """Close the human part; the bot owns the conversation again."""
        with self.db.transaction() as session:
            conversation = store.get(session, conversation_id)
            if conversation.status == "assigned" and conversation.agent_id != agent.id:
                raise Conflict(_unavailable(conversation))
            language = conversation.language
            if not store.transition(session, conversation_id, ("queued", "assigned"), status="resolved", agent_id=None):
                raise Conflict(_unavailable(store.get(session, conversation_id)))
            handoff = store.open_handoff(session, conversation_id)
            if handoff is not None:
                handoff.resolved_at, handoff.resolved_by = now(), agent.id
            store.append(session, conversation_id, [NewMessage("system", hub_text("resolved", language))])
        notify(self.pubsub, conversation_id, queue_changed=True)
        return self.conversation(conversation_id)


def _unavailable(conversation: Conversation) -> str:
    if conversation.status == "assigned":
        return "another agent has this conversation"
    return f"the conversation is not waiting for an agent (status: {conversation.status})"


def _seconds_since(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int((datetime.now(UTC) - moment).total_seconds()))


def _agent_view(message: Message, names: dict[int, str]) -> dict[str, Any]:
    view = store.message_json(message)
    view.update(
        created_at=utc(message.created_at),
        author=names.get(message.agent_id) if message.role == "agent" else None,
        source=message.source,
    )
    return view


def _context(conversation: Conversation, messages: list[Message], handoffs: list[Handoff]) -> dict[str, Any]:
    """What the bot understood and tried, why it handed over, and who the customer is."""
    current = handoffs[-1] if handoffs else None
    understood, tried = [], []
    for m in messages:
        meta = m.meta or {}
        if m.role == "customer" and meta.get("nlu"):
            understood.append({"seq": m.seq, "text": m.text, **meta["nlu"]})
        if m.role == "bot" and meta.get("retrieval"):
            tried.append({"seq": m.seq, **meta["retrieval"]})
    customer_messages = [m for m in messages if m.role == "customer"]
    return {
        "reason": current.reason if current else None,
        "channel": conversation.channel,
        "language": conversation.language,
        "queued_at": utc(conversation.queued_at),
        "understood": understood,
        "retrieval": tried,
        "customer": {
            "channel": conversation.channel,
            "language": conversation.language,
            "first_contact": utc(conversation.created_at),
            "messages": len(customer_messages),
            "earlier_handoffs": max(0, len(handoffs) - 1),
        },
    }
