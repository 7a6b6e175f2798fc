"""What customers type: `clean` (on input) and `for_rasa` (free text on its way to Rasa),
then a real Rasa on the trained model: what it makes of text starting with "/", of small
talk, and of text it cannot read (gibberish, other scripts), which must reach retrieval.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import requests

from handoff.customer_text import clean, for_rasa

from .conftest import ROOT

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_MODEL = ROOT / "models" / "faqbot.tar.gz"
QUESTION = {"ask_question", "nlu_fallback"}  # both go to action_answer_faq (data/rules.yml)
SLASH_TEXTS = [
    "/restart",
    "/session_start",
    "/request_human",
    "/greet",
    " /restart",
    "\u3000/restart",  # an ideographic space: Python's strip(), which Rasa uses, removes it
    "/ /restart",
    "//restart",
    '/goodbye{"name": "x"}',
    "/thanks@0.99",
    "/",
    "///",
]


# -- for_rasa ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", SLASH_TEXTS)
def test_for_rasa_never_starts_with_a_slash_after_rasas_strip(text):
    sent = for_rasa(text)
    assert sent
    assert not sent.strip().startswith("/") or sent == "/"


@pytest.mark.parametrize(
    ("text", "sent"),
    [("/restart", "restart"), (" / /request_human", "request_human"), ("//zwrot towaru", "zwrot towaru"), ("///", "/")],
)
def test_for_rasa_drops_only_the_leading_slashes(text, sent):
    assert for_rasa(text) == sent


@pytest.mark.parametrize("text", ["jak zwrócić towar?", "1/2 ceny?", "a/b", "hej /restart", "\u200b/restart"])
def test_for_rasa_leaves_other_text_alone(text):
    assert for_rasa(text) is text


# -- clean ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", " ", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200b\u200c\u200d\u2060\ufeff", "\x1b", "\x1b[0m",
     "\x07\x08\x7f", "\x85\x9b", " \n\t\u200b\r\n ", "\u200e\u202e"],
)  # fmt: skip
def test_clean_leaves_nothing_of_invisible_text(text):
    assert clean(text) == ""


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("  hej  ", "hej"),
        ("gdzie\x1b[1;31m moja\x1b[0m paczka?\x07", "gdzie moja paczka?"),
        ("a\x00b", "ab"),  # never reaches clean through the API (NUL is refused first)
        ("zw\u200brot\u2060 \ufefftowaru", "zwrot towaru"),
        ("linia 1\r\nlinia 2\rlinia 3\n\tkoniec", "linia 1\nlinia 2\nlinia 3\n\tkoniec"),
        ("\u200dhej\u200c", "hej"),
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),
        ("می\u200cخواهم", "می\u200cخواهم"),  # Persian: the non-joiner is part of the spelling
        ("zażółć gęślą jaźń", "zażółć gęślą jaźń"),
    ],
)
def test_clean_removes_what_cannot_be_seen_and_keeps_the_rest(text, cleaned):
    assert clean(text) == cleaned


# -- a real Rasa ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def rasa(tmp_path_factory) -> Iterator[str]:
    """Rasa on the project's trained model with its HTTP API (no action server: only
    /model/parse is used). One process for the module: it takes ~20 s and 1 GB."""
    if not RASA_MODEL.exists():
        pytest.fail(f"{RASA_MODEL} is missing: run `make model`")
    log_path = tmp_path_factory.mktemp("rasa") / "rasa.log"
    port = free_port()
    command = [
        str(RASA), "run", "--enable-api", "--interface", "127.0.0.1", "--port", str(port), "--model", str(RASA_MODEL),
        "--endpoints", "bot/endpoints.yml", "--credentials", "bot/credentials.yml",
    ]  # fmt: skip
    env = {
        **os.environ,
        "ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}/webhook",
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "HF_HUB_OFFLINE": "1",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(url: str, process: subprocess.Popen, log_path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Rasa exited:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            if requests.get(f"{url}/status", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"Rasa not up after {timeout:.0f} s:\n{log_path.read_text(errors='replace')[-3000:]}")


def parse(rasa: str, text: str) -> dict:
    response = requests.post(f"{rasa}/model/parse", json={"text": text}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def nlu_read(parsed: dict) -> bool:
    """Whether DIET classified the text: Rasa's "/intent" shortcut gives a ranking of one."""
    return len(parsed["intent_ranking"]) > 1


@pytest.mark.e2e
@pytest.mark.parametrize(("text", "intent"), [("/restart", "restart"), ("\u3000/session_start", "session_start")])
def test_rasa_reads_raw_slash_text_as_an_intent(rasa, text, intent):
    """Why `for_rasa` exists: sent as typed, this text skips NLU and acts as an intent."""
    parsed = parse(rasa, text)
    assert parsed["intent"]["name"] == intent
    assert not nlu_read(parsed)


@pytest.mark.e2e
@pytest.mark.parametrize("text", SLASH_TEXTS)
def test_for_rasa_text_is_classified_by_nlu(rasa, text):
    parsed = parse(rasa, for_rasa(text))
    assert nlu_read(parsed), parsed
    assert parsed["intent"]["name"] not in {"restart", "session_start", "back", "out_of_scope"}
    assert parsed["text"].strip() == for_rasa(text).strip()


@pytest.mark.e2e
def test_a_typed_restart_is_a_question_and_a_typed_request_human_still_asks_for_a_human(rasa):
    assert parse(rasa, for_rasa("/restart"))["intent"]["name"] in QUESTION
    assert parse(rasa, for_rasa("/request_human"))["intent"]["name"] == "request_human"


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("cześć", "greet"),
        ("dzieki", "thanks"),
        ("do widzenia", "goodbye"),
        ("thanks a lot", "thanks"),
        ("bye", "goodbye"),
        ("dzień dobry", "greet"),
        ("hello", "greet"),
        ("dzięki Marta", "thanks"),  # a name the model never saw stays small talk
        ("chcę rozmawiać z konsultantem", "request_human"),
        ("can i talk to a real person", "request_human"),
    ],
)
def test_small_talk_is_still_recognised(rasa, text, intent):
    assert parse(rasa, text)["intent"]["name"] == intent


@pytest.mark.e2e
@pytest.mark.parametrize(
    "text",
    [
        "a" * 2000,
        "x" * 2000,
        "qqqqqqq",
        "ghjkghjk",
        "xcvxcv",
        "kdkdkd slslsl",
        "xkcd jjjj kkkk",
        "你好，我的包裹在哪里",
        "где моя посылка",
        "Где моя посылка?",
        "مرحبا أين طردي",
        "სად არის ჩემი ამანათი",  # Georgian and Armenian: scripts absent from the training data
        "Որտեղ է իմ ծանրոցը",
        "🙂🙂🙂",
        "restart",
        "session_start",
        "what is the capital of australia",
        "czy sprzedajecie rowery?",
    ],
)
def test_text_rasa_cannot_read_is_a_question_for_retrieval(rasa, text):
    parsed = parse(rasa, text)
    assert parsed["intent"]["name"] in QUESTION, parsed["intent_ranking"][:3]
