"""Edits go live without a retrain or a restart: only what changed is embedded, the
index is swapped whole, and a broken edit leaves the previous version serving; a
restart with a broken file serves that file's last good version, or says loudly that
its entry is missing."""

from __future__ import annotations

import dataclasses
import difflib
import logging
import shutil
import threading
import time
import uuid

import pytest

from knowledge.live import LiveKnowledgeBase
from knowledge.settings import Settings
from knowledge.text import fold

from .conftest import SAMPLE_KB

BIKES = """---
id: bikes
questions:
  - czy macie rowery w ofercie
  - sprzedajecie rowery
---
# Czy sprzedajecie rowery?

Nie, Domowo.pl nie sprzedaje rowerów ani części rowerowych.
"""


class CountingEmbedder:
    """The real embedder, with a record of every text it was asked to embed."""

    def __init__(self, embedder) -> None:
        self._embedder = embedder
        self.texts: list[str] = []

    def __getattr__(self, name):
        return getattr(self._embedder, name)

    def encode(self, texts, progress=None):
        self.texts.extend(texts)
        return self._embedder.encode(texts, progress)


@pytest.fixture
def live(tmp_path, embedder, sample_kb):
    kb_dir = tmp_path / "faq"
    shutil.copytree(SAMPLE_KB, kb_dir)
    cache = tmp_path / "cache.sqlite3"
    shutil.copy(Settings().cache_path, cache)  # warm (sample_kb filled it): only edits get embedded
    settings = Settings(kb_dir=kb_dir, cache_path=cache, reload_interval=0.2, last_good_dir=tmp_path / "last-good")
    kb = LiveKnowledgeBase(settings, embedder=CountingEmbedder(embedder))
    yield kb
    kb.stop()


def test_new_entry_goes_live(live):
    assert "bikes" not in live.current and live.ask("czy sprzedajecie rowery").kind != "answer"
    (live.settings.kb_dir / "inne" / "bikes.md").write_text(BIKES)
    assert live.reload()
    reply = live.ask("czy sprzedajecie rowery")
    assert (reply.kind, reply.entry.id) == ("answer", "bikes")
    assert live.version == 2
    assert not live.reload()  # nothing changed since


def test_only_changed_phrasings_are_embedded(live):
    path = live.settings.kb_dir / "zwroty" / "returns-how.md"
    added = f"chcę oddać rzeczy, które mi nie pasują (zamówienie {uuid.uuid4().hex[:6]})"  # never cached
    path.write_text(path.read_text().replace("questions:\n", f"questions:\n  - {added}\n", 1))
    live.embedder.texts.clear()
    assert live.reload()
    embedded = live.embedder.texts
    assert added in embedded
    # Everything else embedded is the new phrasing typed in a hurry, for calibration.
    for text in embedded:
        assert difflib.SequenceMatcher(None, fold(text), fold(added)).ratio() > 0.9, text
    assert live.ask(added).entry.id == "returns-how"


def test_broken_edit_keeps_the_previous_version(live, caplog):
    (live.settings.kb_dir / "inne" / "bikes.md").write_text(BIKES)
    assert live.reload()
    path = live.settings.kb_dir / "dostawa" / "delivery-cost.md"
    good = path.read_text()
    path.write_text(good.replace("---\n", "---\nqustions: [x]\n", 1))
    with caplog.at_level("ERROR", logger="knowledge.live"):
        assert not live.reload()
    assert "dostawa/delivery-cost.md:2: unknown key 'qustions' (did you mean 'questions'?)" in caplog.text
    assert "still serving version 2" in caplog.text
    assert live.version == 2
    assert live.ask("czy sprzedajecie rowery").entry.id == "bikes"
    assert live.ask("ile kosztuje dostawa kurierem").hits[0].id == "delivery-cost"
    path.write_text(good)
    assert live.reload() and live.version == 3


def test_watcher_picks_up_an_edit_within_seconds(live):
    live.start()
    (live.settings.kb_dir / "inne" / "bikes.md").write_text(BIKES)
    deadline = time.monotonic() + 15
    while live.version < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live.version == 2
    assert live.ask("czy sprzedajecie rowery").entry.id == "bikes"


def test_answers_keep_coming_while_rebuilding(live):
    errors, answers = [], []
    stop = threading.Event()

    def customer():
        while not stop.is_set():
            try:
                answers.append(live.ask("jak zwrocic towar").entry.id)
            except Exception as exc:  # any failure during the swap is a bug
                errors.append(exc)

    thread = threading.Thread(target=customer)
    thread.start()
    (live.settings.kb_dir / "inne" / "bikes.md").write_text(BIKES)
    assert live.reload()
    stop.set()
    thread.join()
    assert not errors
    assert answers and set(answers) == {"returns-how"}


