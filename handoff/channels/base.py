"""One shape for every customer channel, as Rasa's connectors have it.

- The input side is the channel's own blueprint: it turns the channel's requests into a
  customer message for `Conversations.receive` (web: the widget's JSON API; Messenger:
  the webhook).
- The output side is an `OutputChannel`: it delivers the bot's, agents' and the hub's
  (system) messages to the customer in the channel's format. Channels whose customers
  read the history themselves (the web widget long-polls) do not push
  (`pushes = False`); the others (Messenger) get every stored bot/agent/system message
  through `handoff.delivery.Delivery`, which listens for the event published after each
  transaction that stored messages (`handoff.events.notify`).

A new channel (e-mail, WhatsApp) is one more module in this package with a `blueprint`
(its input) and an `output(settings)` factory (its output): `outputs()` finds it, and
neither the conversations, the desk nor the delivery change.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..config import HubSettings
from ..models import Message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    """Whom a conversation's messages go to, in the channel's terms."""

    conversation_id: str
    channel: str
    external_id: str | None  # the channel's id of the customer (Messenger's PSID)
    last_customer_at: datetime | None  # when the customer last wrote (messaging windows)


class DeliveryRefused(Exception):
    """The channel's rules forbid sending this message (e.g. Messenger's 7-day limit for
    agents): it is skipped with a WARNING in the log, never retried."""


class OutputChannel(Protocol):
    name: str
    pushes: bool  # False: the customer reads the history (web); nothing is sent

    def deliver(self, recipient: Recipient, message: Message) -> None:
        """Send one message; raise on failure (it is retried later), or
        `DeliveryRefused` if the channel's rules forbid it."""

    def can_reply(self, recipient: Recipient) -> str | None:
        """Why an agent's reply could not reach the customer now (None: it can)."""


class WebOutput:
    """The widget reads the history (`GET .../messages`, long-poll): nothing to push."""

    name = "web"
    pushes = False

    def deliver(self, recipient: Recipient, message: Message) -> None:  # pragma: no cover - never called
        return None

    def can_reply(self, recipient: Recipient) -> str | None:
        return None


def outputs(settings: HubSettings) -> dict[str, OutputChannel]:
    """Every channel module's output side, by channel name (`output(settings)` in each
    module of this package; a module without one has none)."""
    found: dict[str, OutputChannel] = {"web": WebOutput()}
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in ("base", "web"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        factory = getattr(module, "output", None)
        if factory is not None:
            channel = factory(settings)
            found[channel.name] = channel
    return found
