"""The hub's gunicorn worker: gevent, so that open connections are cheap.

Every open chat widget and desk holds a long-poll. With threads, each one holds a
thread, and a few dozen froze the hub; a greenlet per connection costs a few kilobytes,
so a worker holds thousands while other requests are answered as fast as with none.

Two things gunicorn does not do for us:
- On a graceful stop (SIGTERM), the open long-polls answer at once with what there is,
  instead of being cut when the graceful timeout runs out.
- Errors gunicorn answers itself, before the application sees the request (an over-long
  URL or header, a malformed request), are JSON `{"error": ...}` like every other error
  of the hub, not HTML.
"""

from __future__ import annotations

import json

import gevent
from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's `util.write_error`, with a JSON body."""
    body = json.dumps({"error": f"{reason}: {mesg}" if mesg else reason}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


# gunicorn calls this from one place (Worker.handle_error) and offers no hook for it.
util.write_error = write_json_error


class HubWorker(GeventWorker):
    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)  # stop accepting; gunicorn waits for open requests
        hub = getattr(self.wsgi, "extensions", {}).get("faqbot")
        if hub is not None:
            gevent.spawn(hub.shutdown)  # out of the signal handler
