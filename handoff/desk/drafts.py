"""'Save as FAQ draft': an agent's answer to a customer's question, as a FAQ markdown
file that editors review before moving it into the FAQ folder.

Drafts live in their own folder (`drafts_dir`, data/faq-drafts), outside the FAQ folder
the index reads, so the bot never serves one. Each draft is a complete, valid FAQ file
(`faqbot kb validate` checks the drafts too): the id is the title's slug plus a short
random suffix, and a file is never overwritten. Where the draft came from is a YAML
comment in the front matter: the FAQ format has no key for it, and a comment in the
answer would reach customers once the draft is published.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import yaml

from knowledge.entries import parse_text
from knowledge.settings import PROJECT_ROOT

MAX_TITLE = 200
MAX_QUESTION = 2000
MAX_ANSWER = 20000
SLUG_LENGTH = 48
_POLISH = str.maketrans({"ł": "l", "Ł": "L"})  # the one Polish letter NFKD does not take apart


class DraftError(ValueError):
    """The draft cannot be written as asked; the message says why."""


def write_draft(
    folder: Path,
    *,
    question: str,
    answer: str,
    title: str | None,
    language: str,
    conversation_id: str,
    author: str,
    more_questions: Sequence[str] = (),
    origin: str | None = None,
) -> Path:
    """Write a new draft file and return its path. `more_questions`: further phrasings
    (a knowledge gap's, handoff/reports/gaps.py); `origin`: where the draft came from,
    when not from a desk conversation."""
    question, answer = _one_line(question), answer.strip()
    more = [q for q in dict.fromkeys(_one_line(q) for q in more_questions) if q and q != question]
    title = _one_line(title) if title and title.strip() else question
    if not question:
        raise DraftError('"question" must be a non-empty string')
    if not answer:
        raise DraftError('"answer" must be a non-empty string')
    if len(title) > MAX_TITLE or max(map(len, [question, *more])) > MAX_QUESTION or len(answer) > MAX_ANSWER:
        raise DraftError(
            f"a draft takes a title up to {MAX_TITLE}, a question up to {MAX_QUESTION} "
            f"and an answer up to {MAX_ANSWER} characters"
        )
    folder.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
        entry_id = f"{slug(title)}-{secrets.token_hex(3)}"
        text = draft_text(entry_id, language, question, title, answer, conversation_id, author, more, origin)
        _check(text, entry_id, language)
        path = folder / f"{entry_id}.md"
        try:
            with path.open("x", encoding="utf-8") as out:  # never overwrite
                out.write(text)
        except FileExistsError:
            continue
        return path
    raise DraftError("could not find a free file name for the draft")  # pragma: no cover - 16M names per slug


def draft_text(
    entry_id: str,
    language: str,
    question: str,
    title: str,
    answer: str,
    conversation_id: str,
    author: str,
    more_questions: Sequence[str] = (),
    origin: str | None = None,
) -> str:
    front = yaml.safe_dump(
        {"id": entry_id, "language": language, "questions": [question, *more_questions]},
        allow_unicode=True,
        sort_keys=False,
        width=10_000,
    )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    source = origin or f"from the desk: conversation {conversation_id}"
    origin = f"# draft {_one_line(source)}, agent {_one_line(author)}, {when}"
    return f"---\n{origin}\n{front}---\n# {title}\n\n{answer}\n"


def slug(text: str) -> str:
    """`Jak zwrócić towar?` -> `jak-zwrocic-towar`: a file name and id anyone can type."""
    ascii_text = unicodedata.normalize("NFKD", text.translate(_POLISH)).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return words[:SLUG_LENGTH].rstrip("-") or "draft"


def display_path(path: Path) -> str:
    """Relative to the project when inside it (what an editor opens), else absolute."""
    return path.relative_to(PROJECT_ROOT).as_posix() if path.is_relative_to(PROJECT_ROOT) else str(path)


def _check(text: str, entry_id: str, language: str) -> None:
    """The draft must be a valid FAQ file, or editors would get a broken one to review
    (e.g. an answer with a line starting with '# ', which would read as a second entry)."""
    _, problems = parse_text(text, f"{entry_id}.md", entry_id, language)
    errors = [p.message for p in problems if p.severity == "error"]
    if errors:
        raise DraftError("the draft would not be a valid FAQ entry: " + "; ".join(errors))


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())
