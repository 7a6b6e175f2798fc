"""Rasa remembers the last turns of a conversation, not all of it: installed by
bot/run_rasa.py before Rasa starts, so that the 100th message costs what the 2nd does.

Rasa 3.6's in-memory tracker store keeps every event of a conversation as JSON, and on
each message parses them all back into objects and replays them; its policies then turn
the whole history into states before looking at the last few. All of that grows with the
conversation: profiled at message 100, loading the tracker was 40% of Rasa's time.

Nothing here needs the whole history from Rasa: the hub keeps the transcript (the desk,
reports), and this assistant's rules span a turn or two (data/rules.yml; the policies
look at a few turns at most). So when a conversation holds more than
KEEP_TURNS + SLACK_TURNS user messages, what is stored starts KEEP_TURNS messages back,
behind a session start that carries the slot values of that moment, as Rasa itself does
when a session starts with slots carried over. Trimming in steps of SLACK_TURNS keeps
its own cost off most messages.

Also: Rasa looks up each event's class by name by listing every subclass of `Event`,
for every event it deserialises; the answer is remembered here.
"""

from __future__ import annotations

import json
from typing import Any

KEEP_TURNS = 8  # user messages kept: comfortably more than any rule or policy looks back
SLACK_TURNS = 8  # trimmed once this many more have piled up


def _slot_values(events: list[Any]) -> dict[str, Any]:
    """Slot values after `events`, from the events themselves (the stored list is
    already short, so this stays cheap)."""
    from rasa.shared.core.events import AllSlotsReset, Restarted, SessionStarted, SlotSet

    values: dict[str, Any] = {}
    for event in events:
        if isinstance(event, (SessionStarted, Restarted, AllSlotsReset)):
            values.clear()  # each resets the slots; carried-over values follow as SlotSet
        elif isinstance(event, SlotSet):
            values[event.key] = event.value
    return values


def bounded(events: list[Any]) -> list[Any]:
    """`events`, or, past KEEP_TURNS + SLACK_TURNS user messages, the last KEEP_TURNS
    of them behind a session start carrying the slots' values at the cut."""
    from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
    from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered

    users = [i for i, event in enumerate(events) if isinstance(event, UserUttered)]
    if len(users) <= KEEP_TURNS + SLACK_TURNS:
        return events
    cut = users[-KEEP_TURNS]
    at = events[cut].timestamp
    head = [
        ActionExecuted(ACTION_SESSION_START_NAME, timestamp=at),
        SessionStarted(timestamp=at),
        *(SlotSet(name, value, timestamp=at) for name, value in _slot_values(events[:cut]).items()),
        ActionExecuted(ACTION_LISTEN_NAME, timestamp=at),
    ]
    return head + events[cut:]


def install() -> None:
    """Patch Rasa's in-memory tracker store and event lookup (idempotent)."""
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.conversation import Dialogue
    from rasa.shared.core.events import Event

    if getattr(InMemoryTrackerStore, "_faqbot_patched", False):
        return
    InMemoryTrackerStore._faqbot_patched = True

    async def save(self: InMemoryTrackerStore, tracker: Any) -> None:
        await self.stream_events(tracker)
        dialogue = Dialogue(tracker.sender_id, bounded(list(tracker.events)))
        self.store[tracker.sender_id] = json.dumps(dialogue.as_dict())

    InMemoryTrackerStore.save = save

    resolve = Event.resolve_by_type
    classes: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: type | None = None) -> type | None:
        cls = classes.get(type_name)
        if cls is None:
            cls = resolve(type_name, default)
            if cls is not None and cls is not default:
                classes[type_name] = cls
        return cls

    Event.resolve_by_type = staticmethod(resolve_by_type)
