"""Facebook Messenger, on the Messenger Platform's own terms.

Input (`blueprint`, under /webhooks/messenger):
- `GET`: the webhook's verification; `hub.challenge` is answered only for
  `hub.mode=subscribe` with the right `hub.verify_token` (MESSENGER_VERIFY_TOKEN), else 403.
- `POST`: `X-Hub-Signature-256` must be the HMAC-SHA256 of the raw body with the app
  secret (MESSENGER_APP_SECRET), compared in constant time, else 403 and nothing is
  read. The request is acknowledged with 200 at once; every messaging item of every
  entry is then handled out of the request, in order (`Inbox`): echoes of the page's own
  messages, read and delivery receipts are ignored; text, quick replies (their payload)
  and postbacks (their payload) become the customer's message. A quick reply's payload is
  the payload of the bot's button, so it acts as that button exactly like on the web.
  Facebook re-sends a batch until it gets its 200: each message is stored with its
  `mid` (`Message.external_id`, unique), so a re-delivered one is answered once.
- Each Messenger user (PSID) is a customer (`store.customer_for`); their messages go to
  their latest Messenger conversation, whatever its state (bot, queued, with an agent,
  resolved: the same states as the web's).

Output (`MessengerOutput`, used by handoff/delivery.py for bot, agent and system
messages alike): the Send API. Replies go as `messaging_type: RESPONSE`; buttons become
quick replies (at most 13, titles cut to 20 characters); text is split at 2000
characters. A typing indicator is shown while the bot works. Messenger's window: within
24 h of the customer's last message anything may be sent; an agent's message later than
that goes with the `HUMAN_AGENT` tag, up to 7 days; after that the desk refuses the
reply (`can_reply`). Bot and system messages never carry the tag.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
from datetime import datetime, timedelta
from typing import Any

import requests
from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import hub, store
from ..config import HubSettings
from ..customer_text import clean
from ..models import Conversation, Message, now
from .base import DeliveryRefused, Recipient

log = logging.getLogger(__name__)

NAME = "messenger"
RESPONSE_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20
MAX_BATCH_BYTES = 1024 * 1024
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")

blueprint = Blueprint("messenger_channel", __name__, url_prefix="/webhooks/messenger")


# -- input ---------------------------------------------------------------------------


@blueprint.get("")
def verify():
    settings = hub().settings
    token = request.args.get("hub.verify_token", "")
    expected = settings.messenger_verify_token
    if (
        request.args.get("hub.mode") == "subscribe"
        and expected
        and hmac.compare_digest(token.encode(), expected.encode())
    ):
        return Response(request.args.get("hub.challenge", ""), 200, mimetype="text/plain")
    return {"error": "verification failed"}, 403


@blueprint.post("")
def webhook():
    secret = hub().settings.messenger_app_secret
    request.max_content_length = MAX_BATCH_BYTES  # a batch may be larger than a widget's message
    body = request.get_data()
    signature = request.headers.get("X-Hub-Signature-256", "")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not secret or not hmac.compare_digest(signature.encode(), expected.encode()):
        return {"error": "bad signature"}, 403
    try:
        payload = json.loads(body)
    except ValueError:
        return {"error": "the body is not JSON"}, 400
    items = _messaging_items(payload)
    if items:
        inbox(current_app).submit(items)
    return Response("EVENT_RECEIVED", 200, mimetype="text/plain")


def _messaging_items(payload: Any) -> list[dict[str, Any]]:
    """Every messaging item of every entry of a page's batch, in order."""
    if not isinstance(payload, dict) or payload.get("object") != "page":
        return []
    items = []
    for entry in payload.get("entry") or []:
        if isinstance(entry, dict):
            items.extend(item for item in entry.get("messaging") or [] if isinstance(item, dict))
    return items


def inbox(app) -> Inbox:
    return app.extensions["faqbot_messenger"]


def init_messenger(app, hub_) -> Inbox:
    """Register the webhook and its inbox on `app`."""
    app.extensions["faqbot_messenger"] = box = Inbox(hub_, app.extensions)
    app.register_blueprint(blueprint)
    return box


