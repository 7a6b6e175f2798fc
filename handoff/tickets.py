"""Tickets: escalations that nobody can answer live (outside business hours, or no agent
online). The customer is told so plainly and asked for an e-mail address; the
conversation waits in the desk's queue like any other, marked `ticket`, and an agent
answers by e-mail later.

The customer's next message that holds an e-mail address fills `contact_email`. One
without an address gets the question once more, then nothing: a customer who does not
want to leave one is not nagged, and whatever they write is kept for the agent.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.payloads import OUT_OF_HOURS

from .hours import BusinessHours
from .models import Conversation, Customer, Message
from .store import NewMessage
from .texts import text as hub_text

MAX_EMAIL = 254  # RFC 5321's limit, and the column's
ASKED = "ask_email"  # `meta["ticket"]` of the system message that asked
ASKED_AGAIN = "ask_email_again"

# Pragmatic, not RFC 5322: what people type as their address, found inside a sentence
# ("mój mail to jan.kowalski@example.pl, dzięki").
_EMAIL = re.compile(
    r"(?<![\w.+-])([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})(?![\w-])"
)


def find_email(text: str) -> str | None:
    """The first e-mail address in the text, or None."""
    for match in _EMAIL.finditer(text):
        address = match.group(1)
        local = address.rsplit("@", 1)[0]
        if len(address) <= MAX_EMAIL and len(local) <= 64:
            return address
    return None


def ticket_notice(reason: str, hours: BusinessHours, known_email: str | None, language: str) -> NewMessage:
    """What the customer is told when the conversation becomes a ticket: why nobody
    answers now, and the e-mail question (or the address we will answer at)."""
    if reason == OUT_OF_HOURS:
        why = hub_text("ticket_out_of_hours", language, hours=hours.describe(language), timezone=hours.zone.key)
    else:
        why = hub_text("ticket_no_agent_online", language)
    if known_email:
        return NewMessage("system", f"{why} {hub_text('email_known', language, email=known_email)}")
    return NewMessage("system", f"{why} {hub_text('ask_email', language)}", meta={"ticket": ASKED})


def capture_email(session: Session, conversation: Conversation, text: str, language: str) -> list[NewMessage]:
    """The hub's reply to a customer's message in a ticket that still lacks an address:
    store the address it holds, or ask once more, or say nothing."""
    email = find_email(text)
    if email:
        conversation.contact_email = email
        if conversation.customer_id is not None:  # the customer's, for every later conversation
            session.get(Customer, conversation.customer_id).email = email
        return [NewMessage("system", hub_text("email_saved", language, email=email))]
    if _last_prompt(session, conversation.id) == ASKED:
        return [NewMessage("system", hub_text("email_again", language), meta={"ticket": ASKED_AGAIN})]
    return []


def _last_prompt(session: Session, conversation_id: str) -> str | None:
    """What the hub's latest system message asked for, if anything."""
    meta = session.scalar(
        select(Message.meta)
        .where(Message.conversation_id == conversation_id, Message.role == "system")
        .order_by(Message.seq.desc())
        .limit(1)
    )
    return (meta or {}).get("ticket") if isinstance(meta, dict) else None
