"""What the bot says, read from the domain's responses in the customer's language.

Responses are custom payloads `{text: {pl: ..., en: ...}}` (see bot/domain.yml), so the
texts live in one place for Rasa's own responses and for these actions."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from bot.payloads import Button, HubMetadata
from knowledge.text import detect_language

DEFAULT_LANGUAGE = "pl"
HUMAN_PAYLOAD = "/request_human"


def language_of(tracker: Tracker) -> str:
    """The language the hub detected for this message; a guess from the text otherwise
    (e.g. `rasa shell`, which sends no metadata)."""
    language = hub_metadata(tracker).language
    if language:
        return language
    return detect_language(tracker.latest_message.get("text") or "", DEFAULT_LANGUAGE)


def hub_metadata(tracker: Tracker) -> HubMetadata:
    """What the hub says of the latest message (bot/payloads.py); defaults without a hub."""
    return HubMetadata.from_metadata(tracker.latest_message.get("metadata"))


def say(domain: dict[str, Any], response: str, language: str) -> str:
    variants = (domain.get("responses") or {}).get(response) or [{}]
    texts = (variants[0].get("custom") or {}).get("text") or variants[0].get("text") or ""
    if isinstance(texts, str):
        return texts
    return texts.get(language) or texts.get(DEFAULT_LANGUAGE) or next(iter(texts.values()), "")


def human_button(domain: dict[str, Any], language: str, response: str = "utter_button_human") -> Button:
    return Button(say(domain, response, language), HUMAN_PAYLOAD)
