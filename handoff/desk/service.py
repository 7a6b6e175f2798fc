"""The agents' side: the queue, a conversation with everything the bot knew, claim,
reply, resolve.

An agent never has to ask the customer to repeat anything: the transcript, what Rasa
understood of each message, what retrieval tried, why the conversation was handed over,
the channel and what is known of the customer come with the conversation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update

from .. import store
from ..accounts import Accounts
from ..config import HubSettings
from ..db import Database
from ..events import notify
from ..models import Agent, Conversation, Customer, Handoff, Message, Note, now
from ..pubsub import PubSub
from ..security import digest
from ..store import Conflict, NewMessage, utc
from ..texts import text as hub_text
from .drafts import write_draft
from .summary import summarize

log = logging.getLogger(__name__)

PREVIEW = 200
EARLIER_CONVERSATIONS = 10  # at most, of the same customer, in a conversation's view
OnResolved = Callable[[str, int], None]


class Acting(Protocol):
    """Who acts: an `Agent` row (the bearer-token API) or an `Account` (the desk)."""

    id: int
    name: str
    role: str
    language: str


class TransferError(ValueError):
    """The transfer's target cannot take the conversation (unknown or deactivated)."""


def notes_channel(conversation_id: str) -> str:
    """Live events about a conversation's internal notes: desks follow it, customers'
    long-polls (on `conversation:<id>`) never wake for a note."""
    return f"notes:{conversation_id}"


