"""The last valid text of every FAQ file, kept on disk, so that a restart with a broken
file still serves that file's entry.

While the bot runs, a bad edit leaves the previous snapshot in memory. A restart has no
previous snapshot: a file broken while the bot was down (or whose edit was refused just
before) would drop its entry, and customers asking its question would be answered,
confidently, by the next-closest entry. So every load that validates keeps the text of
each valid file, and a start parses the kept copy of each file that now fails.

Only files that exist and fail are substituted: a deleted file stays deleted, whatever
copy of it is kept. Copies live in `<folder>/<hash of the kb folder>/<relative path>`
(one knowledge base's copies never serve another's), each written to a temporary file
and renamed over the old copy, so a crash leaves the old copy or the new one, never half.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .entries import Entry, Problem, parse_text
from .loader import LoadResult

log = logging.getLogger(__name__)

_ID_LINE = re.compile(r"""^id:\s*["']?([^"'#\s]+)""")


class LastGoodStore:
    """One knowledge base's kept copies. Disk errors are logged, never raised: keeping
    copies must not stop the bot from answering."""

    def __init__(self, folder: Path | None, kb_dir: Path) -> None:
        key = hashlib.sha256(str(Path(kb_dir).resolve()).encode()).hexdigest()[:16]
        self.root = None if folder is None else Path(folder) / key
        self.kb_dir = Path(kb_dir).resolve()
        self._digests: dict[str, str] | None = None  # what is on disk, read once, then kept in step

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def read(self, rel: str) -> str | None:
        """The kept text of one file, or None."""
        if self.root is None:
            return None
        try:
            return (self.root / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def saved_at(self, rel: str) -> float | None:
        try:
            return (self.root / rel).stat().st_mtime if self.root is not None else None
        except OSError:
            return None

    def save(self, sources: dict[str, str], existing: set[str]) -> None:
        """Keep `sources` (relative path -> text of a file that validated), and drop the
        copies of files that no longer exist, so that a file deleted and later created
        again broken does not come back with its old text."""
        if self.root is None:
            return
        try:
            digests = self._on_disk()
            for rel, text in sources.items():
                digest = _digest(text)
                if digests.get(rel) != digest:
                    self._write(rel, text)
                    digests[rel] = digest
            for rel in [r for r in digests if r not in existing]:
                (self.root / rel).unlink(missing_ok=True)
                del digests[rel]
            (self.root / "kb_dir.txt").write_text(f"{self.kb_dir}\n", encoding="utf-8")  # for whoever looks
        except OSError as exc:
            self._digests = None  # read again next time
            log.warning("knowledge base: could not keep the last good FAQ files in %s: %s", self.root, exc)

    def _on_disk(self) -> dict[str, str]:
        if self._digests is None:
            found = {}
            if self.root.is_dir():
                for path in self.root.rglob("*.md"):
                    found[path.relative_to(self.root).as_posix()] = hashlib.sha1(path.read_bytes()).hexdigest()
            self._digests = found
        return self._digests

    def _write(self, rel: str, text: str) -> None:
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")  # hidden, not *.md
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass(frozen=True)
class FileGap:
    """A file that failed validation at start: served from its kept copy (stale) or not
    at all (missing)."""

    path: str
    id: str
    problem: str  # its errors, "path:line: message; ..."

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "id": self.id, "problem": self.problem}


@dataclass
class Recovery:
    entries: list[Entry] = field(default_factory=list)  # parsed from kept copies
    stale: list[FileGap] = field(default_factory=list)
    missing: list[FileGap] = field(default_factory=list)


def recover(result: LoadResult, store: LastGoodStore, default_language: str) -> Recovery:
    """For each file that exists but gave no entry: its entry from the kept copy (parsed
    with the same rules), or a record that it is missing."""
    recovery = Recovery()
    taken = {e.key for e in result.entries}
    for rel in result.broken:
        problem = "; ".join(str(p) for p in result.problems_of(rel) if p.severity == "error")
        default_id = PurePosixPath(rel).stem
        entry = _kept_entry(store, rel, default_id, default_language)
        if entry is None or entry.key in taken:
            if entry is not None:
                problem += f"; its last good copy has id '{entry.id}' ({entry.language}), now used by another file"
            guessed = entry.id if entry is not None else guess_id(result.sources.get(rel, ""), default_id)
            recovery.missing.append(FileGap(rel, guessed, problem))
            continue
        taken.add(entry.key)
        recovery.entries.append(entry)
        recovery.stale.append(FileGap(rel, entry.id, problem))
    return recovery


def _kept_entry(store: LastGoodStore, rel: str, default_id: str, default_language: str) -> Entry | None:
    text = store.read(rel)
    if text is None:
        return None
    entry, problems = parse_text(text, rel, default_id=default_id, default_language=default_language)
    if entry is None:  # valid when kept, not under today's rules or settings
        log.warning("knowledge base: the last good copy of %s no longer validates: %s", rel, _first(problems))
    return entry


def _first(problems: list[Problem]) -> str:
    return str(next((p for p in problems if p.severity == "error"), problems[0])) if problems else ""


def guess_id(text: str, default_id: str) -> str:
    """The id a broken file most likely has, to name what is not served: its `id:` line
    (even when the front matter around it does not parse), else the file name."""
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        for line in lines[1:]:
            if line.strip() == "---":
                break
            match = _ID_LINE.match(line)
            if match:
                return match.group(1)
    return default_id
