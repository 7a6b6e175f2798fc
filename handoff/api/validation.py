"""Request bodies: a 400 with a message for anything malformed, a 413 for anything too big."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge

from ..customer_text import clean
from .errors import ApiError


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that a body nested too deeply to parse is invalid JSON.

    `json.loads` raises RecursionError (not ValueError) at about 1,000 levels of nesting:
    2 KB of "[" would otherwise be a 500 from any `request.get_json`. As a ValueError it
    takes Flask's ordinary path for malformed JSON (None with `silent=True`, else a 400).
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def json_body(optional: bool = False) -> dict[str, Any]:
    if not _body():
        if optional:
            return {}
        raise ApiError(400, "expected a JSON body")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _body() -> bytes:
    """The request body, with MAX_CONTENT_LENGTH enforced on chunked bodies too.

    With a Content-Length over the limit werkzeug answers 413 itself. A chunked body has
    none: werkzeug reads it up to the limit and, if it goes on, silently stops there
    (LimitedStream.readall), so the JSON is cut and would be refused as malformed (400).
    A body that reaches the limit is therefore checked for one more byte.
    """
    data = request.get_data()
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit and _more_to_read():
        raise RequestEntityTooLarge()
    return data


def _more_to_read() -> bool:
    """Whether the client sent more than werkzeug read (from the server's own stream)."""
    return bool(request.environ["wsgi.input"].read(1))


def message_text(body: dict[str, Any], max_length: int) -> str:
    """The "text" of a message, cleaned (see `handoff.customer_text.clean`), as stored."""
    text = body.get("text")
    if not isinstance(text, str):
        raise ApiError(400, '"text" must be a non-empty string')
    if "\x00" in text:
        raise ApiError(400, '"text" must not contain NUL characters')
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, '"text" is not valid Unicode (a lone surrogate?)') from None
    text = clean(text)
    if not text:
        raise ApiError(400, '"text" must be a non-empty string (with something visible in it)')
    if len(text) > max_length:
        raise ApiError(413, f'"text" is longer than {max_length} characters')
    return text
