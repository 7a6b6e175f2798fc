"""FAQ markdown files -> entries, with every problem tied to a file and a line.

Editors are not programmers: whatever is wrong in a file must come back as
`path:line: message` they can act on, never as a traceback.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

try:  # libyaml is ~10x faster, which matters for large knowledge bases
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

KNOWN_KEYS = ("id", "language", "questions", "tags")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_LANGUAGE = re.compile(r"[a-z]{2}")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        label = "" if self.severity == "error" else "warning: "
        return f"{self.path}:{self.line}: {label}{self.message}"


@dataclass(frozen=True)
class Entry:
    """One markdown file: one entry in one language."""

    id: str
    language: str
    title: str
    answer: str
    questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    path: str = ""
    line: int = 1  # line of the heading
    id_line: int = 1  # line of the `id:` key (1 when the id comes from the file name)
    language_line: int = 1  # line of the `language:` key (1 when it is the default)
    question_lines: tuple[int, ...] = field(default=(), compare=False)

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The ways customers ask this entry: the heading first, then `questions`."""
        return (self.title, *self.questions)

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.language)

    def line_of(self, phrasing_index: int) -> int:
        """Source line of phrasing `i` (0 is the heading)."""
        if phrasing_index == 0 or phrasing_index > len(self.question_lines):
            return self.line
        return self.question_lines[phrasing_index - 1]

    def fingerprint(self) -> str:
        raw = "\x1f".join([self.id, self.language, self.title, self.answer, *self.questions])
        return hashlib.sha1(raw.encode()).hexdigest()


