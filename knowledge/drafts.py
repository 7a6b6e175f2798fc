"""FAQ drafts: entries agents saved from the desk ("Save as FAQ draft") for editors to
review, in their own folder (FAQBOT_DRAFTS_DIR, default data/faq-drafts).

The index never reads them: it reads the FAQ folder only, and a drafts folder inside it
is refused. `faqbot kb validate` checks them as it checks FAQ files, so that a draft an
editor moves into the FAQ is known to be valid; an id a draft shares with a published
entry is a warning (moving it in would be a duplicate id).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .entries import Entry, Problem
from .loader import EntryLoader
from .settings import PROJECT_ROOT, project_path

DEFAULT_DRAFTS_DIR = PROJECT_ROOT / "data" / "faq-drafts"


@dataclass
class DraftsCheck:
    folder: Path
    files: int = 0
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # paths relative to the project (or absolute)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def drafts_dir(explicit: str | os.PathLike | None = None, kb_given: bool = False) -> Path | None:
    """Which drafts folder to check: `--drafts`, else FAQBOT_DRAFTS_DIR, else
    data/faq-drafts, but only for the project's own FAQ (a `--kb` elsewhere has no
    drafts unless asked for)."""
    if explicit is not None:
        return Path(explicit).resolve()
    if os.environ.get("FAQBOT_DRAFTS_DIR"):
        return project_path(os.environ["FAQBOT_DRAFTS_DIR"])
    return None if kb_given else DEFAULT_DRAFTS_DIR


def check_drafts(
    folder: Path, kb_dir: Path, published: list[Entry], default_language: str, languages: tuple[str, ...]
) -> DraftsCheck:
    """Problems of every draft in `folder` (none if it does not exist), with file and line."""
    check = DraftsCheck(folder)
    label = _label(folder)
    if folder.resolve().is_relative_to(kb_dir.resolve()):
        check.problems.append(
            Problem(label, 1, f"the drafts folder is inside the FAQ folder {kb_dir}: the bot would serve the drafts")
        )
        return check
    if not folder.is_dir():
        return check
    result = EntryLoader(folder, default_language, languages).load()
    check.files = len(result.paths)
    check.entries = result.entries
    problems = [p for p in result.problems if not p.message.startswith("no FAQ files")]  # none yet is fine
    problems += _shared_ids(result.entries, published)
    check.problems = [Problem(f"{label}/{p.path}", p.line, f"(draft) {p.message}", p.severity) for p in problems]
    return check


def _shared_ids(drafts: list[Entry], published: list[Entry]) -> list[Problem]:
    taken = {e.key: e for e in published}
    return [
        Problem(
            d.path,
            d.id_line,
            f"id '{d.id}' ({d.language}) is already used by {taken[d.key].path} in the FAQ: "
            "give the draft another id before publishing it",
            severity="warning",
        )
        for d in drafts
        if d.key in taken
    ]


def _label(folder: Path) -> str:
    folder = folder.resolve()
    return folder.relative_to(PROJECT_ROOT).as_posix() if folder.is_relative_to(PROJECT_ROOT) else str(folder)
