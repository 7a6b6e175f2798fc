"""Stand-ins for the HTTP services a test does not test: Facebook's Graph API, the action
server (its `/search` and `/cluster`, or recording what Rasa sends it), a Rasa that refuses
messages or is too slow to answer.

They speak the real wire format (JSON bodies, the real paths and status codes) over a real
socket, so that what is under test (the hub, Rasa) goes through its real HTTP client,
timeouts and connection handling; only what is behind the socket is simple.

    class Search(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.reply(200, {"results": []})

    with StandIn(Search) as actions:
        app = make_app(..., actions_url=actions.url)
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler that reads and writes JSON, and keeps quiet: subclasses define
    `do_GET` / `do_POST` and answer with `reply`."""

    @property
    def route(self) -> str:
        """The request's path without its query string."""
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The query string's values, each a list, as `urllib.parse.parse_qs` gives them."""
        return parse_qs(urlsplit(self.path).query)

    def json_body(self) -> Any:
        """The request's JSON body; `{}` when there is none."""
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def reply(self, status: int, body: object) -> None:
        """Answer with `body` as JSON, with its length, as the real services do."""
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """No line on stderr per request: pytest's output stays the tests'."""


class StandIn:
    """`handler` served on 127.0.0.1 (any free port, or `port`) from a daemon thread, a
    thread per request, until `close()` or the end of the `with` block; `url` is its base
    URL, without a trailing slash.

    Request threads are daemons too, so closing never waits for one still sleeping or
    holding a kept-alive connection open (as Rasa's HTTP client does)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
