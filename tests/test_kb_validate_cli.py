"""`faqbot kb validate --quick --kb DIR` as editors run it: a real subprocess on a
folder of FAQ files, problems as `relative/path.md:LINE: message`, exit 0 or 1."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.faq_files import lines, write

FAQBOT = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "faqbot"


def faq(title: str = "Pytanie?", answer: str = "Odpowiedź.", **front: str) -> str:
    head = ["---", *(f"{k}: {v}" for k, v in front.items()), "---"] if front else []
    return lines(*head, f"# {title}", "", answer)


def validate(kb: Path | str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
    clean.update(env)
    return subprocess.run(
        [str(FAQBOT), "kb", "validate", "--quick", "--kb", str(kb)],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def out_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return proc.stdout.splitlines()


@pytest.fixture
def kb(tmp_path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    return folder


def test_valid_folder_exits_0_with_the_summary(kb, tmp_path):
    write(kb, "zwroty/jak-oddac.md", faq("Jak zwrócić towar?", id="zwrot"))
    write(kb, "en/returns.md", faq("How do I return an item?", id="zwrot", language="en"))
    write(kb, "dostawa/czas.md", faq("Ile trwa dostawa?", questions="[kiedy dojdzie paczka]", tags="[dostawa]"))

    proc = validate(kb, tmp_path)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out_lines(proc) == ["ok: 3 files, 2 entries (en, pl), 0 warning(s)"]


def test_single_file_summary(kb, tmp_path):
    write(kb, "a.md", faq())

    proc = validate(kb, tmp_path)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out_lines(proc)[-1] == "ok: 1 files, 1 entries (pl), 0 warning(s)"


def test_default_language_comes_from_the_environment(kb, tmp_path):
    write(kb, "a.md", faq())

    proc = validate(kb, tmp_path, FAQBOT_DEFAULT_LANGUAGE="en")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out_lines(proc)[-1] == "ok: 1 files, 1 entries (en), 0 warning(s)"


def test_hidden_files_are_not_validated(kb, tmp_path):
    write(kb, "a.md", faq())
    write(kb, ".git/broken.md", "---\nnot closed\n")
    write(kb, "zwroty/.#a.md", "")

    proc = validate(kb, tmp_path)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out_lines(proc) == ["ok: 1 files, 1 entries (pl), 0 warning(s)"]


def test_errors_exit_1_with_each_problem_at_its_relative_path_and_line(kb, tmp_path):
    write(kb, "dobry.md", faq())
    typo = lines("---", "id: zwrot", "qustions:", "  - jak oddać", "---", "# Pytanie?", "Tak.")
    write(kb, "zwroty/literowka.md", typo)
    write(kb, "dostawa/czas/pusty.md", lines("---", "language: pl", "---", "", "# Ile trwa dostawa?", ""))

    proc = validate(kb, tmp_path)

    assert proc.returncode == 1
    assert out_lines(proc) == [
        "dostawa/czas/pusty.md:5: empty answer: write it below the heading",
        "zwroty/literowka.md:3: unknown key 'qustions' (did you mean 'questions'?)",
        f"2 error(s) in {kb}",
    ]


def test_paths_are_relative_to_the_kb_folder_not_the_working_folder(kb, tmp_path):
    write(kb, "zwroty/zly.md", lines("---", "id: zły id", "---", "# Pytanie?", "Tak."))

    proc = validate("kb", tmp_path)  # relative --kb, run from kb's parent

    assert proc.returncode == 1
    assert out_lines(proc)[0] == "zwroty/zly.md:2: id 'zły id' must be letters, digits, '-', '_' or '.'"


@pytest.mark.parametrize(
    "text, expected",
    [
        (lines("---", "id: a", "# Pytanie?", "Tak."), "a.md:1: front matter is not closed"),
        (lines("---", "id: a", "language: pl: en", "---", "# P?", "Tak."), "a.md:3: front matter is not valid YAML"),
        (lines("Wstęp", "# Pytanie?", "Tak."), "a.md:1: text before the '# Question' heading"),
        (lines("# Jedno?", "Tak.", "# Drugie?", "Nie."), "a.md:3: a second '# ' heading: put one entry per file"),
        (lines("---", "questions:", "  - a", "  - ''", "---", "# P?", "T."), "a.md:4: question 2 must be non-empty"),
        (lines("---", "tags: {a: 1}", "---", "# P?", "T."), "a.md:2: tags must be a list"),
        (lines("---", "kolor: red", "---", "# P?", "T."), "a.md:2: unknown key 'kolor' (allowed: id, language"),
        (lines("---", "id: x", "language: polski", "---", "# P?", "T."), "a.md:3: language 'polski' must be"),
    ],
    ids=["not-closed", "yaml", "text-before", "second-heading", "empty-question", "tags", "unknown-key", "language"],
)
def test_each_kind_of_error_is_printed_with_its_line(kb, tmp_path, text, expected):
    write(kb, "a.md", text)

    proc = validate(kb, tmp_path)

    assert proc.returncode == 1
    assert len(out_lines(proc)) == 2, proc.stdout
    assert out_lines(proc)[0].startswith(expected)
    assert out_lines(proc)[1] == f"1 error(s) in {kb}"


def test_non_utf8_file_is_reported_at_line_1(kb, tmp_path):
    write(kb, "stare/plik.md", "# Jak zwrócić towar?\n\nTak.\n".encode("cp1250"))
    write(kb, "dobry.md", faq())

    proc = validate(kb, tmp_path)

    assert proc.returncode == 1
    assert out_lines(proc)[0].startswith("stare/plik.md:1: not UTF-8 text")
    assert "Traceback" not in proc.stderr


def test_duplicate_id_names_both_files(kb, tmp_path):
    write(kb, "a/zwrot.md", faq())
    write(kb, "b/zwrot.md", faq())

    proc = validate(kb, tmp_path)

    assert proc.returncode == 1
    assert out_lines(proc) == [
        "b/zwrot.md:1: duplicate id 'zwrot' in language pl (also in a/zwrot.md); give one of them another id",
        f"1 error(s) in {kb}",
    ]


def test_empty_folder_exits_1(kb, tmp_path):
    proc = validate(kb, tmp_path)

    assert proc.returncode == 1
    assert out_lines(proc) == [f"{kb}:1: no FAQ files (*.md) in this folder", f"1 error(s) in {kb}"]


def test_unknown_folder_exits_1_with_a_message(tmp_path):
    missing = tmp_path / "nie-ma"

    proc = validate(missing, tmp_path)

    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.strip() == f"error: knowledge base folder {missing} does not exist"


def test_kb_pointing_at_a_file_exits_1(kb, tmp_path):
    path = write(kb, "a.md", faq())

    proc = validate(path, tmp_path)

    assert proc.returncode == 1
    assert "error:" in proc.stderr
    assert str(path) in proc.stderr
    assert "Traceback" not in proc.stderr


# --- languages the bot does not serve (FAQBOT_LANGUAGES) ------------------------------


def test_a_language_the_bot_does_not_serve_is_a_warning_naming_the_supported_ones(kb, tmp_path):
    write(kb, "zwrot.md", faq("Jak zwrócić towar?"))
    write(kb, "zwrot.de.md", faq("Wie gebe ich etwas zurück?", id="zwrot", language="de"))
    write(kb, "versand.md", faq("Wie lange dauert der Versand?", language="de"))

    proc = validate(kb, tmp_path)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    unsupported = "warning: language 'de' is not supported (the bot answers in pl, en; FAQBOT_LANGUAGES): "
    assert out_lines(proc) == [
        f"versand.md:2: {unsupported}the entry has no version in them, so customers get it in de",
        f"zwrot.de.md:3: {unsupported}customers never get this translation",
        "ok: 3 files, 2 entries (de, pl), 2 warning(s)",
    ]


def test_supported_languages_come_from_the_environment(kb, tmp_path):
    write(kb, "zwrot.md", faq("Jak zwrócić towar?"))
    write(kb, "zwrot.de.md", faq("Wie gebe ich etwas zurück?", id="zwrot", language="de"))
    write(kb, "zwrot.en.md", faq("How do I return an item?", id="zwrot", language="en"))

    proc = validate(kb, tmp_path, FAQBOT_LANGUAGES="pl, de")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out_lines(proc) == [
        "zwrot.en.md:3: warning: language 'en' is not supported (the bot answers in pl, de; FAQBOT_LANGUAGES): "
        "customers never get this translation",
        "ok: 3 files, 1 entries (de, en, pl), 1 warning(s)",
    ]


def test_a_language_code_that_yaml_reads_as_a_boolean_is_the_code(kb, tmp_path):
    write(kb, "a.md", faq(id="no", language="no"))

    proc = validate(kb, tmp_path)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out_lines(proc)[0].startswith("a.md:3: warning: language 'no' is not supported (the bot answers in pl, en")
    assert out_lines(proc)[-1] == "ok: 1 files, 1 entries (no), 1 warning(s)"