class Desk:
    def __init__(
        self,
        db: Database,
        pubsub: PubSub,
        drafts_dir: str | Path = HubSettings.drafts_dir,
        on_resolved: OnResolved | None = None,
    ) -> None:
        self.db = db
        self.pubsub = pubsub
        self.drafts_dir = Path(drafts_dir)
        # Called after a resolve is committed (the customer's rating question hangs on it).
        self.on_resolved = on_resolved
        # Whether an agent's reply can reach the customer through their channel (a reason
        # if not: Messenger's 7-day limit); set by handoff.delivery.init_delivery.
        self.can_reply: Callable[[Any, Conversation], str | None] | None = None

    # -- agents -----------------------------------------------------------------

    def create_agent(self, name: str) -> str:
        """Create an agent without a desk password; returns its API token (only its
        digest is stored). `Accounts.create` does the same with a password and role."""
        return Accounts(self.db).create(name).token

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
                        "ticket": conversation.ticket,
                        "contact_email": conversation.contact_email,
                    }
                )
            return items

    def conversation(self, conversation_id: str, language: str = "pl") -> dict[str, Any]:
        """Everything an agent needs, before anything else: the transcript, what the bot
        understood and tried (raw in `context`, in words in `summary`, in `language`),
        why it was handed over, the channel and the customer; and the internal notes."""
        with self.db.transaction() as session:
            conversation = store.get(session, conversation_id)
            messages = store.messages_after(session, conversation_id, 0)
            handoffs = list(
                session.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id).order_by(Handoff.id))
            )
            notes = list(session.scalars(select(Note).where(Note.conversation_id == conversation_id).order_by(Note.id)))
            names = dict(session.execute(select(Agent.id, Agent.name)).all())
            customer = session.get(Customer, conversation.customer_id) if conversation.customer_id else None
            context = _context(conversation, messages, handoffs, customer)
            return {
                "id": conversation.id,
                "status": conversation.status,
                "channel": conversation.channel,
                "language": conversation.language,
                "assigned_to": names.get(conversation.agent_id),
                "created_at": utc(conversation.created_at),
                "ticket": conversation.ticket,
                "contact_email": conversation.contact_email,
                "messages": [_agent_view(m, names) for m in messages],
                "context": context,
                "summary": summarize(context, language),
                "notes": [_note_view(n, names) for n in notes],
                "earlier_conversations": _earlier_conversations(session, conversation),
            }

    def messages_after(self, conversation_id: str, after: int) -> dict[str, Any]:
        """The conversation's status and its messages after `after`, as agents see them."""
        with self.db.transaction() as session:
            conversation = store.get(session, conversation_id)
            messages = store.messages_after(session, conversation_id, after)
            names = dict(session.execute(select(Agent.id, Agent.name)).all())
            return {"status": conversation.status, "messages": [_agent_view(m, names) for m in messages]}

    def last_customer_message(self, conversation_id: str) -> tuple[str, str] | None:
        """The customer's latest text and the language it was written in (what agent
        assist looks up)."""
        with self.db.transaction() as session:
            conversation = store.get(session, conversation_id)
            last = session.scalar(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.role == "customer")
                .order_by(Message.seq.desc())
                .limit(1)
            )
            if last is None:
                return None
            return last.text, (last.meta or {}).get("language") or conversation.language

    # -- taking part ----------------------------------------------------------------

    def claim(self, conversation_id: str, agent: Acting) -> dict[str, Any]:
        """Take a waiting conversation. Two agents never both get it: the change is one
        conditional UPDATE, and the second one finds it assigned (Conflict)."""
        with self.db.transaction() as session:
            self._claim(session, conversation_id, agent)
        notify(self.pubsub, conversation_id, queue_changed=True)
        return self.conversation(conversation_id, agent.language)

    def _claim(self, session, conversation_id: str, agent: Acting) -> None:
        conversation = store.get(session, conversation_id)
        if conversation.status == "assigned" and conversation.agent_id == agent.id:
            return
        if not store.transition(session, conversation_id, ("queued",), status="assigned", agent_id=agent.id):
            raise Conflict(_unavailable(store.get(session, conversation_id)))
        handoff = store.open_handoff(session, conversation_id)
        if handoff is not None:
            handoff.claimed_at, handoff.claimed_by = now(), agent.id

    def reply(self, conversation_id: str, agent: Acting, text: str) -> Message:
        """An agent's message to the customer; replying to a waiting conversation claims it."""
        with self.db.transaction() as session:
            conversation = store.get(session, conversation_id)
            claimed = conversation.status == "queued"
            refusal = self.can_reply(session, conversation) if self.can_reply is not None else None
            if refusal:
                raise Conflict(f"this reply cannot be sent: {refusal}")
            self._claim(session, conversation_id, agent)
            (message,) = store.append(session, conversation_id, [NewMessage("agent", text, agent_id=agent.id)])
            _first_response(session, conversation_id)
        notify(self.pubsub, conversation_id, queue_changed=claimed)
        return message

    def resolve(self, conversation_id: str, agent: Acting) -> dict[str, Any]:
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
        if self.on_resolved is not None:
            try:
                self.on_resolved(conversation_id, agent.id)
            except Exception:  # the resolve is committed: the agent must not see it fail
                log.exception("conversation %s: on_resolved failed", conversation_id)
        notify(self.pubsub, conversation_id, queue_changed=True)
        return self.conversation(conversation_id, agent.language)

    def release(self, conversation_id: str, agent: Acting) -> dict[str, Any]:
        """Back to the queue, in its old place (it keeps its `queued_at`): for the agent
        who has it, or a supervisor."""
        with self.db.transaction() as session:
            conversation = store.get(session, conversation_id)
            self._check_may_hand_on(conversation, agent, allow_queued=False)
            if not _move(session, conversation, status="queued", agent_id=None):
                raise Conflict(_unavailable(conversation))
        notify(self.pubsub, conversation_id, queue_changed=True)
        return self.conversation(conversation_id, agent.language)

    def transfer(self, conversation_id: str, agent: Acting, to_agent_id: int) -> dict[str, Any]:
        """Hand the conversation to another active agent: one's own, a waiting one, or
        (for a supervisor) anyone's."""
        with self.db.transaction() as session:
            target = session.get(Agent, to_agent_id)
            if target is None or not target.active:
                raise TransferError("no active agent with that id")
            conversation = store.get(session, conversation_id)
            self._check_may_hand_on(conversation, agent, allow_queued=True)
            if not _move(session, conversation, status="assigned", agent_id=target.id):
                raise Conflict(_unavailable(conversation))
            handoff = store.open_handoff(session, conversation_id)
            if handoff is not None and handoff.claimed_at is None:
                handoff.claimed_at, handoff.claimed_by = now(), target.id
        notify(self.pubsub, conversation_id, queue_changed=True)
        return self.conversation(conversation_id, agent.language)

    def _check_may_hand_on(self, conversation: Conversation, agent: Acting, allow_queued: bool) -> None:
        if conversation.status == "assigned" and (conversation.agent_id == agent.id or agent.role == "supervisor"):
            return
        if conversation.status == "queued" and allow_queued:
            return
        if conversation.status == "assigned":
            raise Conflict(_unavailable(conversation))
        raise Conflict(f"the conversation is not with this agent (status: {conversation.status})")

    # -- notes and drafts ---------------------------------------------------------------

    def add_note(self, conversation_id: str, agent: Acting, text: str) -> dict[str, Any]:
        """An internal note: agents see it with the conversation, the customer never does."""
        with self.db.transaction() as session:
            store.get(session, conversation_id)
            note = Note(conversation_id=conversation_id, agent_id=agent.id, text=text)
            session.add(note)
            session.flush()
            view = _note_view(note, {agent.id: agent.name})
        self.pubsub.publish(notes_channel(conversation_id), {"type": "notes", "conversation": conversation_id})
        return view

    def save_draft(
        self, conversation_id: str, agent: Acting, question: str, answer: str, title: str | None = None
    ) -> Path:
        """'Save as FAQ draft': the agent's answer with the customer's question as a
        phrasing, as a FAQ file for editors to review (never served; see drafts.py)."""
        with self.db.transaction() as session:
            language = store.get(session, conversation_id).language
        return write_draft(
            self.drafts_dir,
            question=question,
            answer=answer,
            title=title,
            language=language,
            conversation_id=conversation_id,
            author=agent.name,
        )


