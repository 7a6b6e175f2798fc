"""Security headers on every response of the hub: its pages (the desk, the demo page)
and its APIs.

- `X-Content-Type-Options: nosniff` and `Referrer-Policy: same-origin` everywhere;
- on HTML: `X-Frame-Options: DENY` and, unless the page set its own (the desk's pages
  do, see handoff/desk/pages.py), a Content-Security-Policy that loads only the hub's own
  files and forbids inline script, plugins and framing.

Everything is `setdefault`: a blueprint's own choice is kept.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def register(app: Flask) -> None:
    app.after_request(security_headers)


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response
