"""Request bodies: a 400 with a message for anything malformed."""

from __future__ import annotations

from typing import Any

from flask import request

from .errors import ApiError


def json_body(optional: bool = False) -> dict[str, Any]:
    if not request.get_data():
        if optional:
            return {}
        raise ApiError(400, "expected a JSON body")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def message_text(body: dict[str, Any], max_length: int) -> str:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, '"text" must be a non-empty string')
    text = text.strip()
    if len(text) > max_length:
        raise ApiError(413, f'"text" is longer than {max_length} characters')
    if "\x00" in text:
        raise ApiError(400, '"text" must not contain NUL characters')
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, '"text" is not valid Unicode (a lone surrogate?)') from None
    return text