def _move(session, conversation: Conversation, **values: Any) -> bool:
    """Change an assigned or queued conversation only if nobody changed its status or
    agent since it was read: one conditional UPDATE, so concurrent moves cannot both win."""
    result = session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation.id,
            Conversation.status == conversation.status,
            Conversation.agent_id.is_(None)
            if conversation.agent_id is None
            else Conversation.agent_id == conversation.agent_id,
        )
        .values(updated_at=now(), **values)
    )
    if result.rowcount != 1:
        session.refresh(conversation)
        return False
    return True


def _first_response(session, conversation_id: str) -> None:
    """The open hand-over's first agent reply, for the reports (one UPDATE; later replies
    change nothing)."""
    session.execute(
        update(Handoff)
        .where(
            Handoff.conversation_id == conversation_id,
            Handoff.resolved_at.is_(None),
            Handoff.first_response_at.is_(None),
        )
        .values(first_response_at=now())
        .execution_options(synchronize_session=False)
    )


def _note_view(note: Note, names: dict[int, str]) -> dict[str, Any]:
    return {"id": note.id, "author": names.get(note.agent_id), "text": note.text, "created_at": utc(note.created_at)}


def _unavailable(conversation: Conversation) -> str:
    if conversation.status == "assigned":
        return "another agent has this conversation"
    return f"the conversation is not waiting for an agent (status: {conversation.status})"


def _seconds_since(moment: datetime | None) -> int | None:
    return None if moment is None else max(0, int(store.seconds_since(moment)))


def agent_message(message: Message, author: str | None) -> dict[str, Any]:
    """One message as agents see it, `author` being the agent who wrote it (if any)."""
    return _agent_view(message, {message.agent_id: author} if message.agent_id is not None else {})


def _agent_view(message: Message, names: dict[int, str]) -> dict[str, Any]:
    view = store.message_json(message)
    view.update(
        created_at=utc(message.created_at),
        author=names.get(message.agent_id) if message.role == "agent" else None,
        source=message.source,
    )
    return view


def _earlier_conversations(session, conversation: Conversation) -> list[dict[str, Any]]:
    """The same customer's other conversations (any channel), newest first: their
    channel, status, when, what the customer asked first, and why a human was needed."""
    if conversation.customer_id is None:
        return []
    others = session.scalars(
        select(Conversation)
        .where(Conversation.customer_id == conversation.customer_id, Conversation.id != conversation.id)
        .order_by(Conversation.created_at.desc(), Conversation.id)
        .limit(EARLIER_CONVERSATIONS)
    ).all()
    items = []
    for other in others:
        first = session.scalar(
            select(Message.text)
            .where(Message.conversation_id == other.id, Message.role == "customer")
            .order_by(Message.seq)
            .limit(1)
        )
        reason = session.scalar(
            select(Handoff.reason).where(Handoff.conversation_id == other.id).order_by(Handoff.id.desc()).limit(1)
        )
        items.append(
            {
                "id": other.id,
                "channel": other.channel,
                "status": other.status,
                "created_at": utc(other.created_at),
                "first_customer_message": first[:PREVIEW] if first else None,
                "handoff_reason": reason,
            }
        )
    return items


def _context(
    conversation: Conversation, messages: list[Message], handoffs: list[Handoff], customer: Customer | None = None
) -> dict[str, Any]:
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
            "customer_id": customer.id if customer else None,
            "email": (customer.email if customer else None) or conversation.contact_email,
        },
    }
