"""Database operations on conversations, shared by the customer side and the desk.

Every change that can race between hub processes is a single conditional UPDATE
(message numbers, status changes), so the database is the only arbiter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .markdown import to_safe_html
from .models import Agent, Conversation, Customer, CustomerIdentity, Handoff, Message, Rating, now


@dataclass
class NewMessage:
    role: str
    text: str
    buttons: list[dict[str, str]] | None = None
    source: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    payload: str | None = None
    agent_id: int | None = None
    external_id: str | None = None  # the channel's id of an incoming message (Messenger's mid)
    facts: dict[str, Any] | None = None  # reporting columns (reply_ms, decision, faq_id): handoff/reports/facts.py


class NotFound(LookupError):
    pass


class Conflict(Exception):
    """The conversation is not in a state that allows this (e.g. claimed by someone else)."""


def get(session: Session, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(conversation_id)
    return conversation


def append(session: Session, conversation_id: str, new: list[NewMessage]) -> list[Message]:
    """Store messages with the next sequence numbers of their conversation."""
    if not new:
        return []
    last = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(last_seq=Conversation.last_seq + len(new), updated_at=now())
        .returning(Conversation.last_seq)
    ).scalar_one()
    stored = []
    for offset, item in enumerate(new):
        message = Message(
            conversation_id=conversation_id,
            seq=last - len(new) + 1 + offset,
            role=item.role,
            text=item.text,
            buttons=item.buttons or None,
            source=item.source,
            meta=item.meta,
            payload=item.payload,
            agent_id=item.agent_id,
            external_id=item.external_id,
            **(item.facts or {}),
        )
        session.add(message)
        stored.append(message)
    session.flush()
    return stored


def messages_after(session: Session, conversation_id: str, after: int) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(Message.conversation_id == conversation_id, Message.seq > after).order_by(Message.seq)
        )
    )


def transition(session: Session, conversation_id: str, allowed: tuple[str, ...], **values: Any) -> bool:
    """Change the conversation only if its status is one of `allowed`. True if changed."""
    result = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.status.in_(allowed))
        .values(updated_at=now(), **values)
    )
    return result.rowcount == 1


def enqueue(session: Session, conversation_id: str, reason: str) -> bool:
    """Bot-owned -> queued, with a handoff record. False if already with humans."""
    queued = transition(
        session, conversation_id, ("bot", "resolved"), status="queued", queued_at=now(), agent_id=None, handed_over=True
    )
    if not queued:
        return False
    session.add(Handoff(conversation_id=conversation_id, reason=reason))
    return True


def open_handoff(session: Session, conversation_id: str) -> Handoff | None:
    return session.scalars(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.resolved_at.is_(None))
        .order_by(Handoff.id.desc())
        .limit(1)
    ).first()


def queue_position(session: Session, conversation: Conversation) -> int:
    """1 for the longest-waiting queued conversation."""
    return session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.status == "queued", Conversation.queued_at <= conversation.queued_at)
    )


def as_utc(moment: datetime) -> datetime:
    """Aware, in UTC (SQLite hands back naive datetimes; they are UTC too)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def customer_for(session: Session, channel: str, external_id: str) -> Customer:
    """The customer a channel knows by `external_id` (a Messenger user id, a widget
    visitor's token digest), created on first sight."""
    identity = session.scalar(
        select(CustomerIdentity).where(CustomerIdentity.channel == channel, CustomerIdentity.external_id == external_id)
    )
    if identity is not None:
        return session.get(Customer, identity.customer_id)
    customer = Customer(id=str(uuid.uuid4()))
    session.add(customer)
    session.flush()
    session.add(CustomerIdentity(customer_id=customer.id, channel=channel, external_id=external_id))
    session.flush()
    return customer


def agents_online(session: Session, within_seconds: float) -> int:
    """Active agents whose desk was heard from in the last `within_seconds` (presence:
    the desk's live connection and its requests update `Agent.last_seen_at`)."""
    since = now() - timedelta(seconds=within_seconds)
    return session.scalar(
        select(func.count()).select_from(Agent).where(Agent.active.is_(True), Agent.last_seen_at >= since)
    )


def seconds_since(moment: datetime) -> float:
    """Seconds from `moment` (stored, naive or aware) until now."""
    return (now() - as_utc(moment)).total_seconds()


def utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC."""
    if moment is None:
        return None
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def message_json(message: Message, names: dict[int, str] | None = None) -> dict[str, Any]:
    """A message as customers see it (the contract of the customer API). `html` is always
    safe to show as markup: the bot's markdown sanitised, anyone else's text escaped.
    `author` is the name of the agent who wrote it (from `names`, see `agent_names`)."""
    return {
        "seq": message.seq,
        "role": message.role,
        "text": message.text,
        "buttons": message.buttons or [],
        "source": {"id": message.source["id"], "title": message.source["title"]} if message.source else None,
        "html": to_safe_html(message.text) if message.role == "bot" else _text_html(message.text),
        "author": (names or {}).get(message.agent_id) if message.role == "agent" else None,
    }


def _text_html(text: str) -> str:
    return str(Markup("<br>").join(escape(text).split("\n")))


def agent_names(session: Session, messages: list[Message]) -> dict[int, str]:
    """The names of the agents who wrote these messages, for `message_json`."""
    ids = {m.agent_id for m in messages if m.agent_id is not None and m.role == "agent"}
    if not ids:
        return {}
    return {agent_id: name for agent_id, name in session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(ids)))}


# -- ratings (the customer's, after an agent resolved the conversation) -----------------


def last_resolved_handoff(session: Session, conversation_id: str) -> Handoff | None:
    return session.scalars(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.resolved_at.is_not(None))
        .order_by(Handoff.id.desc())
        .limit(1)
    ).first()


def current_rating(session: Session, conversation_id: str) -> Rating | None:
    """The rating of the conversation's last resolution, if the customer gave one."""
    rating = session.scalars(
        select(Rating).where(Rating.conversation_id == conversation_id).order_by(Rating.id.desc()).limit(1)
    ).first()
    handoff = last_resolved_handoff(session, conversation_id)
    if rating is None or (handoff is not None and as_utc(rating.created_at) < as_utc(handoff.resolved_at)):
        return None  # none yet, or one for an earlier resolution
    return rating


def rate(session: Session, conversation_id: str, score: int) -> Rating:
    """Store the customer's score for the agent who resolved the conversation last. One
    rating per resolution: pressing another score replaces the first."""
    rating = current_rating(session, conversation_id)
    if rating is None:
        handoff = last_resolved_handoff(session, conversation_id)
        rating = Rating(conversation_id=conversation_id, agent_id=handoff.resolved_by if handoff else None, score=score)
        session.add(rating)
    else:
        rating.score = score
    session.flush()
    return rating


def comment_rating(session: Session, conversation_id: str, comment: str) -> Rating | None:
    """Add the customer's comment to their rating; None if they gave no rating."""
    rating = current_rating(session, conversation_id)
    if rating is not None:
        rating.comment = comment
    return rating


def rate_nps(session: Session, conversation_id: str, score: int) -> Rating | None:
    """Add the customer's "would you recommend us" (0-10) to their rating. The bot asks
    it only after a rating, so without one (None) it is not stored: a row needs a CSAT
    score, and an invented one would skew the averages."""
    rating = current_rating(session, conversation_id)
    if rating is not None:
        rating.nps = score
    return rating
