"""A knowledge-base folder -> its entries and problems, re-reading only what changed.

Hot reload polls the folder every second; at 10,000 files re-parsing everything each
time would cost seconds, so parsed files are kept by (mtime, size).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .entries import Entry, Problem, parse_text, read_source, relative

FileState = tuple[int, int]  # (mtime_ns, size)


@dataclass
class LoadResult:
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # relative path -> text, for every readable file
    broken: list[str] = field(default_factory=list)  # relative paths of files that gave no entry

    def valid_sources(self) -> dict[str, str]:
        """Text of the files that gave an entry with no error against them: what may be
        kept as their last good version."""
        flagged = {p.path for p in self.errors}
        return {e.path: self.sources[e.path] for e in self.entries if e.path not in flagged}

    @property
    def paths(self) -> set[str]:
        """Relative paths of every file in the folder, readable or not."""
        return {*self.sources, *self.broken}

    def problems_of(self, rel: str) -> list[Problem]:
        return [p for p in self.problems if p.path == rel]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def faq_files(root: Path) -> list[Path]:
    """Every `*.md` under `root`, skipping hidden files and folders (editor swap files,
    `.git`)."""
    found = []
    for path in root.rglob("*.md"):
        rel = path.relative_to(root).parts
        if not any(part.startswith(".") for part in rel) and path.is_file():
            found.append(path)
    return sorted(found)


class EntryLoader:
    """Parses a knowledge-base folder; keeps what it parsed for unchanged files."""

    def __init__(self, root: Path, default_language: str = "pl", languages: tuple[str, ...] | None = None) -> None:
        self.root = Path(root)
        self.default_language = default_language
        self.languages = languages  # None: any language is served
        self._parsed: dict[Path, tuple[FileState, Entry | None, list[Problem], str | None]] = {}

    def scan(self) -> dict[Path, FileState]:
        """The folder's files and their (mtime, size): cheap enough to poll."""
        if not self.root.is_dir():
            raise FileNotFoundError(f"knowledge base folder {self.root} does not exist")
        state = {}
        for path in faq_files(self.root):
            try:
                st = path.stat()
            except FileNotFoundError:  # deleted between listing and stat
                continue
            state[path] = (st.st_mtime_ns, st.st_size)
        return state

    def load(self, state: dict[Path, FileState] | None = None) -> LoadResult:
        state = self.scan() if state is None else state
        result = LoadResult()
        parsed = {}
        for path, file_state in state.items():
            cached = self._parsed.get(path)
            if cached is None or cached[0] != file_state:
                cached = (file_state, *self._parse(path))
            parsed[path] = cached
            _, entry, problems, text = cached
            rel = relative(path, self.root)
            if text is not None:
                result.sources[rel] = text
            if entry is None:
                result.broken.append(rel)
            else:
                result.entries.append(entry)
            result.problems.extend(problems)
        self._parsed = parsed
        result.problems.extend(duplicate_ids(result.entries))
        if self.languages is not None:
            result.problems.extend(unsupported_languages(result.entries, self.languages))
        if not state:
            result.problems.append(Problem(str(self.root), 1, "no FAQ files (*.md) in this folder"))
        return result

    def _parse(self, path: Path) -> tuple[Entry | None, list[Problem], str | None]:
        """The entry, problems and text of one file; the text is kept because it is what
        validated (re-reading the file later could read a newer, broken edit)."""
        rel = relative(path, self.root)
        text, problem = read_source(path, rel)
        if text is None:
            return None, [problem], None
        entry, problems = parse_text(text, rel, default_id=path.stem, default_language=self.default_language)
        return entry, problems, text


def duplicate_ids(entries: list[Entry]) -> list[Problem]:
    """Two files claiming the same id in the same language: the second one is an error."""
    seen: dict[tuple[str, str], Entry] = {}
    problems = []
    for entry in entries:
        first = seen.setdefault(entry.key, entry)
        if first is not entry:
            problems.append(
                Problem(
                    entry.path,
                    entry.id_line,
                    f"duplicate id '{entry.id}' in language {entry.language} "
                    f"(also in {first.path}); give one of them another id",
                )
            )
    return problems


def unsupported_languages(entries: list[Entry], languages: tuple[str, ...]) -> list[Problem]:
    """A file in a language customers are never answered in (FAQBOT_LANGUAGES).

    A warning, not an error: the file is well-formed and a translation in another
    language harms no one; it is only dead weight, or an id/language typo. When the
    entry has no version in a supported language at all, the bot does serve it, in the
    wrong language, so the warning says that instead."""
    served = {e.id for e in entries if e.language in languages}
    supported = ", ".join(languages)
    problems = []
    for entry in entries:
        if entry.language in languages:
            continue
        consequence = (
            "customers never get this translation"
            if entry.id in served
            else f"the entry has no version in them, so customers get it in {entry.language}"
        )
        problems.append(
            Problem(
                entry.path,
                entry.language_line,
                f"language '{entry.language}' is not supported (the bot answers in {supported}; "
                f"FAQBOT_LANGUAGES): {consequence}",
                severity="warning",
            )
        )
    return problems
