"""A customer's message, from any channel: stored first, then answered by the bot while
the bot owns the conversation, or left for the agents once humans do.

Nothing is lost and nobody is left without an answer when the bot is away:
- while it is starting or being restarted, messages wait for it: the customer is told so
  at once, and the background loop (`answer_waiting`) answers them in order as soon as
  it is back; past the patience set in the settings, agents take over;
- if the bot is up but fails on a message, the conversation goes to the agents at once.

A queued customer is told their place and expected wait (handoff/waiting.py), both
updated on the long-poll. When nobody can answer live (business hours, agents online:
handoff/hours.py) the conversation becomes a ticket and the customer is asked for an
e-mail address (handoff/tickets.py). After an agent resolves it, the bot asks for a
rating (`ask_for_rating`), stored per conversation and agent.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from werkzeug.exceptions import NotFound

from bot.payloads import BOT_UNAVAILABLE, HubMetadata
from knowledge.text import detect_language

from . import metrics, store, tickets, waiting
from .bot_health import BotHealth
from .bot_replies import BotTurn, interpret
from .config import HubSettings
from .customer_text import for_rasa
from .db import Database
from .events import QUEUE_CHANNEL, conversation_channel, notify
from .hours import BusinessHours, why_no_live_help
from .models import Conversation, Message, now
from .pubsub import PubSub
from .rasa_client import BotUnavailable, RasaClient
from .reports.facts import mark_followed_up, message_facts, record_turn
from .security import digest, new_token
from .store import NewMessage
from .texts import duration
from .texts import text as hub_text
from .waiting import Standing

log = logging.getLogger(__name__)

RESOLVED_INTENT = "/conversation_resolved"  # the hub's own intent: customers cannot send it (for_rasa)


@dataclass
class Turn:
    status: str
    messages: list[Message]
    waiting_for_bot: bool = False
    queue: Standing | None = None  # while queued: place and expected wait


class Conversations:
    def __init__(
        self, settings: HubSettings, db: Database, rasa: RasaClient, pubsub: PubSub, health: BotHealth
    ) -> None:
        self.settings = settings
        self.db = db
        self.rasa = rasa
        self.pubsub = pubsub
        self.health = health
        self.closing = threading.Event()  # set on shutdown: long-polls answer at once
        # Read once: a typo in BUSINESS_HOURS stops the hub at start, with the reason.
        self.hours = BusinessHours.parse(settings.business_hours, settings.timezone)

    def start(
        self, channel: str = "web", language: str | None = None, customer_id: str | None = None
    ) -> tuple[Conversation, str]:
        """A new conversation and the token that alone gives access to it (shown once).
        `customer_id` ties it to a customer known from earlier conversations or another
        channel (see `store.customer_for`)."""
        token = new_token()
        with self.db.transaction() as session:
            conversation = Conversation(
                id=str(uuid.uuid4()),
                token_hash=digest(token),
                channel=channel,
                language=language or self.settings.default_language,
                status="bot",
                customer_id=customer_id,
            )
            session.add(conversation)
            if customer_id is not None:
                mark_followed_up(session, customer_id, conversation.id)  # their earlier ones: not FCR
        return conversation, token

    def receive(self, conversation_id: str, text: str, external_id: str | None = None) -> Turn:
        """`external_id`: the channel's id of the message (Messenger's `mid`), unique: a
        re-delivered message raises IntegrityError and nothing is stored twice."""
        with self.db.transaction() as session:
            conversation = store.get(session, conversation_id)
            shown, payload = _pressed_button(session, conversation_id, text)
            language = _language_of(shown, conversation.language)
            (customer_message,) = store.append(
                session,
                conversation_id,
                [NewMessage("customer", shown, payload=payload, meta={"language": language}, external_id=external_id)],
            )
            conversation.language = language  # a customer may switch languages mid-chat
            with_humans = self._with_humans(session, conversation, shown, language)
            if conversation.status == "resolved":
                store.transition(session, conversation_id, ("resolved",), status="bot", agent_id=None)
            behind_others = conversation.bot_pending_from is not None
        notify(self.pubsub, conversation_id, with_humans is not None)
        if with_humans is not None:
            return with_humans
        if behind_others:  # earlier messages wait for the bot: this one is answered after them
            return Turn("bot", [], waiting_for_bot=True)
        if not self.health.ready_now():
            return self._wait_for_bot(conversation_id, customer_message.seq, language)
        return self._ask_bot(conversation, customer_message, language)

    def _with_humans(self, session, conversation: Conversation, text: str, language: str) -> Turn | None:
        """The reply to a message while humans own the conversation (None if they do not):
        the bot stays silent; a ticket still without an address takes one from it."""
        if conversation.status not in ("queued", "assigned"):
            return None
        replies = []
        if _needs_email(conversation):
            replies = store.append(
                session, conversation.id, tickets.capture_email(session, conversation, text, language)
            )
        return self._turn(session, conversation.id, replies)

    def _ask_bot(self, conversation: Conversation, customer_message: Message, language: str) -> Turn:
        text = customer_message.payload or for_rasa(customer_message.text)
        metadata = HubMetadata(
            language=language,
            channel=conversation.channel,
            nps=self.settings.nps_enabled,  # after a rating: "would you recommend us?" (bot/actions/nps.py)
            handed_over=conversation.handed_over,  # ever with a person: the bot asks no rating of its own
        ).to_json()
        try:
            exchange = self.rasa.exchange(conversation.id, text, metadata)  # replies and what Rasa understood
            turn = interpret(exchange.replies, language, self.settings.default_language)
            if not turn.messages:  # Rasa up, but the action server failed behind it
                raise BotUnavailable("the bot produced no reply", dependency="action_server")
            self.health.answered()
        except BotUnavailable as exc:
            metrics.dependency_error(exc.dependency)
            if self.health.check().ready:  # up, yet it failed on this message: agents take it
                log.error("conversation %s: %s; handing over to agents", conversation.id, exc)
                return self._hand_over(conversation.id, language)
            log.warning("conversation %s: %s; the bot is away, the message waits for it", conversation.id, exc)
            return self._wait_for_bot(conversation.id, customer_message.seq, language)
        return self._store_bot_turn(conversation, customer_message, turn, exchange.understood, language)

    def _store_bot_turn(
        self,
        conversation: Conversation,
        customer_message: Message | None,
        turn: BotTurn,
        understood: dict[str, Any] | None,
        language: str,
    ) -> Turn:
        facts = message_facts(turn, customer_message)  # decision, FAQ entry, reply time: for reports
        new = [
            NewMessage("bot", m.text, m.buttons, m.source, {"retrieval": m.retrieval} if m.retrieval else None, facts=f)
            for m, f in zip(turn.messages, facts, strict=True)
        ]
        with self.db.transaction() as session:
            if understood and customer_message is not None:
                stored_customer = session.get(Message, customer_message.id)
                stored_customer.meta = {**(stored_customer.meta or {}), "nlu": understood}
            messages = store.append(session, conversation.id, new)
            record_turn(session, conversation.id, customer_message, turn, messages)  # gap, outcome of the last answer
            if turn.rating is not None:
                store.rate(session, conversation.id, turn.rating)
            if turn.rating_comment is not None:
                store.comment_rating(session, conversation.id, turn.rating_comment)
            if turn.nps is not None:
                store.rate_nps(session, conversation.id, turn.nps)
            if turn.handoff_reason:
                messages += self._enqueue(session, conversation.id, turn.handoff_reason, language)
            result = self._turn(session, conversation.id, messages)
        notify(self.pubsub, conversation.id, queue_changed=bool(turn.handoff_reason))
        metrics.observe_reply(turn, customer_message)  # /metrics: the reply-time histogram
        return result

    # -- after an agent resolved the conversation -------------------------------------

    def ask_for_rating(self, conversation_id: str, agent_id: int) -> None:
        """The bot takes the conversation back and asks the customer to rate the agent's
        help (1-5, as buttons; then an optional comment). Called by the desk after its
        resolve is committed: it never fails the agent's request, and a bot that is away
        just means no rating is asked. The rating is stored for the agent who resolved
        the conversation (the last handoff's `resolved_by`), when the customer answers."""
        try:
            with self.db.transaction() as session:
                conversation = store.get(session, conversation_id)
                if conversation.status not in ("resolved", "bot"):
                    return  # back with humans already
            if not self.health.ready_now():
                log.info("conversation %s: the bot is away; no rating asked", conversation_id)
                return
            metadata = {
                "language": conversation.language,
                "channel": conversation.channel,
                "agent_id": agent_id,
                "nps": self.settings.nps_enabled,  # after the rating: "would you recommend us?" (0-10)
            }
            replies = self.rasa.send(conversation_id, RESOLVED_INTENT, metadata)
            turn = interpret(replies, conversation.language, self.settings.default_language)
            if turn.messages:
                self._store_bot_turn(conversation, None, turn, None, conversation.language)
        except BotUnavailable as exc:
            metrics.dependency_error(exc.dependency)
            log.warning("conversation %s: no rating asked: %s", conversation_id, exc)
        except Exception:  # the resolve is committed: nothing here may turn it into an error
            log.exception("conversation %s: asking for a rating failed", conversation_id)

    # -- while the bot is away -------------------------------------------------------

    def _patience(self) -> float:
        """How long messages may wait for the bot: longer for a start than an outage."""
        return self.settings.bot_wait_max if self.health.ever_ready else self.settings.bot_start_max

    def _wait_for_bot(self, conversation_id: str, seq: int, language: str) -> Turn:
        """Keep the customer's message for the bot, and say so; agents take over at once
        if the settings allow no wait."""
        if self._patience() <= 0:
            return self._hand_over(conversation_id, language)
        notice = "bot_starting" if self.health.phase() == "starting" else "bot_delayed"
        with self.db.transaction() as session:
            held = session.execute(
                update(Conversation)
                .where(
                    Conversation.id == conversation_id,
                    Conversation.status == "bot",
                    Conversation.bot_pending_from.is_(None),
                )
                .values(bot_pending_from=seq, bot_pending_since=now())
            ).rowcount
            messages = store.append(session, conversation_id, [NewMessage("system", hub_text(notice, language))])
            turn = self._turn(session, conversation_id, messages, waiting_for_bot=bool(held))
        notify(self.pubsub, conversation_id)
        return turn

    def answer_waiting(self) -> int:
        """Answer the messages that wait for the bot if it is back, or hand their
        conversations to agents once they have waited too long. Returns how many
        conversations it took up. Run every second by the hub's background loop; safe
        in several hub processes at once (each conversation is claimed by one UPDATE)."""
        with self.db.transaction() as session:
            waiting = session.execute(
                select(Conversation.id, Conversation.bot_pending_from, Conversation.bot_pending_since)
                .where(Conversation.bot_pending_since.is_not(None))
                .order_by(Conversation.bot_pending_since)
                .limit(100)
            ).all()
        if not waiting:
            return 0
        ready = self.health.ready
        patience = self._patience()
        taken = 0
        for conversation_id, from_seq, since in waiting:
            if ready:
                taken += self._resume(conversation_id, from_seq)
            elif store.seconds_since(since) > patience:
                taken += self._give_up(conversation_id, from_seq)
        return taken

    def _claim_waiting(self, session, conversation_id: str, from_seq: int) -> bool:
        return (
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.bot_pending_from == from_seq)
                .values(bot_pending_from=None, bot_pending_since=None)
            ).rowcount
            == 1
        )

    def _resume(self, conversation_id: str, from_seq: int) -> bool:
        with self.db.transaction() as session:
            if not self._claim_waiting(session, conversation_id, from_seq):
                return False  # another hub process took it
            conversation = store.get(session, conversation_id)
            waiting = list(
                session.scalars(
                    select(Message)
                    .where(
                        Message.conversation_id == conversation_id,
                        Message.role == "customer",
                        Message.seq >= from_seq,
                    )
                    .order_by(Message.seq)
                )
            )
        for message in waiting:
            language = (message.meta or {}).get("language") or conversation.language
            turn = self._ask_bot(conversation, message, language)
            if turn.status != "bot" or turn.waiting_for_bot:
                break  # agents have it now, or the bot went away again: the rest waits with it
        return True

    def _give_up(self, conversation_id: str, from_seq: int) -> bool:
        with self.db.transaction() as session:
            if not self._claim_waiting(session, conversation_id, from_seq):
                return False
            language = store.get(session, conversation_id).language
        log.error("conversation %s: the bot did not come back in time; handing over to agents", conversation_id)
        self._hand_over(conversation_id, language)
        return True

    def _hand_over(self, conversation_id: str, language: str) -> Turn:
        """The bot cannot answer: tell the customer and queue the conversation."""
        with self.db.transaction() as session:
            messages = store.append(
                session, conversation_id, [NewMessage("system", hub_text("bot_unavailable", language))]
            )
            messages += self._enqueue(session, conversation_id, BOT_UNAVAILABLE, language)
            turn = self._turn(session, conversation_id, messages)
        notify(self.pubsub, conversation_id, queue_changed=True)
        return turn

    def _enqueue(self, session, conversation_id: str, reason: str, language: str) -> list[Message]:
        """Queue the conversation and tell the customer where they stand. If nobody can
        answer live (outside business hours, no agent online), it is a ticket: the
        handoff's reason says why (`out_of_hours`, `no_agent_online`), and the customer
        is asked for an e-mail address. The reason that escalated it is kept on the notice."""
        unavailable = why_no_live_help(self.hours, store.agents_online(session, self.settings.presence_timeout))
        if not store.enqueue(session, conversation_id, unavailable or reason):
            return []
        conversation = store.get(session, conversation_id)
        conversation.ticket = unavailable is not None
        if unavailable:
            note = tickets.ticket_notice(unavailable, self.hours, conversation.contact_email, language)
            note.meta = {**(note.meta or {}), "escalated_for": reason}
        else:
            note = NewMessage("system", _standing_text(waiting.standing(session, conversation), language))
        return store.append(session, conversation_id, [note])

    def _turn(self, session, conversation_id: str, messages: list[Message], waiting_for_bot: bool = False) -> Turn:
        """The reply to the customer: what was said, and where the conversation stands now."""
        conversation = store.get(session, conversation_id)
        return Turn(conversation.status, messages, waiting_for_bot, waiting.standing(session, conversation))

    # -- reading ---------------------------------------------------------------------

    def replies_to(self, conversation_id: str, external_id: str) -> Turn:
        """For a message the channel sent again (same `external_id`): the stored message
        and what followed it (no reply yet while the bot is still on it: it then comes as
        any other). The message itself is included, so that a widget that also reads the
        history shows it once, whichever answer comes first."""
        with self.db.transaction() as session:
            stored = select(Message.seq).where(
                Message.conversation_id == conversation_id, Message.external_id == external_id
            )
            seq = session.scalar(stored)
        if seq is None:
            raise NotFound()
        return self._read(conversation_id, seq - 1)

    def messages_after(self, conversation_id: str, after: int, wait: float = 0.0) -> Turn:
        """Messages after `after`; with `wait`, hold until one arrives, or, while the
        conversation is queued, until its place in the queue (or its status) changes
        (long-poll). A shutdown answers every waiting long-poll at once, with what there is."""
        wait = max(0.0, min(wait, self.settings.long_poll_max))
        first = self._read(conversation_id, after)
        if wait == 0 or first.messages or self.closing.is_set():
            return first
        deadline = time.monotonic() + wait
        # Only a queued conversation follows the queue: a thousand chats with the bot must
        # not all wake whenever an agent takes someone else's.
        channels = [conversation_channel(conversation_id)] + ([QUEUE_CHANNEL] if first.status == "queued" else [])
        with self.pubsub.subscribe(*channels) as events:
            turn = self._read(conversation_id, after)  # again: something may have happened before subscribing
            while not _news(first, turn) and not self.closing.is_set():
                left = deadline - time.monotonic()
                if left <= 0 or events.get(timeout=left) is None:
                    break
                turn = self._read(conversation_id, after)  # woken: re-read (a wake-up may be spurious)
        return turn

    def _read(self, conversation_id: str, after: int) -> Turn:
        with self.db.transaction() as session:
            conversation = store.get(session, conversation_id)
            return Turn(
                conversation.status,
                store.messages_after(session, conversation_id, after),
                waiting_for_bot=conversation.bot_pending_from is not None,
                queue=waiting.standing(session, conversation),
            )


def _news(before: Turn, now_: Turn) -> bool:
    """What wakes a long-poll: new messages, another status, or another place or wait."""
    return bool(now_.messages) or now_.status != before.status or now_.queue != before.queue


def _needs_email(conversation: Conversation) -> bool:
    """A ticket still waiting in the queue without an address to answer at."""
    return conversation.status == "queued" and conversation.ticket and not conversation.contact_email


def _standing_text(standing: Standing | None, language: str) -> str:
    position = standing.position if standing else 1
    if standing is None or standing.expected_wait_seconds is None:
        return hub_text("queue_position_no_estimate", language, position=position)
    wait = duration(standing.expected_wait_seconds, language)
    return hub_text("queue_position", language, position=position, wait=wait)


def _language_of(text: str, current: str) -> str:
    """The language of a message: a customer may switch mid-chat, but a typed command
    (`/request_human`) is no sentence, and its English words must not switch a Polish chat."""
    if text.lstrip().startswith("/"):
        return current
    return detect_language(text, current)


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
