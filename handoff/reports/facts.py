"""Reporting facts written when they happen, inside the transaction that stores the turn,
so that reports are plain SQL aggregates (handoff/reports/figures.py) and never have to
re-read transcripts:

- on each bot message: what the bot decided (`answer`, `clarify`, `fallback` from
  retrieval; `chosen` for a clarification button pressed; `handoff`; `ask_rating`), the
  FAQ entry it served, and on the first one of a turn how long the customer waited;
- on the customer's message the bot could not answer, why (`gap`): `handoff` (the bot
  tried the FAQ, then handed over), `fallback`, or `low_confidence` (a clarification
  whose best candidate scored below the answer threshold: the bot was guessing, not
  choosing between two good answers);
- on the FAQ answer just before, when what follows says it did not help (`outcome`):
  `repeat` (the next question got the same entry again: as an answer, as the hand-over
  the bot makes instead of repeating itself, or at the head of a clarification),
  `not_helpful` (a hand-over for frustration: "that didn't help", swearing, shouting),
  `handoff` (any other hand-over).

Costs on the reply path: the bot messages' facts go into their INSERT; one UPDATE at
most for an answer (did it repeat the previous one?), for a gap, and for an outcome.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from bot.payloads import FRUSTRATION

from .. import store
from ..bot_replies import BotMessage, BotTurn
from ..models import Conversation, Message, now

RATE_PAYLOAD = "/rate"  # the rating question's buttons (bot/actions/rating.py)
FAQ_DECISIONS = ("answer", "chosen")
FOLLOW_UP_HOURS = 72  # a new conversation this soon means the earlier one did not settle it


def decision_of(message: BotMessage, hands_over: bool) -> str | None:
    """What the bot did with this message (None: small talk, thanks, notices)."""
    if hands_over:
        return "handoff"
    if any(str(b.get("payload", "")).startswith(RATE_PAYLOAD) for b in message.buttons):
        return "ask_rating"
    decision = (message.retrieval or {}).get("decision")
    if decision in ("answer", "clarify", "fallback"):
        return decision
    if message.source and message.source.get("id"):
        return "chosen"  # a clarification button: the entry's answer, without a search
    return None


def message_facts(turn: BotTurn, customer_message: Message | None) -> list[dict[str, Any]]:
    """The facts of each bot message of `turn`, to store with it: `decision`, `faq_id`,
    and `reply_ms` on the first (since the customer's message was stored)."""
    facts = []
    last = len(turn.messages) - 1
    for index, message in enumerate(turn.messages):
        decision = decision_of(message, bool(turn.handoff_reason) and index == last)
        fact: dict[str, Any] = {"decision": decision}
        if decision in FAQ_DECISIONS:
            fact["faq_id"] = str(message.source["id"])[:100] if message.source else None
        facts.append(fact)
    if facts and customer_message is not None and customer_message.created_at is not None:
        facts[0]["reply_ms"] = max(0, round(store.seconds_since(customer_message.created_at) * 1000))
    return facts


def gap_of(turn: BotTurn) -> str | None:
    """Why the customer's message was not answered from the FAQ (None: it was, or it
    was no question: a greeting, a request for a person)."""
    retrieval = _retrieval(turn)
    if retrieval is None:
        return None
    if turn.handoff_reason:
        return "handoff"
    decision = retrieval.get("decision")
    if decision == "fallback":
        return "fallback"
    if decision == "clarify":
        best = max((c.get("score", 0.0) for c in retrieval.get("candidates") or []), default=0.0)
        threshold = (retrieval.get("thresholds") or {}).get("answer")
        if threshold is not None and best < threshold:
            return "low_confidence"
    return None


def record_turn(
    session: Session, conversation_id: str, customer_message: Message | None, turn: BotTurn, stored: list[Message]
) -> None:
    """The facts that concern earlier messages: the customer's gap, the previous FAQ
    answer's outcome, and whom a rating question asks about."""
    for message in stored:
        if message.decision == "ask_rating":
            # The agent who resolved the conversation last (None: the bot), as store.rate
            # attributes the rating: so that response rates compare like with like.
            handoff = store.last_resolved_handoff(session, conversation_id)
            message.agent_id = handoff.resolved_by if handoff else None
    if customer_message is None:
        return
    gap = gap_of(turn)
    if gap:
        session.execute(update(Message).where(Message.id == customer_message.id).values(gap=gap))
    _mark_previous_answer(session, conversation_id, customer_message.seq, turn, stored)


def _mark_previous_answer(
    session: Session, conversation_id: str, before_seq: int, turn: BotTurn, stored: list[Message]
) -> None:
    """Set the outcome of the bot's last decision before this turn, if that was a FAQ
    answer and this turn says it did not help. One UPDATE, with the lookup as a subquery."""
    repeated = _same_entry(turn, stored)
    if turn.handoff_reason:
        otherwise = "not_helpful" if turn.handoff_reason == FRUSTRATION else "handoff"
        outcome: Any = otherwise if repeated is None else case((Message.faq_id == repeated, "repeat"), else_=otherwise)
        extra = []
    elif repeated is not None:
        outcome, extra = "repeat", [Message.faq_id == repeated]
    else:
        return
    previous = (
        select(Message.id)
        .where(
            Message.conversation_id == conversation_id,
            Message.role == "bot",
            Message.decision.is_not(None),
            Message.seq < before_seq,
        )
        .order_by(Message.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    session.execute(
        update(Message)
        .where(Message.id == previous, Message.decision.in_(FAQ_DECISIONS), Message.outcome.is_(None), *extra)
        .values(outcome=outcome)
        .execution_options(synchronize_session=False)
    )


def _same_entry(turn: BotTurn, stored: list[Message]) -> str | None:
    """The entry this turn answered with (or, handing over, would have: the bot hands
    over instead of giving the same answer twice), to compare with the previous one."""
    for message in stored:
        if message.decision in FAQ_DECISIONS and message.faq_id:
            return message.faq_id
    retrieval = _retrieval(turn)
    if retrieval is None:
        return None
    # Handing over instead of the same answer, or offering a choice led by the same entry:
    # the customer asked about it again.
    decision = retrieval.get("decision")
    if (turn.handoff_reason and decision == "answer") or (not turn.handoff_reason and decision == "clarify"):
        candidates = retrieval.get("candidates") or []
        if candidates and candidates[0].get("id"):
            return str(candidates[0]["id"])
    return None


def _retrieval(turn: BotTurn) -> dict[str, Any] | None:
    return next((m.retrieval for m in turn.messages if isinstance(m.retrieval, dict)), None)


def mark_followed_up(session: Session, customer_id: str, conversation_id: str) -> None:
    """The customer is back: their conversations started in the previous 72 hours were
    not resolved at first contact. One UPDATE, when a conversation starts."""
    since = now() - timedelta(hours=FOLLOW_UP_HOURS)
    session.execute(
        update(Conversation)
        .where(
            Conversation.customer_id == customer_id,
            Conversation.id != conversation_id,
            Conversation.created_at >= since,
            Conversation.followed_up.is_(False),
        )
        .values(followed_up=True)
        .execution_options(synchronize_session=False)
    )