# --- restarts with a broken file ---------------------------------------------------------

CARRIERS = "dostawa/delivery-carriers.md"  # an entry with no translation
CARRIERS_QUESTION = "Czy mogę wybrać firmę kurierską?"  # its heading


def unclose_front_matter(path, answer_edit: str = "") -> str:
    """The file as an editor may leave it: the closing '---' gone (and maybe an edit to
    the answer that must not go live with it). Returns the good text."""
    good = path.read_text()
    head, _, body = good.partition("\n---\n# ")
    path.write_text(f"{head}\n# {body}{answer_edit}")
    return good


def restart(live: LiveKnowledgeBase, **changes) -> LiveKnowledgeBase:
    live.stop()
    return LiveKnowledgeBase(dataclasses.replace(live.settings, **changes), embedder=live.embedder)


def test_restart_with_a_broken_file_serves_its_last_good_version(live, caplog):
    path = live.settings.kb_dir / CARRIERS
    served = live.ask(CARRIERS_QUESTION).entry
    unclose_front_matter(path, answer_edit="\nNOWA CENA: 1 zł\n")

    with caplog.at_level(logging.WARNING, logger="knowledge"):
        restarted = restart(live)

    reply = restarted.ask(CARRIERS_QUESTION)
    assert (reply.kind, reply.entry.id) == ("answer", "delivery-carriers")
    assert reply.entry.answer == served.answer and "NOWA CENA" not in reply.entry.answer
    problem = f"{CARRIERS}:1: front matter is not closed: add a line with '---' after it"
    status = restarted.status()
    assert status["state"] == "stale"
    assert status["stale"] == [{"path": CARRIERS, "id": "delivery-carriers", "problem": problem}]
    assert status["missing"] == []
    assert status["entries"] == len(live.current) and status["version"] == 1
    assert problem in status["problems"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(problem in m and "serving entry 'delivery-carriers' from the last good copy" in m for m in warnings)


def test_restart_without_a_last_good_copy_logs_the_missing_entry_as_an_error(live, caplog, tmp_path):
    unclose_front_matter(live.settings.kb_dir / CARRIERS)

    with caplog.at_level(logging.WARNING, logger="knowledge"):
        restarted = restart(live, last_good_dir=tmp_path / "empty")

    assert "delivery-carriers" not in restarted.current
    problem = f"{CARRIERS}:1: front matter is not closed: add a line with '---' after it"
    status = restarted.status()
    assert status["state"] == "incomplete"
    assert status["missing"] == [{"path": CARRIERS, "id": "delivery-carriers", "problem": problem}]
    assert status["stale"] == []
    assert status["entries"] == len(live.current) - 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(problem in m and "entry 'delivery-carriers' is NOT served (no last good copy)" in m for m in errors)


def test_a_refused_edit_keeps_the_last_good_copy_and_a_valid_one_replaces_it(live):
    path = live.settings.kb_dir / CARRIERS
    good = unclose_front_matter(path)
    assert not live.reload()
    assert live.last_good.read(CARRIERS) == good
    assert live.status()["state"] == "stale"  # the folder is ahead of what is served

    edited = good.replace("zmiana przewoźnika", "zmiana firmy kurierskiej")
    path.write_text(edited)
    assert live.reload()
    assert live.last_good.read(CARRIERS) == edited
    assert live.status() == {
        "state": "ok",
        "version": 2,
        "entries": len(live.current),
        "stale": [],
        "missing": [],
        "problems": [],
    }


def test_a_deleted_file_is_not_brought_back_by_its_last_good_copy(live, caplog):
    path = live.settings.kb_dir / CARRIERS
    good = path.read_text()
    path.unlink()
    assert live.reload() and "delivery-carriers" not in live.current
    assert live.last_good.read(CARRIERS) is None

    path.write_text(good.replace("\n---\n# ", "\n# ", 1))  # back, broken: there is no good version of it now
    with caplog.at_level(logging.ERROR, logger="knowledge"):
        restarted = restart(live)

    assert "delivery-carriers" not in restarted.current
    assert [gap["id"] for gap in restarted.status()["missing"]] == ["delivery-carriers"]
    assert "entry 'delivery-carriers' is NOT served" in caplog.text
