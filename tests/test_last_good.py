"""Last good copies of FAQ files (`knowledge/last_good.py`): what is kept, where, and
what a start makes of a broken file. Real files and the real loader; the model is not
needed here (tests/test_live_reload.py restarts a real knowledge base)."""

from __future__ import annotations

import logging

import pytest

from knowledge.last_good import LastGoodStore, guess_id, recover
from knowledge.loader import EntryLoader
from tests.faq_files import lines, write

RETURNS = lines("---", "id: zwrot", "questions:", "  - jak oddać towar", "---", "# Jak zwrócić towar?", "", "14 dni.")
DELIVERY = lines("---", "id: dostawa", "---", "# Ile trwa dostawa?", "", "Dwa dni.")
UNCLOSED = lines("---", "id: zwrot", "questions:", "  - jak oddać towar", "# Jak zwrócić towar?", "", "30 dni.")


@pytest.fixture
def kb(tmp_path):
    folder = tmp_path / "faq"
    write(folder, "zwroty/zwrot.md", RETURNS)
    write(folder, "dostawa.md", DELIVERY)
    return folder


@pytest.fixture
def store(tmp_path, kb) -> LastGoodStore:
    return LastGoodStore(tmp_path / "last-good", kb)


def keep(store: LastGoodStore, kb) -> None:
    """What a start or a reload that validates does."""
    result = EntryLoader(kb).load()
    store.save(result.valid_sources(), result.paths)


def test_valid_files_are_kept_under_a_folder_of_their_own_knowledge_base(tmp_path, kb, store):
    keep(store, kb)

    assert store.read("zwroty/zwrot.md") == RETURNS
    assert store.read("dostawa.md") == DELIVERY
    assert store.root.parent == tmp_path / "last-good"
    assert (store.root / "kb_dir.txt").read_text().strip() == str(kb.resolve())
    other = LastGoodStore(tmp_path / "last-good", tmp_path / "other-faq")
    assert other.root != store.root and other.read("dostawa.md") is None


def test_no_temporary_files_are_left_behind(kb, store):
    keep(store, kb)

    kept = sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file())
    assert kept == ["dostawa.md", "kb_dir.txt", "zwroty/zwrot.md"]


def test_a_broken_file_keeps_its_copy_and_a_deleted_one_loses_it(kb, store):
    keep(store, kb)
    (kb / "zwroty/zwrot.md").write_text(UNCLOSED)
    (kb / "dostawa.md").unlink()

    keep(store, kb)

    assert store.read("zwroty/zwrot.md") == RETURNS  # not the broken text
    assert store.read("dostawa.md") is None
    assert not (store.root / "dostawa.md").exists()


def test_an_unchanged_file_is_not_written_again_even_after_a_restart(tmp_path, kb, store):
    keep(store, kb)
    copy = store.root / "dostawa.md"
    before = copy.stat().st_mtime_ns, copy.stat().st_ino
    (kb / "zwroty/zwrot.md").write_text(RETURNS.replace("14 dni", "21 dni"))

    keep(LastGoodStore(tmp_path / "last-good", kb), kb)  # a new process: reads what is on disk

    assert (copy.stat().st_mtime_ns, copy.stat().st_ino) == before
    assert "21 dni" in store.read("zwroty/zwrot.md")


def test_keeping_copies_can_be_switched_off(kb):
    store = LastGoodStore(None, kb)
    keep(store, kb)

    assert not store.enabled
    assert store.read("dostawa.md") is None


def test_a_folder_that_cannot_be_written_is_a_warning_not_a_crash(tmp_path, kb, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    store = LastGoodStore(blocked, kb)

    with caplog.at_level(logging.WARNING, logger="knowledge.last_good"):
        keep(store, kb)

    assert "could not keep the last good FAQ files" in caplog.text
    assert store.read("dostawa.md") is None


def test_recover_serves_a_broken_file_from_its_copy(kb, store):
    keep(store, kb)
    (kb / "zwroty/zwrot.md").write_text(UNCLOSED)
    result = EntryLoader(kb).load()

    recovery = recover(result, store, "pl")

    assert [e.id for e in result.entries] == ["dostawa"]
    assert [(e.id, e.answer, e.path) for e in recovery.entries] == [("zwrot", "14 dni.", "zwroty/zwrot.md")]
    assert [(g.path, g.id) for g in recovery.stale] == [("zwroty/zwrot.md", "zwrot")]
    assert recovery.stale[0].problem == "zwroty/zwrot.md:1: front matter is not closed: add a line with '---' after it"
    assert recovery.missing == []


def test_recover_reports_a_broken_file_without_a_copy_as_missing_with_its_id(kb, store):
    (kb / "zwroty/zwrot.md").write_text(UNCLOSED)
    write(kb, "stare.md", "# Czy wysyłacie za granicę?\n\nTak.\n".encode("cp1250"))

    recovery = recover(EntryLoader(kb).load(), store, "pl")

    assert recovery.entries == [] and recovery.stale == []
    assert [(g.path, g.id) for g in recovery.missing] == [("stare.md", "stare"), ("zwroty/zwrot.md", "zwrot")]
    assert recovery.missing[0].problem.startswith("stare.md:1: not UTF-8 text")


def test_a_copy_whose_id_another_file_now_has_is_not_served(kb, store):
    keep(store, kb)
    (kb / "zwroty/zwrot.md").write_text(UNCLOSED)
    write(kb, "zwroty/nowy.md", RETURNS)  # the entry moved to another file

    recovery = recover(EntryLoader(kb).load(), store, "pl")

    assert recovery.entries == []
    assert [(g.path, g.id) for g in recovery.missing] == [("zwroty/zwrot.md", "zwrot")]
    assert "its last good copy has id 'zwrot' (pl), now used by another file" in recovery.missing[0].problem


def test_a_copy_that_no_longer_validates_is_not_served(kb, store, caplog):
    keep(store, kb)
    (store.root / "dostawa.md").write_text("# Tylko pytanie?\n")  # e.g. rules that became stricter
    (kb / "dostawa.md").write_text("---\nid: dostawa\n")

    with caplog.at_level(logging.WARNING, logger="knowledge.last_good"):
        recovery = recover(EntryLoader(kb).load(), store, "pl")

    assert [(g.path, g.id) for g in recovery.missing] == [("dostawa.md", "dostawa")]
    assert "the last good copy of dostawa.md no longer validates: dostawa.md:1: empty answer" in caplog.text


@pytest.mark.parametrize(
    "text, expected",
    [
        (UNCLOSED, "zwrot"),
        (lines("---", "language: en", "id: 'returns-how'  # comment", "questions: [", "---", "# Q?"), "returns-how"),
        (lines("# Pytanie?", "id: nie-to"), "plik"),
        (lines("---", "questions:", "  - id: nie-to", "---", "# Q?"), "plik"),
        ("", "plik"),
    ],
    ids=["unclosed", "bad-yaml", "no-front-matter", "not-a-key", "empty"],
)
def test_guess_id_reads_the_id_line_of_a_broken_front_matter(text, expected):
    assert guess_id(text, "plik") == expected