class Inbox:
    """Handles webhook items out of the request: a thread per batch (a greenlet under
    gunicorn's gevent worker), items in order."""

    def __init__(self, hub_, extensions: dict[str, Any]) -> None:
        self.hub = hub_
        self.extensions = extensions  # the app's: the delivery service's output shows typing
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def submit(self, items: list[dict[str, Any]]) -> None:
        thread = threading.Thread(target=self._run, args=(items,), name="messenger-inbox", daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def drain(self, timeout: float = 30.0) -> None:
        """Wait for the batches being handled (tests, shutdown)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _run(self, items: list[dict[str, Any]]) -> None:
        try:
            for item in items:
                try:
                    self.handle(item)
                except Exception:
                    log.exception("messenger: a webhook item failed: %s", _describe(item))
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def handle(self, item: dict[str, Any]) -> None:
        """One messaging item: a customer's text, quick reply or postback."""
        sender = str((item.get("sender") or {}).get("id") or "")
        message, postback = item.get("message"), item.get("postback")
        if isinstance(message, dict):
            if message.get("is_echo"):
                return  # the page's own message (ours, or sent from the Page inbox)
            mid = message.get("mid")
            quick = message.get("quick_reply")
            text = (quick or {}).get("payload") if isinstance(quick, dict) else None
            text = text or message.get("text") or _attachments(message.get("attachments"))
        elif isinstance(postback, dict):
            mid = postback.get("mid")
            text = postback.get("payload") or postback.get("title")
        else:
            return  # delivery and read receipts, reactions...
        if not sender or not isinstance(text, str) or not (text := clean(text)):
            log.info("messenger: ignored an item without text (%s)", _describe(item))
            return
        text = text[: self.hub.settings.max_message_length]
        mid = str(mid) if mid else None
        found = self._conversation_for(sender, mid)
        if found is None:
            return  # already handled
        conversation_id, bot_answers = found
        delivery = self.extensions.get("faqbot_delivery")
        output = delivery.channels.get(NAME) if delivery is not None else None
        if bot_answers and output is not None:
            output.typing(sender)
        try:
            self.hub.conversations.receive(conversation_id, text, external_id=mid)
        except IntegrityError:  # handled meanwhile by another request (a re-delivery)
            log.info("messenger: message %s already handled", mid)

    def _conversation_for(self, psid: str, mid: str | None) -> tuple[str, bool] | None:
        """The customer's latest Messenger conversation (a new one on first contact) and
        whether the bot answers it; None if this message was handled already."""
        for attempt in range(2):
            try:
                with self.hub.db.transaction() as session:
                    if mid and session.scalar(select(Message.id).where(Message.external_id == mid)) is not None:
                        log.info("messenger: message %s already handled", mid)
                        return None
                    customer = store.customer_for(session, NAME, psid)
                    customer_id = customer.id
                    latest = session.execute(
                        select(Conversation.id, Conversation.status)
                        .where(Conversation.customer_id == customer_id, Conversation.channel == NAME)
                        .order_by(Conversation.created_at.desc())
                        .limit(1)
                    ).first()
                break
            except IntegrityError:  # the same new customer created by a concurrent request
                if attempt:
                    raise
        if latest is None:
            conversation, _token = self.hub.conversations.start(NAME, None, customer_id=customer_id)
            return conversation.id, True
        return latest.id, latest.status in ("bot", "resolved")


def _attachments(attachments: Any) -> str | None:
    """A message without text (a photo, a file, a sticker) as a line per attachment,
    "[image] <url>", so that the agents see it was sent (the URLs are Facebook's)."""
    if not isinstance(attachments, list):
        return None
    lines = []
    for attachment in attachments:
        if isinstance(attachment, dict):
            url = (attachment.get("payload") or {}).get("url") if isinstance(attachment.get("payload"), dict) else None
            lines.append(f"[{attachment.get('type') or 'attachment'}] {url or ''}".strip())
    return "\n".join(lines) or None


def _describe(item: dict[str, Any]) -> str:
    return ", ".join(sorted(k for k in item if k not in ("sender", "recipient")))


# -- output ----------------------------------------------------------------------------


class SendError(RuntimeError):
    pass


class MessengerOutput:
    """The Send API (`POST {graph}/me/messages?access_token=...`)."""

    name = NAME

    def __init__(self, graph_url: str, page_token: str, timeout: float = 10.0) -> None:
        self.url = graph_url.rstrip("/") + "/me/messages"
        self.page_token = page_token
        # Without a page token nothing can be sent: a hub without Messenger then runs no
        # delivery listener and does no delivery work per message.
        self.pushes = bool(page_token)
        self.timeout = timeout
        self.http = requests.Session()

    def deliver(self, recipient: Recipient, message: Message) -> None:
        if not recipient.external_id:
            raise DeliveryRefused("the conversation has no Messenger user")
        kind = _messaging_type(message.role, recipient.last_customer_at, now())
        chunks = _split(_for_messenger(message.text) if message.role == "bot" else message.text)
        quick_replies = _quick_replies(message.buttons)
        for index, chunk in enumerate(chunks):
            body: dict[str, Any] = {"recipient": {"id": recipient.external_id}, **kind, "message": {"text": chunk}}
            if quick_replies and index == len(chunks) - 1:
                body["message"]["quick_replies"] = quick_replies
            self._post(body)

    def typing(self, psid: str) -> None:
        """`typing_on` while the bot works (best effort: a failure only costs the dots)."""
        try:
            self._post({"recipient": {"id": psid}, "sender_action": "typing_on"})
        except Exception as exc:
            log.info("messenger: typing indicator not shown: %s", exc)

    def can_reply(self, recipient: Recipient) -> str | None:
        try:
            _messaging_type("agent", recipient.last_customer_at, now())
        except DeliveryRefused as exc:
            return str(exc)
        return None

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.http.post(
                self.url, params={"access_token": self.page_token}, json=body, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise SendError(f"Send API unreachable: {exc}") from exc
        if response.status_code != 200:
            raise SendError(f"Send API answered {response.status_code}: {response.text[:300]}")
        try:
            return response.json()
        except ValueError:
            return {}


def _messaging_type(role: str, last_customer_at: datetime | None, moment: datetime) -> dict[str, str]:
    """Messenger's rules for a message sent at `moment`."""
    age = moment - last_customer_at if last_customer_at is not None else None
    if age is not None and age <= RESPONSE_WINDOW:
        return {"messaging_type": "RESPONSE"}
    if role == "agent" and age is not None and age <= HUMAN_AGENT_WINDOW:
        return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    if role == "agent":
        raise DeliveryRefused(
            "Messenger allows no reply more than 7 days after the customer's last message: "
            "this customer can only be answered after writing again"
        )
    raise DeliveryRefused("more than 24 hours after the customer's last message: Messenger allows no bot message")


def _for_messenger(markdown: str) -> str:
    """The bot's markdown as Messenger shows it: *bold*, and links as "title (url)"."""
    text = _BOLD.sub(lambda m: f"*{m.group(1) or m.group(2)}*", markdown)
    return _LINK.sub(lambda m: m.group(1) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})", text)


def _split(text: str) -> list[str]:
    """Messenger's 2000-character limit: at a line break or space where possible."""
    chunks = []
    while len(text) > MAX_TEXT:
        cut = max(text.rfind("\n", 0, MAX_TEXT), text.rfind(" ", 0, MAX_TEXT))
        cut = cut if cut > MAX_TEXT // 2 else MAX_TEXT
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    chunks.append(text)
    return [c for c in chunks if c] or [""]


def _quick_replies(buttons: list[dict[str, str]] | None) -> list[dict[str, str]]:
    replies = []
    for button in (buttons or [])[:MAX_QUICK_REPLIES]:
        title, payload = button.get("title") or "", button.get("payload") or button.get("title") or ""
        if not payload:
            continue
        title = title if len(title) <= MAX_QUICK_REPLY_TITLE else title[: MAX_QUICK_REPLY_TITLE - 1] + "…"
        replies.append({"content_type": "text", "title": title, "payload": payload})
    return replies


def output(settings: HubSettings) -> MessengerOutput:
    """This channel's output side (found by `channels.base.outputs`)."""
    return MessengerOutput(settings.messenger_graph_url, settings.messenger_page_token)
