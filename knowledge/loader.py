"""A knowledge-base folder -> its entries and problems, re-reading only what changed.

Hot reload polls the folder every second; at 10,000 files re-parsing everything each
time would cost seconds, so parsed files are kept by (mtime, size).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .entries import Entry, Problem, parse_file

FileState = tuple[int, int]  # (mtime_ns, size)


@dataclass
class LoadResult:
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

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

    def __init__(self, root: Path, default_language: str = "pl") -> None:
        self.root = Path(root)
        self.default_language = default_language
        self._parsed: dict[Path, tuple[FileState, Entry | None, list[Problem]]] = {}

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
                entry, problems = parse_file(path, self.root, self.default_language)
                cached = (file_state, entry, problems)
            parsed[path] = cached
            if cached[1] is not None:
                result.entries.append(cached[1])
            result.problems.extend(cached[2])
        self._parsed = parsed
        result.problems.extend(duplicate_ids(result.entries))
        if not state:
            result.problems.append(Problem(str(self.root), 1, "no FAQ files (*.md) in this folder"))
        return result


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
