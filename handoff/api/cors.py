"""CORS for the customer API (`/api/conversations...`) only: the website widget calls it
from the shop's pages, on another origin than the hub's.

Allowed origins come from `WIDGET_ORIGINS` (comma-separated, e.g.
"https://shop.example,https://www.shop.example"); by default none besides the hub's own
(a same-origin request needs no CORS). "*" allows every site: possible, not recommended
(any page could then start conversations in a visitor's browser).

An allowed origin gets `Access-Control-Allow-Origin: <that origin>` on its requests and
preflights (`OPTIONS`, answered 204 with the methods, headers and a max age); any other
gets no CORS headers, so the browser refuses to hand it the response. The API is
authenticated by bearer tokens, never cookies: no `Allow-Credentials`.
"""

from __future__ import annotations

from flask import Flask, Response, request

PREFIX = "/api/conversations"
ALLOW_METHODS = "GET, POST"
ALLOW_HEADERS = "Authorization, Content-Type"
MAX_AGE = "600"  # seconds a browser may reuse a preflight's answer


def register(app: Flask) -> None:
    origins = frozenset(app.extensions["faqbot"].settings.widget_origins)

    def _allowed(origin: str | None) -> bool:
        return bool(origin) and ("*" in origins or origin in origins)

    @app.before_request
    def preflight():
        if request.method != "OPTIONS" or not _is_customer_api(request.path):
            return None
        response = Response(status=204)
        origin = request.headers.get("Origin")
        if _allowed(origin) and request.headers.get("Access-Control-Request-Method"):
            response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = MAX_AGE
        return response  # the after_request below adds the origin (or not)

    @app.after_request
    def cors_headers(response: Response) -> Response:
        if not _is_customer_api(request.path):
            return response
        response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if _allowed(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
        return response


def _is_customer_api(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")
