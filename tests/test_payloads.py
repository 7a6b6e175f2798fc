"""bot/payloads.py, the payloads the actions and the hub exchange: what the actions send
reads back the same on the hub's side, the wire format is the one the hub has always
read, malformed replies are read as tolerantly as before, and the hub's per-message
metadata has safe defaults. No Rasa, no knowledge base: the real round trip through Rasa
is in tests/test_rating.py, tests/test_nps.py and tests/test_reply_path.py.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.handoff import ActionHandoff, hand_over_frustrated
from bot.payloads import (
    BOT,
    CUSTOMER_REQUEST,
    FRUSTRATION,
    HANDOFF_REASONS,
    REPEATED_MISSES,
    BotReply,
    Button,
    Handoff,
    HubMetadata,
)
from handoff.bot_replies import interpret

from .conftest import ROOT

RETRIEVAL = {"query": "zwrot", "language": "pl", "decision": "answer", "candidates": [], "kb_version": 3}
SOURCE = {"id": "zwroty", "title": "Zwroty", "language": "pl", "path": "zwroty.md"}
DOMAIN = {
    "responses": {
        "utter_handoff": [{"custom": {"text": {"pl": "Przekazuję.", "en": "Passing it on."}}}],
        "utter_handoff_frustration": [{"custom": {"text": {"pl": "Przepraszam.", "en": "Sorry."}}}],
    }
}


# -- the module itself --------------------------------------------------------------------------------


def test_the_module_needs_nothing_but_the_standard_library():
    """The action server and the hub both import it: it must pull in neither side's stack."""
    tree = ast.parse((ROOT / "bot" / "payloads.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0}
    assert imported and all(name.split(".")[0] in sys.stdlib_module_names for name in imported), imported
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, bot.payloads; print(' '.join(sys.modules))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    heavy = {"rasa", "rasa_sdk", "flask", "torch", "sqlalchemy", "knowledge", "handoff", "pydantic"}
    assert not heavy & {name.split(".")[0] for name in loaded}


def test_the_reasons_are_the_ones_the_desk_has_labels_for():
    from handoff.desk.texts import TEXTS

    assert {CUSTOMER_REQUEST, REPEATED_MISSES, FRUSTRATION, BOT} <= HANDOFF_REASONS
    assert {"customer_request", "repeated_misses", "frustration", "bot_unavailable"} <= HANDOFF_REASONS
    labelled = {key.removeprefix("reason_") for key in TEXTS if key.startswith("reason_")}
    assert HANDOFF_REASONS - {BOT} <= labelled  # "bot" (no reason given) is shown as "reason not known"


# -- what the actions send -----------------------------------------------------------------------------


def test_the_wire_format_is_the_one_the_hub_has_always_read():
    """Same keys in the same order as the dicts the actions used to build by hand."""
    rate = BotReply(text="Dzięki!", buttons=[Button("Bez komentarza", "/no_comment")], rating=4)
    assert json.dumps(rate.to_json()) == json.dumps(
        {"text": "Dzięki!", "buttons": [{"title": "Bez komentarza", "payload": "/no_comment"}], "rating": {"score": 4}}
    )
    misses = BotReply(text="Przekazuję.", handoff=Handoff(REPEATED_MISSES), retrieval=RETRIEVAL)
    assert json.dumps(misses.to_json()) == json.dumps(
        {"text": "Przekazuję.", "handoff": {"reason": "repeated_misses"}, "retrieval": RETRIEVAL}
    )
    answer = BotReply(text="Masz 14 dni.", source=SOURCE, retrieval=RETRIEVAL)
    assert json.dumps(answer.to_json()) == json.dumps(
        {"text": "Masz 14 dni.", "source": SOURCE, "retrieval": RETRIEVAL}
    )
    assert BotReply(text="ok", rating_comment="miła pani").to_json() == {"text": "ok", "rating_comment": "miła pani"}
    assert BotReply(text="Dzięki!", nps=9).to_json() == {"text": "Dzięki!", "nps": {"score": 9}}


def test_empty_fields_are_left_out_but_a_score_of_zero_is_not():
    assert BotReply().to_json() == {}
    assert BotReply(text="x", buttons=[], source=None, retrieval={}, rating_comment="").to_json() == {"text": "x"}
    assert BotReply(text="x", nps=0).to_json() == {"text": "x", "nps": {"score": 0}}
    assert Handoff(FRUSTRATION).to_json() == {"reason": "frustration"}
    assert Handoff(FRUSTRATION, "shouting").to_json() == {"reason": "frustration", "signal": "shouting"}


@pytest.mark.parametrize(
    "reply",
    [
        BotReply(text="Masz 14 dni.", source=SOURCE, retrieval=RETRIEVAL),
        BotReply(text={"pl": "Cześć", "en": "Hi"}, buttons=[Button({"pl": "Tak", "en": "Yes"}, "/affirm")]),
        BotReply(text="Przepraszam.", handoff=Handoff(FRUSTRATION, "swearing"), retrieval=RETRIEVAL),
        BotReply(text="Przekazuję.", handoff=Handoff(CUSTOMER_REQUEST)),
        BotReply(text="Dzięki!", buttons=[Button("Bez komentarza", "/no_comment")], rating=1),
        BotReply(text="ok", rating_comment="szybko i miło"),
        BotReply(text="Dzięki!", nps=0),
        BotReply(text="Dzięki!", nps=10),
    ],
)
def test_what_an_action_sends_the_hub_reads_back(reply):
    assert BotReply.from_json({"custom": reply.to_json()}) == reply  # as Rasa's REST channel wraps it
    assert BotReply.from_json(json.loads(json.dumps(reply.to_json()))) == reply  # and unwrapped


def test_the_handoff_actions_send_what_they_sent_before():
    tracker = Tracker(
        "c1", {}, {"text": "poproszę konsultanta", "metadata": {"language": "en"}}, [], False, None, {}, None
    )
    dispatcher = CollectingDispatcher()
    ActionHandoff().run(dispatcher, tracker, DOMAIN)
    assert [m["custom"] for m in dispatcher.messages] == [
        {"text": "Passing it on.", "handoff": {"reason": "customer_request"}}
    ]
    dispatcher = CollectingDispatcher()
    hand_over_frustrated(dispatcher, DOMAIN, "pl", "same_answer_again", RETRIEVAL)
    assert [m["custom"] for m in dispatcher.messages] == [
        {
            "text": "Przepraszam.",
            "handoff": {"reason": "frustration", "signal": "same_answer_again"},
            "retrieval": RETRIEVAL,
        }
    ]
    turn = interpret(dispatcher.messages, "pl")
    assert (turn.handoff_reason, turn.messages[0].text, turn.messages[0].retrieval) == (
        "frustration",
        "Przepraszam.",
        RETRIEVAL,
    )


# -- what the hub reads ---------------------------------------------------------------------------------


def test_plain_rasa_text_replies_and_custom_payloads_are_both_read():
    assert BotReply.from_json({"recipient_id": "c1", "text": "Cześć"}) == BotReply(text="Cześć")
    assert BotReply.from_json({"recipient_id": "c1", "custom": {"text": "Cześć"}}) == BotReply(text="Cześć")
    turn = interpret(
        [{"text": "Cześć"}, {"custom": {"text": {"pl": "Jak mogę pomóc?", "en": "How can I help?"}}}], "en"
    )
    assert [m.text for m in turn.messages] == ["Cześć", "How can I help?"]
    # a language the text is not in: the default one, else any
    assert interpret([{"custom": {"text": {"pl": "Tak", "en": "Yes"}}}], "de").messages[0].text == "Tak"
    assert interpret([{"custom": {"text": {"en": "Yes"}}}], "de").messages[0].text == "Yes"


@pytest.mark.parametrize(
    ("rating", "nps"),
    [
        ({"score": 0}, {"score": 11}),
        ({"score": 6}, {"score": -1}),
        ({"score": "5"}, {"score": "9"}),
        ({"score": True}, {"score": True}),
        ({"score": 4.0}, {"score": 9.0}),
        (5, 9),
        (None, None),
        ([{"score": 5}], [{"score": 9}]),
    ],
)
def test_what_is_not_a_score_is_ignored(rating, nps):
    reply = BotReply.from_json({"custom": {"text": "Dzięki!", "rating": rating, "nps": nps}})
    assert (reply.rating, reply.nps, reply.text) == (None, None, "Dzięki!")
    turn = interpret([{"custom": {"text": "Dzięki!", "rating": rating, "nps": nps}}], "pl")
    assert (turn.rating, turn.nps, [m.text for m in turn.messages]) == (None, None, ["Dzięki!"])


def test_malformed_parts_are_left_out_and_the_rest_kept():
    reply = BotReply.from_json(
        {
            "custom": {
                "text": "Który?",
                "buttons": ["/request_human", None, 3, {"title": "Zwroty", "payload": "/choose_entry"}, {"title": "?"}],
                "source": "zwroty.md",
                "retrieval": ["not", "an", "object"],
                "rating_comment": "   ",
                "handoff": "yes please",
            }
        }
    )
    assert reply == BotReply(text="Który?", buttons=[Button("Zwroty", "/choose_entry"), Button("?", "")])
    assert BotReply.from_json({"custom": {"text": "x", "buttons": "abc"}}).buttons == []
    assert BotReply.from_json({"custom": {"text": "x", "buttons": {"title": "t"}}}).buttons == []
    assert BotReply.from_json({"custom": {"text": "x", "rating_comment": 5}}).rating_comment is None
    assert BotReply.from_json({"custom": "not an object", "text": "x"}) == BotReply(text="x")
    assert BotReply.from_json({"text": None}) == BotReply()
    assert BotReply.from_json({"text": 42}) == BotReply(text="42")
    assert BotReply.from_json(None) == BotReply()
    assert BotReply.from_json("text") == BotReply()


def test_a_handoff_without_a_reason_is_the_bots():
    assert BotReply.from_json({"custom": {"handoff": {}}}).handoff == Handoff(BOT)
    assert BotReply.from_json({"custom": {"handoff": {"reason": ""}}}).handoff == Handoff(BOT)
    assert BotReply.from_json({"custom": {"handoff": {"reason": "x", "signal": 3}}}).handoff == Handoff("x")
    turn = interpret([{"custom": {"text": "Przekazuję.", "handoff": {"signal": "shouting"}}}], "pl")
    assert turn.handoff_reason == BOT


def test_a_turn_keeps_the_last_of_each_and_skips_empty_messages():
    turn = interpret(
        [
            {"custom": {"text": "Dzięki!", "rating": {"score": 2}, "nps": {"score": 0}, "rating_comment": " a "}},
            {"custom": {"rating": {"score": 5}, "nps": {"score": 11}, "rating_comment": ""}},  # shows nothing
            {"custom": {"text": "", "buttons": [{"title": "Tak", "payload": "/affirm"}], "rating": {"score": 0}}},
        ],
        "pl",
    )
    assert (turn.rating, turn.nps, turn.rating_comment, turn.handoff_reason) == (5, 0, "a", None)
    assert [(m.text, m.buttons) for m in turn.messages] == [
        ("Dzięki!", []),
        ("", [{"title": "Tak", "payload": "/affirm"}]),
    ]


# -- what the hub tells the bot -------------------------------------------------------------------------


def test_the_hub_sends_every_key_with_each_message():
    sent = HubMetadata(language="en", channel="web", nps=True, handed_over=False).to_json()
    assert json.dumps(sent) == json.dumps({"language": "en", "channel": "web", "nps": True, "handed_over": False})
    assert HubMetadata.from_metadata(sent) == HubMetadata("en", "web", True, False)


@pytest.mark.parametrize("metadata", [None, {}, "pl", [], {"language": "", "channel": 3, "nps": None}])
def test_without_usable_metadata_the_defaults_hold(metadata):
    """`rasa shell` sends none: the language is guessed, no NPS, no hand-over known."""
    assert HubMetadata.from_metadata(metadata) == HubMetadata(language=None, channel=None, nps=False, handed_over=False)


def test_nps_is_on_only_when_the_hub_says_true_and_any_hand_over_counts():
    """When in doubt the bot asks less: no NPS question, no rating of its own."""
    for value in ("true", 1, "yes", [True]):
        assert HubMetadata.from_metadata({"nps": value}).nps is False
    assert HubMetadata.from_metadata({"nps": True}).nps is True
    for value in (True, 1, "yes"):
        assert HubMetadata.from_metadata({"handed_over": value}).handed_over is True
    assert HubMetadata.from_metadata({"handed_over": 0}).handed_over is False


def test_the_actions_read_the_metadata_through_it():
    from bot.actions.texts import hub_metadata, language_of

    def tracker(metadata, text="where is my parcel"):
        return Tracker("c1", {}, {"text": text, "metadata": metadata}, [], False, None, {}, None)

    assert hub_metadata(tracker({"language": "pl", "nps": True, "handed_over": True})) == HubMetadata(
        "pl", None, True, True
    )
    assert language_of(tracker({"language": "pl"})) == "pl"  # the hub's word, whatever the text
    assert language_of(tracker(None)) == "en"  # no hub: guessed from the text
    assert language_of(tracker({"language": 7}, "gdzie jest moja paczka")) == "pl"
