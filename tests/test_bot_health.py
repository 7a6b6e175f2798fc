"""A bot too busy to answer its health check, but replying to customers, is up; one that
refuses connections is down at once, whatever it answered a moment ago."""

from __future__ import annotations

import socket
import time

import pytest

from handoff import bot_health
from handoff.bot_health import BotHealth

from .stand_in import JsonHandler, StandIn


class _Slow(JsonHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        time.sleep(bot_health.CHECK_TIMEOUT + 0.5)
        self.reply(200, {})


@pytest.fixture
def slow_url():
    with StandIn(_Slow) as slow:
        yield slow.url


def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_timed_out_check_is_down_when_the_bot_has_not_replied(slow_url):
    state = BotHealth(slow_url, "", slow_url).check()
    assert not state.ready
    assert state.rasa.timed_out and "timed out" in state.rasa.detail


def test_a_bot_that_just_replied_is_up_though_its_check_timed_out(slow_url):
    health = BotHealth(slow_url, "", slow_url)
    health.answered()
    state = health.check()
    assert state.ready
    assert "busy" in state.rasa.detail and "busy" in state.actions.detail


def test_a_reply_long_ago_does_not_keep_a_silent_bot_up(slow_url):
    health = BotHealth(slow_url, "", slow_url)
    health.answered()
    health.answered_at -= bot_health.ANSWERED_RECENTLY + 1
    assert not health.check().ready


def test_a_refused_connection_is_down_even_right_after_a_reply():
    url = closed_url()
    health = BotHealth(url, "", url)
    health.answered()
    state = health.check()
    assert not state.ready
    assert not state.rasa.timed_out