def read_source(path: Path, rel: str) -> tuple[str | None, Problem | None]:
    """A file's text, or the problem that stops an editor's file from being read."""
    try:
        return path.read_text(encoding="utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, Problem(rel, 1, f"not UTF-8 text ({exc.reason} at byte {exc.start})")


def relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def parse_file(path: Path, root: Path, default_language: str) -> tuple[Entry | None, list[Problem]]:
    """Parse one FAQ file. Returns the entry (None when it has errors) and its problems."""
    rel = relative(path, root)
    text, problem = read_source(path, rel)
    if text is None:
        return None, [problem]
    return parse_text(text, rel, default_id=path.stem, default_language=default_language)


def parse_text(text: str, rel: str, default_id: str, default_language: str) -> tuple[Entry | None, list[Problem]]:
    lines = text.splitlines()
    problems: list[Problem] = []
    meta: dict = {}
    key_lines: dict[str, int] = {}
    body_start = 0

    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is None:
            return None, [Problem(rel, 1, "front matter is not closed: add a line with '---' after it")]
        meta, key_lines, fm_problems = _front_matter("\n".join(lines[1:end]), rel, first_line=2)
        problems += fm_problems
        body_start = end + 1

    heading_at, title, answer, body_problems = _body(lines, body_start, rel)
    problems += body_problems

    entry_id = meta.get("id", default_id)
    language = meta.get("language", default_language)
    questions = meta.get("questions", [])
    tags = meta.get("tags", [])
    if isinstance(tags, str):
        tags = [tags]
    problems += _check_fields(rel, key_lines, entry_id, language, questions, tags)

    if any(p.severity == "error" for p in problems):
        return None, problems
    question_lines = tuple(
        key_lines.get(f"questions[{i}]", key_lines.get("questions", 1)) for i in range(len(questions))
    )
    entry = Entry(
        id=str(entry_id),
        language=str(language),
        title=title,
        answer=answer,
        questions=tuple(q.strip() for q in questions),
        tags=tuple(t.strip() for t in tags),
        path=rel,
        line=heading_at,
        id_line=key_lines.get("id", 1),
        language_line=key_lines.get("language", 1),
        question_lines=question_lines,
    )
    return entry, problems


def _front_matter(source: str, rel: str, first_line: int) -> tuple[dict, dict[str, int], list[Problem]]:
    """YAML front matter as a dict, the line of each key (and list item), and problems.

    Values are read from the node tree as the text the editor typed: YAML 1.1 would read
    `id: no` as false, `language: no` (Norwegian) as false and `id: 0123` as 83."""
    try:
        node = yaml.compose(source, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = first_line + (mark.line if mark else 0)
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return {}, {}, [Problem(rel, line, f"front matter is not valid YAML: {reason}")]
    if node is None:
        return {}, {}, []
    if not isinstance(node, yaml.MappingNode):
        return {}, {}, [Problem(rel, first_line, "front matter must be 'key: value' lines")]

    meta: dict = {}
    key_lines: dict[str, int] = {}
    problems = []
    for key_node, value_node in node.value:
        key = _as_text(key_node)
        line = first_line + key_node.start_mark.line
        if not isinstance(key, str) or key not in KNOWN_KEYS:
            hint = difflib.get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.6) if isinstance(key, str) else []
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else f" (allowed: {', '.join(KNOWN_KEYS)})"
            problems.append(Problem(rel, line, f"unknown key '{key}'{suggestion}"))
            continue
        if key in meta:
            problems.append(Problem(rel, line, f"key '{key}' appears twice"))
            continue
        key_lines[key] = line
        if isinstance(value_node, yaml.SequenceNode):
            for i, item in enumerate(value_node.value):
                key_lines[f"{key}[{i}]"] = first_line + item.start_mark.line
        meta[key] = _as_text(value_node)
    return meta, key_lines, problems


def _as_text(node: yaml.Node, depth: int = 0):
    """A value as typed: every scalar (plain or quoted) is its text; lists and mappings
    keep their shape so the field checks can say what is wrong with them. Deeper than
    two levels nothing is valid anyway, which also stops at an alias that contains
    itself."""
    if isinstance(node, yaml.ScalarNode):
        return node.value
    if depth >= 2:
        return None
    if isinstance(node, yaml.SequenceNode):
        return [_as_text(item, depth + 1) for item in node.value]
    return {
        k.value if isinstance(k, yaml.ScalarNode) else str(i): _as_text(v, depth + 1)
        for i, (k, v) in enumerate(node.value)
    }


def _body(lines: list[str], start: int, rel: str) -> tuple[int, str, str, list[Problem]]:
    """Find the level-1 heading (the question) and the answer below it."""
    heading_at = None
    title = ""
    answer_lines: list[str] = []
    problems = []
    in_fence = False
    for i in range(start, len(lines)):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
        is_heading = not in_fence and (line.startswith("# ") or line.rstrip() == "#")
        if heading_at is None:
            if is_heading:
                heading_at, title = i + 1, line[1:].strip()
            elif line.strip():
                problems.append(Problem(rel, i + 1, "text before the '# Question' heading"))
                return i + 1, "", "", problems
            continue
        if is_heading:
            problems.append(Problem(rel, i + 1, "a second '# ' heading: put one entry per file"))
            break
        answer_lines.append(line)

    if heading_at is None:
        return start + 1, "", "", [Problem(rel, start + 1, "missing the '# Question' heading")]
    if not title:
        problems.append(Problem(rel, heading_at, "the '# ' heading is empty: write the question"))
    answer = "\n".join(answer_lines).strip()
    if not answer:
        problems.append(Problem(rel, heading_at, "empty answer: write it below the heading"))
    return heading_at, title, answer, problems


def _check_fields(rel: str, key_lines: dict[str, int], entry_id, language, questions, tags) -> list[Problem]:
    problems = []
    if not isinstance(entry_id, str) or not _ID.fullmatch(entry_id):
        problems.append(
            Problem(rel, key_lines.get("id", 1), f"id {entry_id!r} must be letters, digits, '-', '_' or '.'")
        )
    if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
        problems.append(
            Problem(rel, key_lines.get("language", 1), f"language {language!r} must be a two-letter code like pl or en")
        )
    if not isinstance(questions, list):
        problems.append(Problem(rel, key_lines.get("questions", 1), "questions must be a list ('- question' lines)"))
    else:
        for i, q in enumerate(questions):
            line = key_lines.get(f"questions[{i}]", key_lines.get("questions", 1))
            if not isinstance(q, str) or not q.strip():
                problems.append(Problem(rel, line, f"question {i + 1} must be non-empty text"))
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        problems.append(Problem(rel, key_lines.get("tags", 1), "tags must be a list like [returns, delivery]"))
    return problems
