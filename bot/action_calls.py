"""What Rasa sends to the action server, and how: installed by bot/run_rasa.py before
Rasa starts, so that a reply costs the same at the 100th message as at the 2nd.

Rasa 3.6 as shipped, on every custom action call:
- sends the tracker with every event of the conversation (`EventVerbosity.ALL`): the
  request, its JSON on both sides and rasa-sdk's `Tracker` grow with each message;
- turns the whole domain into a dict and JSON again, though it never changes while a
  model is loaded;
- opens a new aiohttp session, so a new TCP connection, for each call;
- builds a JSON-schema validator for the action server's answer from scratch.

Here instead:
- the tracker carries its current state (slots, latest message, active loop, latest
  action) and only the events of the current turn, from the latest user message on,
  at most MAX_EVENTS. This project's actions read the latest message, its entities and
  slots (bot/actions), never older events; an action that did would have to ask for them;
- the domain's JSON is made once per loaded domain and spliced into the request;
- one session per endpoint (and event loop) keeps its connections open;
- the validator is built once; answers are still validated.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger(__name__)

MAX_EVENTS = 100  # a turn is a handful of events; this only bounds a pathological one
KEEPALIVE_SECONDS = 2.0  # below Sanic's keep-alive timeout (5 s) on the action server


def turn_events(events: Any) -> list[Any]:
    """The events from the latest user message on (all of them if there is none), at
    most MAX_EVENTS, oldest first."""
    from rasa.shared.core.events import UserUttered

    tail = []
    for event in reversed(events):
        tail.append(event)
        if isinstance(event, UserUttered) or len(tail) >= MAX_EVENTS:
            break
    tail.reverse()
    return tail


def tracker_state(tracker: Any) -> dict[str, Any]:
    """The tracker as the action server needs it: current state plus the current turn."""
    from rasa.shared.core.trackers import EventVerbosity

    state = tracker.current_state(EventVerbosity.NONE)
    state["events"] = [e.as_dict() for e in turn_events(tracker.events)]
    return state


_DOMAIN_JSON: dict[int, tuple[Any, str]] = {}  # id(domain) -> (domain, its JSON): a model holds one


def domain_json(domain: Any) -> str:
    """The domain's JSON, made once per domain object (the id is kept with the object,
    so a reused id of a freed domain cannot return a stale one)."""
    cached = _DOMAIN_JSON.get(id(domain))
    if cached is None or cached[0] is not domain:
        _DOMAIN_JSON.clear()  # a new model: the old domain is no longer needed
        cached = _DOMAIN_JSON[id(domain)] = (domain, json.dumps(domain.as_dict()))
    return cached[1]


class PreparedBody(dict):
    """The action call as a dict (what Rasa's plugins and logging may look at), with its
    JSON made from the cached domain JSON rather than by serialising the domain again."""

    def __init__(self, call: dict[str, Any], domain: Any | None) -> None:
        super().__init__(call)
        self.domain = domain

    def to_json(self) -> str:
        body = json.dumps(dict(self))
        if self.domain is None:
            return body
        return f'{body[:-1]}, "domain": {domain_json(self.domain)}}}'


def install() -> None:
    """Patch Rasa's RemoteAction and EndpointConfig (idempotent)."""
    import aiohttp
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    if getattr(RemoteAction, "_faqbot_patched", False):
        return
    RemoteAction._faqbot_patched = True

    def _action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> dict[str, Any]:
        import rasa

        call = {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": tracker_state(tracker),
            "version": rasa.__version__,
        }
        needs_domain = not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(
            self.name()
        )
        return PreparedBody(call, domain if needs_domain else None)

    RemoteAction._action_call_format = _action_call_format

    validators: dict[str, Any] = {}

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        from jsonschema import ValidationError
        from jsonschema.validators import validator_for
        from rasa.shared.constants import DOCS_BASE_URL

        validator = validators.get("action")
        if validator is None:
            schema = self.action_response_format_spec()
            validator = validators["action"] = validator_for(schema)(schema)
        try:
            validator.validate(result)
            return True
        except ValidationError as e:
            e.message += (
                ". Failed to validate Action server response from API, make sure your response from the Action "
                f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise e

    RemoteAction._validate_action_result = _validate_action_result

    original_request = EndpointConfig.request
    sessions: dict[tuple[int, int], aiohttp.ClientSession] = {}

    def shared_session(self: EndpointConfig) -> Any:
        """`async with endpoint.session()` without closing: one session per endpoint and loop."""
        import asyncio

        key = (id(self), id(asyncio.get_running_loop()))
        session = sessions.get(key)
        if session is None or session.closed:
            session = sessions[key] = _new_session(self)

        @asynccontextmanager
        async def kept_open() -> AsyncIterator[aiohttp.ClientSession]:
            yield session

        return kept_open()

    def _new_session(self: EndpointConfig) -> aiohttp.ClientSession:
        from rasa.utils import endpoints

        auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
        timeout = aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT)
        # Idle connections close on this side first: the action server (Sanic) closes them
        # after 5 s, and a request written into a connection it is closing fails.
        connector = aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS)
        return aiohttp.ClientSession(headers=self.headers, auth=auth, timeout=timeout, connector=connector)

    async def request(self: EndpointConfig, *args: Any, **kwargs: Any) -> Any:
        body = kwargs.get("json")
        if isinstance(body, PreparedBody):  # an action call: our JSON, sent as is
            del kwargs["json"]
            kwargs["data"] = body.to_json().encode()
        return await original_request(self, *args, **kwargs)

    EndpointConfig.session = shared_session
    EndpointConfig.request = request
    log.debug("Rasa patched: bounded action calls, cached domain JSON, kept-open sessions")
