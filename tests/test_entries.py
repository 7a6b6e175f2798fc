"""FAQ markdown files -> entries (`parse_text`, `parse_file`) and folders -> entries
(`EntryLoader`, `duplicate_ids`).

Every problem must reach an editor as `path:line: message`, so the tests pin the file,
the line and the meaningful part of each message.
"""

from __future__ import annotations

import os

import pytest

from knowledge.entries import Entry, Problem, parse_file, parse_text
from knowledge.loader import EntryLoader, duplicate_ids
from tests.faq_files import lines, write


def parse(text: str, rel: str = "zwroty/jak-oddac.md", default_id: str = "jak-oddac", default_language: str = "pl"):
    return parse_text(text, rel, default_id=default_id, default_language=default_language)


def shown(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


def only_error(text: str, **kwargs) -> Problem:
    """Parse a broken file: no entry, exactly one problem, an error."""
    entry, problems = parse(text, **kwargs)
    assert entry is None
    assert len(problems) == 1, shown(problems)
    assert problems[0].severity == "error"
    return problems[0]


FULL = lines(
    "---",  # 1
    "id: returns-how",  # 2
    "language: en",  # 3
    "questions:",  # 4
    "  - how do I send an item back",  # 5
    "  - '  return policy  '",  # 6
    "tags: [returns, 14days]",  # 7
    "---",  # 8
    "# How do I return an item?",  # 9
    "",  # 10
    "Send it back within **14 days**.",  # 11
    "",  # 12
    "## Costs",  # 13
    "Returns are free.",  # 14
    "",  # 15
)

SIMPLE = lines(
    "# Jak mogę zwrócić towar?",
    "",
    "Masz 14 dni na zwrot.",
)


# --- valid files -------------------------------------------------------------------


def test_full_entry_parses_every_field():
    entry, problems = parse(FULL)

    assert problems == []
    assert entry.id == "returns-how"
    assert entry.language == "en"
    assert entry.title == "How do I return an item?"
    assert entry.questions == ("how do I send an item back", "return policy")
    assert entry.tags == ("returns", "14days")
    assert entry.line == 9
    assert entry.path == "zwroty/jak-oddac.md"
    assert entry.key == ("returns-how", "en")


def test_answer_is_the_body_below_the_heading_without_the_heading():
    entry, _ = parse(FULL)

    assert entry.answer == "Send it back within **14 days**.\n\n## Costs\nReturns are free."
    assert "How do I return" not in entry.answer


def test_phrasings_are_the_heading_then_the_questions():
    entry, _ = parse(FULL)

    assert entry.phrasings == ("How do I return an item?", "how do I send an item back", "return policy")


def test_line_of_gives_the_heading_and_each_question_line():
    entry, _ = parse(FULL)

    assert entry.line_of(0) == 9
    assert entry.line_of(1) == 5
    assert entry.line_of(2) == 6


def test_flow_style_questions_all_point_at_their_line():
    entry, problems = parse(lines("---", "questions: [jak oddać towar, zwrot]", "---", "# Zwroty", "", "Tak."))

    assert problems == []
    assert entry.questions == ("jak oddać towar", "zwrot")
    assert [entry.line_of(i) for i in range(3)] == [4, 2, 2]


def test_file_without_front_matter_is_valid_and_takes_defaults():
    entry, problems = parse(SIMPLE)

    assert problems == []
    assert entry.id == "jak-oddac"
    assert entry.language == "pl"
    assert entry.title == "Jak mogę zwrócić towar?"
    assert entry.answer == "Masz 14 dni na zwrot."
    assert entry.questions == ()
    assert entry.tags == ()
    assert entry.line == 1
    assert entry.phrasings == ("Jak mogę zwrócić towar?",)


def test_defaults_follow_the_given_default_language():
    entry, _ = parse(SIMPLE, default_language="en")

    assert entry.language == "en"


def test_front_matter_without_id_or_language_takes_defaults():
    entry, problems = parse(lines("---", "tags: [zwroty]", "---", "# Pytanie?", "Odpowiedź."), default_id="zwrot-1")

    assert problems == []
    assert (entry.id, entry.language, entry.tags) == ("zwrot-1", "pl", ("zwroty",))
    assert entry.line == 4


def test_empty_front_matter_is_fine():
    entry, problems = parse(lines("---", "---", "# Pytanie?", "Odpowiedź."))

    assert problems == []
    assert entry.line == 3


def test_blank_lines_before_the_heading_are_fine():
    entry, problems = parse(lines("---", "id: a", "---", "", "", "# Pytanie?", "Odpowiedź."))

    assert problems == []
    assert entry.line == 6


def test_single_tag_as_text_becomes_one_tag():
    entry, problems = parse(lines("---", "tags: zwroty", "---", "# Pytanie?", "Odpowiedź."))

    assert problems == []
    assert entry.tags == ("zwroty",)


def test_numeric_id_is_text():
    entry, problems = parse(lines("---", "id: 404", "---", "# Pytanie?", "Odpowiedź."))

    assert problems == []
    assert entry.id == "404"


# --- values are read as the editor typed them (no YAML 1.1 booleans or numbers) ---------


@pytest.mark.parametrize("typed", ["no", "yes", "on", "off", "true", "null", "0123", "1e3", "0x1F", "1_000", "12.50"])
def test_id_is_the_text_typed(typed):
    entry, problems = parse(lines("---", f"id: {typed}", "---", "# Pytanie?", "Odpowiedź."))

    assert problems == []
    assert entry.id == typed


@pytest.mark.parametrize("typed", ["no", "on", "de"])
def test_language_is_the_text_typed(typed):
    entry, problems = parse(lines("---", f"language: {typed}", "---", "# Pytanie?", "Odpowiedź."))

    assert problems == []
    assert entry.language == typed


def test_questions_and_tags_are_the_text_typed():
    text = lines("---", "questions: [yes, 12, 0123, off]", "tags: [no, 1.50, null]", "---", "# Pytanie?", "Odpowiedź.")
    entry, problems = parse(text)

    assert problems == []
    assert entry.questions == ("yes", "12", "0123", "off")
    assert entry.tags == ("no", "1.50", "null")


def test_single_tag_that_looks_like_a_boolean_or_number_is_text():
    entry, problems = parse(lines("---", "tags: no", "---", "# Pytanie?", "Odpowiedź."))
    assert problems == [] and entry.tags == ("no",)

    entry, problems = parse(lines("---", "tags: 3.5", "---", "# Pytanie?", "Odpowiedź."))
    assert problems == [] and entry.tags == ("3.5",)


def test_quoted_values_keep_their_escapes_and_block_lists_their_text():
    text = lines("---", 'id: "no"', "questions:", "  - yes", "  - 'on'", "---", "# Pytanie?", "Odpowiedź.")
    entry, problems = parse(text)

    assert problems == []
    assert (entry.id, entry.questions, entry.question_lines) == ("no", ("yes", "on"), (4, 5))


def test_a_self_referencing_alias_is_an_error_not_a_hang():
    problem = only_error(lines("---", "tags: &t [a, *t]", "---", "# Pytanie?", "Odpowiedź."))

    assert problem.line == 2
    assert problem.message == "tags must be a list like [returns, delivery]"


def test_code_fence_lines_starting_with_hash_are_not_headings():
    text = lines(
        "# Jak skonfigurować webhook?",
        "",
        "Przykład:",
        "```bash",
        "# to jest komentarz, nie nagłówek",
        "curl https://example.com",
        "```",
        "~~~",
        "# też komentarz",
        "~~~",
        "Gotowe.",
    )
    entry, problems = parse(text)

    assert problems == []
    assert entry.title == "Jak skonfigurować webhook?"
    assert "# to jest komentarz, nie nagłówek" in entry.answer
    assert "# też komentarz" in entry.answer
    assert entry.answer.endswith("Gotowe.")


def test_heading_after_a_closed_code_fence_is_still_a_second_heading():
    text = lines("# Pytanie?", "```", "# komentarz", "```", "# Drugie pytanie?", "Odpowiedź.")

    problem = only_error(text)
    assert (problem.line, problem.message) == (5, "a second '# ' heading: put one entry per file")


def test_subheadings_in_the_answer_are_fine():
    entry, problems = parse(lines("# Pytanie?", "", "## Szczegóły", "### Więcej", "Tekst."))

    assert problems == []
    assert entry.answer == "## Szczegóły\n### Więcej\nTekst."


def test_crlf_line_endings_parse_like_lf():
    entry, problems = parse(FULL.replace("\n", "\r\n"))

    assert problems == []
    assert entry.line == 9
    assert entry.line_of(2) == 6
    assert entry.answer == "Send it back within **14 days**.\n\n## Costs\nReturns are free."


# --- errors, each at the right line ---------------------------------------------------


def test_front_matter_not_closed_is_line_1():
    problem = only_error(lines("---", "id: a", "# Pytanie?", "Odpowiedź."))

    assert problem.line == 1
    assert problem.path == "zwroty/jak-oddac.md"
    assert "front matter is not closed" in problem.message
    assert "'---'" in problem.message


def test_invalid_yaml_points_at_the_line_of_the_yaml_error():
    text = lines(
        "---",  # 1
        "id: a",  # 2
        "language: pl: en",  # 3 <- a second ':' on one line
        "---",
        "# Pytanie?",
        "Odpowiedź.",
    )
    problem = only_error(text)

    assert problem.line == 3
    assert problem.message.startswith("front matter is not valid YAML: ")
    assert "mapping values are not allowed" in problem.message


def test_invalid_yaml_on_the_first_front_matter_line_is_line_2():
    problem = only_error(lines("---", "id: a: b", "---", "# Pytanie?", "Odpowiedź."))

    assert problem.line == 2
    assert "not valid YAML" in problem.message


def test_tab_indentation_is_reported_at_its_line():
    problem = only_error(lines("---", "id: a", "questions:", "\t- jak", "---", "# Pytanie?", "Odpowiedź."))

    assert problem.line == 4
    assert "not valid YAML" in problem.message


@pytest.mark.parametrize("front", [["- a", "- b"], ["tylko tekst"]], ids=["list", "scalar"])
def test_front_matter_that_is_not_a_mapping(front):
    problem = only_error(lines("---", *front, "---", "# Pytanie?", "Odpowiedź."))

    assert problem.line == 2
    assert problem.message == "front matter must be 'key: value' lines"


def test_unknown_key_suggests_the_close_one_at_its_line():
    text = lines("---", "id: a", "qustions:", "  - jak oddać", "---", "# Pytanie?", "Odpowiedź.")
    problem = only_error(text)

    assert problem.line == 3
    assert problem.message == "unknown key 'qustions' (did you mean 'questions'?)"


@pytest.mark.parametrize("typo, meant", [("langauge", "language"), ("tag", "tags"), ("Language", "language")])
def test_unknown_key_suggestions(typo, meant):
    problem = only_error(lines("---", f"{typo}: x", "---", "# Pytanie?", "Odpowiedź."))

    assert problem.line == 2
    assert f"(did you mean '{meant}'?)" in problem.message


def test_unknown_key_without_a_close_match_lists_the_allowed_keys():
    problem = only_error(lines("---", "id: a", "language: pl", "kolor: niebieski", "---", "# Pytanie?", "Odpowiedź."))

    assert problem.line == 4
    assert problem.message == "unknown key 'kolor' (allowed: id, language, questions, tags)"


def test_key_given_twice_is_reported_at_the_second_one():
    problem = only_error(lines("---", "id: a", "language: pl", "id: b", "---", "# Pytanie?", "Odpowiedź."))

    assert problem.line == 4
    assert problem.message == "key 'id' appears twice"


def test_empty_file_is_missing_the_heading_at_line_1():
    problem = only_error("")

    assert problem.line == 1
    assert problem.message == "missing the '# Question' heading"


def test_front_matter_and_blank_lines_only_is_missing_the_heading():
    problem = only_error(lines("---", "id: a", "---", "", ""))

    assert problem.line == 4  # the first line after the front matter
    assert "missing the '# Question' heading" in problem.message


def test_text_before_the_heading_is_reported_at_that_text():
    text = lines("---", "id: a", "---", "", "Wstęp, którego nie powinno być.", "# Pytanie?", "Odpowiedź.")
    problem = only_error(text)

    assert problem.line == 5
    assert problem.message == "text before the '# Question' heading"


def test_answer_without_any_heading_is_text_before_the_heading():
    problem = only_error(lines("Tylko odpowiedź, bez pytania."))

    assert problem.line == 1
    assert "'# Question' heading" in problem.message


def test_level_2_heading_first_is_not_the_question():
    problem = only_error(lines("## Pytanie?", "Odpowiedź."))

    assert problem.line == 1
    assert problem.message == "text before the '# Question' heading"


@pytest.mark.parametrize("heading", ["# ", "#    "])
def test_empty_heading(heading):
    problem = only_error(lines("---", "id: a", "---", heading, "Odpowiedź."))

    assert problem.line == 4
    assert problem.message == "the '# ' heading is empty: write the question"


def test_bare_hash_line_is_an_empty_heading():
    # CommonMark: a lone '#' is an (empty) level-1 heading; editors' trailing-space
    # trimming turns '# ' into '#', so it must not be reported as stray text.
    problem = only_error(lines("---", "id: a", "---", "#", "Odpowiedź."))

    assert problem.line == 4
    assert problem.message == "the '# ' heading is empty: write the question"


@pytest.mark.parametrize("after", [[], ["", "   ", ""]], ids=["nothing", "blank-lines"])
def test_empty_answer_is_reported_at_the_heading(after):
    problem = only_error(lines("---", "id: a", "---", "", "# Pytanie?", *after))

    assert problem.line == 5
    assert problem.message == "empty answer: write it below the heading"


def test_empty_heading_and_empty_answer_are_both_reported():
    entry, problems = parse(lines("# "))

    assert entry is None
    assert shown(problems) == [
        "zwroty/jak-oddac.md:1: the '# ' heading is empty: write the question",
        "zwroty/jak-oddac.md:1: empty answer: write it below the heading",
    ]


def test_second_level_1_heading_means_one_entry_per_file():
    text = lines("# Pierwsze?", "Odpowiedź 1.", "", "# Drugie?", "Odpowiedź 2.")
    problem = only_error(text)

    assert problem.line == 4
    assert problem.message == "a second '# ' heading: put one entry per file"


def test_questions_not_a_list():
    problem = only_error(lines("---", "id: a", "questions: jak oddać towar", "---", "# Pytanie?", "Odpowiedź."))

    assert problem.line == 3
    assert problem.message == "questions must be a list ('- question' lines)"


def test_empty_question_is_reported_at_its_own_line():
    text = lines(
        "---",
        "questions:",  # 2
        "  - jak oddać",  # 3
        "  - ''",  # 4
        "  - zwrot",  # 5
        "  -",  # 6
        "  - '   '",  # 7
        "---",
        "# Pytanie?",
        "Odpowiedź.",
    )
    entry, problems = parse(text)

    assert entry is None
    assert shown(problems) == [
        "zwroty/jak-oddac.md:4: question 2 must be non-empty text",
        "zwroty/jak-oddac.md:6: question 4 must be non-empty text",
        "zwroty/jak-oddac.md:7: question 5 must be non-empty text",
    ]


def test_question_that_is_not_text():
    problem = only_error(lines("---", "questions:", "  - jak oddać", "  - {a: b}", "---", "# Pytanie?", "Odpowiedź."))

    assert problem.line == 4
    assert problem.message == "question 2 must be non-empty text"


@pytest.mark.parametrize("bad_id", ["zwrot towaru", "zwrot/towaru", "-zwrot", "zwrót", "[a, b]", "{a: b}", "''", "~"])
def test_bad_id_characters_at_the_id_line(bad_id):
    problem = only_error(lines("---", "language: pl", f"id: {bad_id}", "---", "# Pytanie?", "Odpowiedź."))

    assert problem.line == 3
    assert problem.message.startswith("id ")
    assert "must be letters, digits, '-', '_' or '.'" in problem.message


def test_bad_id_message_quotes_the_id():
    problem = only_error(lines("---", "id: zwrot towaru", "---", "# Pytanie?", "Odpowiedź."))

    assert problem.message == "id 'zwrot towaru' must be letters, digits, '-', '_' or '.'"


def test_id_with_a_trailing_newline_is_rejected():
    # `$` in the id pattern also matches before a final newline; an id "zwrot\n" must
    # not get through.
    entry, problems = parse(lines("---", 'id: "zwrot\\n"', "---", "# Pytanie?", "Odpowiedź."))

    assert entry is None
    assert [(p.line, p.message.split(" must ")[0]) for p in problems] == [(2, "id 'zwrot\\n'")]


def test_bad_file_name_as_default_id_is_line_1():
    problem = only_error(SIMPLE, default_id="jak oddać")

    assert problem.line == 1
    assert problem.message.startswith("id 'jak oddać' must be")


@pytest.mark.parametrize("language", ["PL", "pol", "p", "pl-PL", "12"])
def test_bad_language_code_at_its_line(language):
    problem = only_error(lines("---", "id: a", f"language: {language}", "---", "# Pytanie?", "Odpowiedź."))

    assert problem.line == 3
    assert "must be a two-letter code like pl or en" in problem.message
    assert problem.message.startswith("language ")


def test_language_with_a_trailing_newline_is_rejected():
    entry, problems = parse(lines("---", 'language: "pl\\n"', "---", "# Pytanie?", "Odpowiedź."))

    assert entry is None
    assert [p.line for p in problems] == [2]
    assert "two-letter code" in problems[0].message


@pytest.mark.parametrize("tags", ["{zwroty: 1}", "[[a, b]]", "[{a: b}]", "[a, '']", "''"])
def test_tags_not_a_list(tags):
    problem = only_error(lines("---", "id: a", f"tags: {tags}", "---", "# Pytanie?", "Odpowiedź."))

    assert problem.line == 3
    assert problem.message == "tags must be a list like [returns, delivery]"


def test_several_problems_in_one_file_are_all_reported():
    text = lines(
        "---",
        "id: zły id",  # 2
        "language: polski",  # 3
        "tagi: [a]",  # 4
        "---",
        "# Pytanie?",  # 6
    )
    entry, problems = parse(text)

    assert entry is None
    found = sorted((p.line, p.message.split(" ")[0] + " " + p.message.split(" ")[1]) for p in problems)
    assert found == [(2, "id 'zły"), (3, "language 'polski'"), (4, "unknown key"), (6, "empty answer:")]


def test_problem_str_is_path_line_message():
    assert str(Problem("a/b.md", 7, "coś jest nie tak")) == "a/b.md:7: coś jest nie tak"
    assert str(Problem("a/b.md", 7, "uwaga", severity="warning")) == "a/b.md:7: warning: uwaga"


# --- parse_file -------------------------------------------------------------------


def test_parse_file_uses_the_path_relative_to_the_root_and_the_file_name_as_id(tmp_path):
    path = write(tmp_path, "zwroty/jak-oddac.md", SIMPLE)

    entry, problems = parse_file(path, tmp_path, "pl")

    assert problems == []
    assert entry.id == "jak-oddac"
    assert entry.path == "zwroty/jak-oddac.md"
    assert entry.language == "pl"
    assert entry.title == "Jak mogę zwrócić towar?"


def test_parse_file_default_language(tmp_path):
    entry, _ = parse_file(write(tmp_path, "returns.md", SIMPLE), tmp_path, "en")

    assert entry.language == "en"


def test_parse_file_problems_name_the_relative_path(tmp_path):
    path = write(tmp_path, "dostawa/czas.md", lines("---", "qustions: [a]", "---", "# Pytanie?", "Odpowiedź."))

    entry, problems = parse_file(path, tmp_path, "pl")

    assert entry is None
    assert shown(problems) == ["dostawa/czas.md:2: unknown key 'qustions' (did you mean 'questions'?)"]


def test_parse_file_accepts_a_utf8_bom(tmp_path):
    path = write(tmp_path, "bom.md", b"\xef\xbb\xbf" + FULL.encode())

    entry, problems = parse_file(path, tmp_path, "pl")

    assert problems == []
    assert entry.id == "returns-how"
    assert entry.line == 9


def test_non_utf8_file_is_an_error_at_line_1(tmp_path):
    path = write(tmp_path, "stary.md", "# Jak zwrócić towar?\n\nOdpowiedź.\n".encode("cp1250"))

    entry, problems = parse_file(path, tmp_path, "pl")

    assert entry is None
    assert len(problems) == 1
    assert problems[0].path == "stary.md"
    assert problems[0].line == 1
    assert problems[0].severity == "error"
    assert problems[0].message.startswith("not UTF-8 text")


# --- EntryLoader ----------------------------------------------------------------------


def entry_file(title: str = "Pytanie?", answer: str = "Odpowiedź.", **front: str) -> str:
    """A valid FAQ file; keyword arguments become front-matter lines."""
    head = ["---", *(f"{k}: {v}" for k, v in front.items()), "---"] if front else []
    return lines(*head, f"# {title}", "", answer)


def by_path(result) -> dict[str, Entry]:
    return {e.path: e for e in result.entries}


def test_loader_reads_nested_folders(tmp_path):
    write(tmp_path, "a.md", entry_file())
    write(tmp_path, "zwroty/b.md", entry_file())
    write(tmp_path, "zwroty/gdzie/c.md", entry_file(language="en"))

    result = EntryLoader(tmp_path).load()

    assert result.problems == []
    assert sorted(by_path(result)) == ["a.md", "zwroty/b.md", "zwroty/gdzie/c.md"]
    assert {(e.id, e.language) for e in result.entries} == {("a", "pl"), ("b", "pl"), ("c", "en")}


def test_loader_default_language(tmp_path):
    write(tmp_path, "a.md", entry_file())

    result = EntryLoader(tmp_path, default_language="en").load()

    assert [e.language for e in result.entries] == ["en"]


def test_loader_ignores_hidden_files_and_folders_and_other_extensions(tmp_path):
    write(tmp_path, "a.md", entry_file())
    write(tmp_path, ".git/x.md", "not a FAQ")
    write(tmp_path, ".#draft.md", "not a FAQ")
    write(tmp_path, "zwroty/.hidden/y.md", "not a FAQ")
    write(tmp_path, "zwroty/.z.md", "not a FAQ")
    write(tmp_path, "notes.txt", "not a FAQ")
    write(tmp_path, "a.md~", "not a FAQ")

    result = EntryLoader(tmp_path).load()

    assert result.problems == []
    assert [e.path for e in result.entries] == ["a.md"]


def test_loader_keeps_the_other_files_when_one_is_broken(tmp_path):
    write(tmp_path, "dobry.md", entry_file())
    write(tmp_path, "zly/plik.md", lines("---", "id: a", "# Pytanie?", "Odpowiedź."))
    write(tmp_path, "zly/kodowanie.md", "# Zwrot\n\nżółw\n".encode("cp1250"))

    result = EntryLoader(tmp_path).load()

    assert [e.path for e in result.entries] == ["dobry.md"]
    assert sorted((p.path, p.line) for p in result.errors) == [("zly/kodowanie.md", 1), ("zly/plik.md", 1)]
    assert result.warnings == []


def test_loader_reports_an_empty_folder(tmp_path):
    write(tmp_path, ".git/x.md", entry_file())  # hidden files do not count

    result = EntryLoader(tmp_path).load()

    assert result.entries == []
    assert len(result.errors) == 1
    assert result.errors[0].path == str(tmp_path)
    assert result.errors[0].line == 1
    assert "no FAQ files" in result.errors[0].message


def test_loader_missing_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        EntryLoader(tmp_path / "brak").load()


def test_loader_on_a_file_instead_of_a_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        EntryLoader(write(tmp_path, "a.md", entry_file())).load()


def test_loader_reuses_the_entry_of_an_unchanged_file(tmp_path):
    write(tmp_path, "a.md", entry_file())
    loader = EntryLoader(tmp_path)

    first = loader.load().entries[0]
    second = loader.load().entries[0]

    assert second is first


def test_loader_reparses_a_file_whose_content_changed(tmp_path):
    path = write(tmp_path, "a.md", entry_file(answer="Stara odpowiedź."))
    loader = EntryLoader(tmp_path)
    first = loader.load().entries[0]

    path.write_text(entry_file(answer="Nowa, dłuższa odpowiedź."), encoding="utf-8")
    second = loader.load().entries[0]

    assert second is not first
    assert second.answer == "Nowa, dłuższa odpowiedź."


def test_loader_reparses_a_file_whose_mtime_changed(tmp_path):
    path = write(tmp_path, "a.md", entry_file())
    loader = EntryLoader(tmp_path)
    first = loader.load().entries[0]

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    second = loader.load().entries[0]

    assert second is not first
    assert second == first


def test_loader_reparses_same_size_edit_with_a_new_mtime(tmp_path):
    path = write(tmp_path, "a.md", entry_file(answer="Odpowiedź A."))
    loader = EntryLoader(tmp_path)
    loader.load()

    st = path.stat()
    path.write_text(entry_file(answer="Odpowiedź B."), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    assert loader.load().entries[0].answer == "Odpowiedź B."


def test_loader_only_reparses_the_changed_file(tmp_path):
    write(tmp_path, "a.md", entry_file())
    b = write(tmp_path, "b.md", entry_file())
    loader = EntryLoader(tmp_path)
    before = by_path(loader.load())

    b.write_text(entry_file(title="Inne pytanie?"), encoding="utf-8")
    after = by_path(loader.load())

    assert after["a.md"] is before["a.md"]
    assert after["b.md"] is not before["b.md"]
    assert after["b.md"].title == "Inne pytanie?"


def test_loader_fixing_a_broken_file_clears_its_error(tmp_path):
    path = write(tmp_path, "a.md", lines("# Pytanie?"))
    loader = EntryLoader(tmp_path)
    assert [(p.path, p.line) for p in loader.load().errors] == [("a.md", 1)]

    path.write_text(entry_file(), encoding="utf-8")
    result = loader.load()

    assert result.problems == []
    assert [e.id for e in result.entries] == ["a"]


def test_loader_forgets_deleted_and_picks_up_new_files(tmp_path):
    a = write(tmp_path, "a.md", entry_file())
    loader = EntryLoader(tmp_path)
    loader.load()

    a.unlink()
    write(tmp_path, "b.md", entry_file())
    result = loader.load()

    assert [e.path for e in result.entries] == ["b.md"]
    assert result.problems == []


def test_duplicate_id_in_the_same_language_is_an_error_on_the_second_file(tmp_path):
    write(tmp_path, "dostawa/zwrot.md", entry_file())
    write(tmp_path, "zwroty/zwrot.md", entry_file())

    result = EntryLoader(tmp_path).load()

    assert len(result.entries) == 2  # both parse; the duplicate is a folder-level error
    assert shown(result.errors) == [
        "zwroty/zwrot.md:1: duplicate id 'zwrot' in language pl (also in dostawa/zwrot.md); give one of them another id"
    ]


def test_duplicate_explicit_id_is_reported_at_the_id_line(tmp_path):
    write(tmp_path, "a.md", entry_file(id="zwrot"))
    write(tmp_path, "b.md", entry_file(language="pl", id="zwrot"))  # id on line 3

    result = EntryLoader(tmp_path).load()

    assert len(result.errors) == 1
    problem = result.errors[0]
    assert problem.path == "b.md"
    assert "duplicate id 'zwrot'" in problem.message
    assert "also in a.md" in problem.message
    assert problem.line == 3


def test_same_id_in_two_languages_is_a_translation(tmp_path):
    write(tmp_path, "pl/zwrot.md", entry_file(title="Jak zwrócić towar?"))
    write(tmp_path, "en/zwrot.md", entry_file(title="How do I return an item?", language="en"))

    result = EntryLoader(tmp_path).load()

    assert result.problems == []
    assert sorted(e.key for e in result.entries) == [("zwrot", "en"), ("zwrot", "pl")]


def test_duplicate_ids_function_flags_every_later_copy():
    entries = [
        Entry(id="x", language="pl", title="A", answer="a", path="1.md"),
        Entry(id="x", language="en", title="B", answer="b", path="2.md"),
        Entry(id="x", language="pl", title="C", answer="c", path="3.md"),
        Entry(id="y", language="pl", title="D", answer="d", path="4.md"),
        Entry(id="x", language="pl", title="E", answer="e", path="5.md"),
    ]

    problems = duplicate_ids(entries)

    assert [(p.path, p.severity) for p in problems] == [("3.md", "error"), ("5.md", "error")]
    assert all("(also in 1.md)" in p.message for p in problems)
    assert duplicate_ids(entries[:2] + entries[3:4]) == []
