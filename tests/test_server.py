"""The hub as it runs: gunicorn with the hub's gevent worker, over real sockets.

Every open chat widget and desk holds a long-poll; with one thread per connection a
few dozen of them froze the hub. These tests hold a thousand."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import time

import pytest
import requests

from scripts.bench_longpoll import new_conversations, open_long_polls, read_status, running_hub

CONNECTIONS = 1000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("server")) as running:
        yield running


def raw_request(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (what no HTTP client library would send) and parse the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        # The server answers and closes with part of the request unread: the close may
        # come as a reset once its answer is in.
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def assert_json_error(status: int, headers: dict[str, str], body: bytes, expected: int) -> None:
    assert status == expected, body
    assert headers["content-type"] == "application/json"
    error = json.loads(body)
    assert set(error) == {"error"} and isinstance(error["error"], str) and error["error"]


def wait_until_held(url: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while requests.get(f"{url}/health", timeout=10).json()["live_connections"] < count:
        assert time.monotonic() < deadline, "the hub did not take every long-poll"
        time.sleep(0.2)


def test_a_thousand_open_long_polls_do_not_slow_anything_else(server):
    url, _ = server
    conversations = new_conversations(url, CONNECTIONS + 1)
    sockets = open_long_polls(url, conversations[:-1])
    try:
        wait_until_held(url, CONNECTIONS)
        conversation_id, token = conversations[-1]
        worst = 0.0
        with requests.Session() as http:
            for i in range(10):
                started = time.perf_counter()
                assert http.get(f"{url}/health", timeout=5).status_code == 200
                response = http.post(
                    f"{url}/api/conversations/{conversation_id}/messages",
                    json={"text": f"pytanie {i}"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=5,
                )
                assert response.status_code == 200
                worst = max(worst, time.perf_counter() - started)
        assert worst < 1.0, f"a /health + message round took {worst:.2f} s with {CONNECTIONS} long-polls open"
        assert all(read_status(sock, 0) is None for sock in sockets[:50])  # still waiting, not dropped
    finally:
        for sock in sockets:
            sock.close()


def test_a_graceful_stop_answers_every_open_long_poll(tmp_path):
    with running_hub(tmp_path) as (url, process):
        sockets = open_long_polls(url, new_conversations(url, 200))
        wait_until_held(url, 200)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        statuses = [read_status(sock, 10) for sock in sockets]
        elapsed = time.monotonic() - started
        for sock in sockets:
            sock.close()
        assert process.wait(timeout=15) == 0
    assert statuses.count(200) == len(sockets), statuses
    assert elapsed < 5  # not the 25 s a long-poll may wait, nor gunicorn's graceful timeout


def test_an_over_long_url_is_414_json(server):
    url, _ = server
    assert_json_error(*raw_request(url, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"), 414)


def test_an_over_long_header_is_431_json(server):
    url, _ = server
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n"
    assert_json_error(*raw_request(url, request), 431)


def test_too_many_headers_is_431_json(server):
    url, _ = server
    headers = b"".join(b"X-H%d: 1\r\n" % i for i in range(200))
    assert_json_error(*raw_request(url, b"GET /health HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"), 431)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"NOT A REQUEST\r\n\r\n",
        b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n",
    ],
)
def test_a_malformed_request_is_400_json(server, request_bytes):
    url, _ = server
    assert_json_error(*raw_request(url, request_bytes), 400)
