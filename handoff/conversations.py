"""A customer's message, from any channel: stored first, then answered by the bot while
the bot owns the conversation, or left for the agents once humans do.

If Rasa or the action server fails, the message is already stored; the customer is told
at once and the conversation goes to the queue, so nothing is lost and nobody is left
without an answer.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from knowledge.text import detect_language

from . import store
from .bot_replies import BotTurn, interpret
from .config import HubSettings
from .db import Database
from .events import conversation_channel, notify
from .models import Conversation, Message
from .pubsub import PubSub
from .rasa_client import BotUnavailable, RasaClient
from .security import digest, new_token
from .store import NewMessage
from .texts import text as hub_text

log = logging.getLogger(__name__)


@dataclass
class Turn:
    status: str
    messages: list[Message]


class Conversations:
    def __init__(self, settings: HubSettings, db: Database, rasa: RasaClient, pubsub: PubSub) -> None:
        self.settings = settings
        self.db = db
        self.rasa = rasa
        self.pubsub = pubsub

    def start(self, channel: str = "web", language: str | None = None) -> tuple[Conversation, str]:
        """A new conversation and the token that alone gives access to it (shown once)."""
        token = new_token()
        with self.db.transaction() as session:
            conversation = Conversation(
                id=str(uuid.uuid4()),
                token_hash=digest(token),
                channel=channel,
                language=language or self.settings.default_language,
                status="bot",
            )
            session.add(conversation)
        return conversation, token

    def receive(self, conversation_id: str, text: str) -> Turn:
        with self.db.transaction() as session:
            conversation = store.get(session, conversation_id)
            shown, payload = _pressed_button(session, conversation_id, text)
            language = detect_language(shown, conversation.language)
            (customer_message,) = store.append(
                session, conversation_id, [NewMessage("customer", shown, payload=payload, meta={"language": language})]
            )
            conversation.language = language  # a customer may switch languages mid-chat
            with_humans = conversation.status in ("queued", "assigned")
            if conversation.status == "resolved":
                store.transition(session, conversation_id, ("resolved",), status="bot", agent_id=None)
        notify(self.pubsub, conversation_id, with_humans)
        if with_humans:
            return Turn(conversation.status, [])
        return self._ask_bot(conversation, customer_message, payload or text, language)

    def _ask_bot(self, conversation: Conversation, customer_message: Message, text: str, language: str) -> Turn:
        metadata = {"language": language, "channel": conversation.channel}
        try:
            turn = interpret(self.rasa.send(conversation.id, text, metadata), language, self.settings.default_language)
            if not turn.messages:  # Rasa up, but the action server failed behind it
                raise BotUnavailable("the bot produced no reply")
        except BotUnavailable as exc:
            log.error("conversation %s: %s; handing over to agents", conversation.id, exc)
            return self._bot_failed(conversation, language)
        understood = self.rasa.understanding(conversation.id)
        return self._store_bot_turn(conversation, customer_message, turn, understood, language)

    def _store_bot_turn(
        self,
        conversation: Conversation,
        customer_message: Message,
        turn: BotTurn,
        understood: dict[str, Any] | None,
        language: str,
    ) -> Turn:
        new = [
            NewMessage("bot", m.text, m.buttons, m.source, {"retrieval": m.retrieval} if m.retrieval else None)
            for m in turn.messages
        ]
        with self.db.transaction() as session:
            if understood:
                stored_customer = session.get(Message, customer_message.id)
                stored_customer.meta = {**(stored_customer.meta or {}), "nlu": understood}
            messages = store.append(session, conversation.id, new)
            if turn.handoff_reason:
                messages += self._enqueue(session, conversation.id, turn.handoff_reason, language)
            status = store.get(session, conversation.id).status
        notify(self.pubsub, conversation.id, queue_changed=bool(turn.handoff_reason))
        return Turn(status, messages)

    def _bot_failed(self, conversation: Conversation, language: str) -> Turn:
        with self.db.transaction() as session:
            messages = store.append(
                session, conversation.id, [NewMessage("system", hub_text("bot_unavailable", language))]
            )
            messages += self._enqueue(session, conversation.id, "bot_unavailable", language)
            status = store.get(session, conversation.id).status
        notify(self.pubsub, conversation.id, queue_changed=True)
        return Turn(status, messages)

    def _enqueue(self, session, conversation_id: str, reason: str, language: str) -> list[Message]:
        """Queue the conversation and tell the customer where they stand."""
        if not store.enqueue(session, conversation_id, reason):
            return []
        position = store.queue_position(session, store.get(session, conversation_id))
        note = NewMessage("system", hub_text("queue_position", language, position=position))
        return store.append(session, conversation_id, [note])

    def messages_after(self, conversation_id: str, after: int, wait: float = 0.0) -> Turn:
        """Messages after `after`; with `wait`, hold until one arrives (long-poll)."""
        wait = max(0.0, min(wait, self.settings.long_poll_max))
        if wait == 0:
            return self._read(conversation_id, after)
        with self.pubsub.subscribe(conversation_channel(conversation_id)) as events:
            turn = self._read(conversation_id, after)
            if not turn.messages and events.get(timeout=wait) is not None:
                turn = self._read(conversation_id, after)
        return turn

    def _read(self, conversation_id: str, after: int) -> Turn:
        with self.db.transaction() as session:
            conversation = store.get(session, conversation_id)
            return Turn(conversation.status, store.messages_after(session, conversation_id, after))


def _pressed_button(session, conversation_id: str, text: str) -> tuple[str, str | None]:
    """A button the bot offered, sent back as its payload: shown by its title in the
    transcript, sent to Rasa as the payload. Anything else is plain text."""
    if not text.startswith("/"):
        return text, None
    offered = session.scalars(
        select(Message.buttons)
        .where(Message.conversation_id == conversation_id, Message.role == "bot", Message.buttons.is_not(None))
        .order_by(Message.seq.desc())
        .limit(3)
    )
    for buttons in offered:
        for button in buttons or []:
            if button.get("payload") == text:
                return button.get("title") or text, text
    return text, None
