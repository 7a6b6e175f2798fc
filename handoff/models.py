"""What the hub stores: conversations, their one message history, agents, handoffs.

All state lives here, so that any number of hub processes can serve the same
conversations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

STATUSES = ("bot", "queued", "assigned", "resolved")
ROLES = ("customer", "bot", "agent", "system")
AGENT_ROLES = ("agent", "supervisor")


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # the agents' API token
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)  # the desk's login
    role: Mapped[str] = mapped_column(String(16), default="agent")  # one of AGENT_ROLES
    language: Mapped[str] = mapped_column(String(8), default="pl")  # of the desk's own texts
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # presence
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Customer(Base):
    """One person across conversations and channels: a widget visitor, a Messenger user,
    an e-mail left for a ticket. Agents see a customer's earlier conversations."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True, index=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class CustomerIdentity(Base):
    """How a channel knows a customer: a Messenger page-scoped id, a widget visitor's
    token digest. One customer may have several."""

    __tablename__ = "customer_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20), default="web")
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="bot", index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), nullable=True, index=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Channels that push (Messenger): the last seq delivered to the customer's channel.
    delivered_seq: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    # Customer messages from this seq on wait for the bot (it was starting or away);
    # the hub answers them in order when it is back, or hands over after a while.
    bot_pending_from: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bot_pending_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    # A ticket: escalated when no agent could answer live (outside business hours, nobody
    # online); agents answer later, by the e-mail address the customer left.
    ticket: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # Reporting facts, written when they happen so that reports are SQL aggregates:
    # ever handed to humans (not contained by the bot), and whether the same customer
    # came back with a new conversation within 72 hours (not resolved at first contact).
    handed_over: Mapped[bool] = mapped_column(Boolean, default=False)
    followed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("conversation_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)  # sent to Rasa instead of text
    buttons: Mapped[list[Any] | None] = mapped_column(nullable=True)
    source: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    meta: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)  # what the bot understood/tried
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    # The channel's own id of an incoming message (Messenger's `mid`): a re-delivery of the
    # same webhook is recognised and answered once.
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)
    # Reporting facts. A bot reply: how long the customer waited for it (ms), what the bot
    # decided (answer, clarify, fallback, handoff, chosen) and the FAQ entry it served.
    # A FAQ answer: what followed it, if it did not help (handoff, not_helpful, repeat).
    # A customer message the bot could not answer: why (fallback, handoff, low_confidence).
    reply_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    faq_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    gap: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)


class Handoff(Base):
    """One stay in the queue: why, when, who took it, when it ended."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    # An agent's first reply in this stay: the agent first-response time in reports.
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Note(Base):
    """An agent's internal note on a conversation: never shown to the customer."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Rating(Base):
    """A customer's rating (1-5) at the end of a conversation, for the agent who resolved
    it (None: the bot alone), with an optional comment."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True, index=True)
    score: Mapped[int] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 0-10, when NPS_ENABLED asks for it
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
