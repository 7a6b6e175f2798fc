"""Knowledge gaps: what customers asked that the bot could not answer, grouped by meaning,
and a FAQ draft from a group in one click.

A gap is a customer message the bot marked when it happened (`messages.gap`: "fallback",
"handoff" or "low_confidence"). The hub holds no model: the questions go to the action
server's `POST /cluster` (bot/server.py, knowledge/gaps.py), which embeds them through its
cache and answers with groups of indexes; this module selects the questions in SQL and
turns the groups into `Cluster`s. The drafts are the desk's ("Save as FAQ draft",
handoff/desk/drafts.py), so `faqbot kb validate` checks them like any other.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select

from knowledge.text import detect_language

from ..desk.drafts import write_draft
from ..models import Conversation, Message
from .model import Cluster, Filters

log = logging.getLogger(__name__)

LIMIT = 2000  # newest gap questions of a period that are grouped: enough to see the topics
TIMEOUT = 60.0  # seconds; the action server answers within 20 s, "pending" if still embedding
PLACEHOLDER_ANSWER = {
    "pl": "TODO: napisz tu odpowiedź na powyższe pytania klientów, zanim przeniesiesz ten plik do folderu FAQ.",
    "en": "TODO: write the answer to the customers' questions above here before moving this file into the FAQ folder.",
}


class GapsUnavailable(RuntimeError):
    """The questions could not be grouped (the action server is down, slow or refused):
    the message says so in words a supervisor can pass on. `pending`: the action server
    is still reading new questions (a first report of many); a reload in a minute shows
    the groups."""

    def __init__(self, message: str, pending: bool = False) -> None:
        super().__init__(message)
        self.pending = pending


@dataclass(frozen=True)
class GapQuestion:
    message_id: int
    text: str
    reason: str
    language: str
    at: datetime


def clusters(
    db: Any,
    filters: Filters,
    actions_url: str | None = None,
    limit: int = LIMIT,
    timeout: float = TIMEOUT,
    wait: float | None = None,
) -> list[Cluster]:
    """The period's unanswered questions grouped by meaning, largest group first, then the
    newest. Raises GapsUnavailable when the action server cannot group them."""
    questions = gap_questions(db, filters, limit)
    if not questions:
        return []
    groups = request_groups(actions_url or _actions_url(), [q.text for q in questions], timeout, wait)
    return build_clusters(questions, groups)


def gap_questions(db: Any, filters: Filters, limit: int = LIMIT) -> list[GapQuestion]:
    """The newest `limit` customer messages of the period the bot could not answer, in the
    filters' channel and language (the conversation's), newest first."""
    query = (
        select(Message.id, Message.text, Message.gap, Conversation.language, Message.created_at)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Message.gap.is_not(None),
            Message.role == "customer",
            Message.created_at >= _utc(filters.since),
            Message.created_at < _utc(filters.until),
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    if filters.channel:
        query = query.where(Conversation.channel == filters.channel)
    if filters.language:
        query = query.where(Conversation.language == filters.language)
    with db.transaction() as session:
        rows = session.execute(query).all()
    return [
        GapQuestion(i, text.strip(), gap, language, _utc(at)) for i, text, gap, language, at in rows if text.strip()
    ]


def request_groups(
    actions_url: str, texts: Sequence[str], timeout: float = TIMEOUT, wait: float | None = None
) -> list[dict[str, Any]]:
    """`POST /cluster` on the action server: groups of indexes into `texts`. `wait`: how long
    the action server may embed new texts before answering 'pending' (its default: 20 s)."""
    if not actions_url:
        raise GapsUnavailable("knowledge gaps need the action server, and ACTIONS_URL is empty")
    try:
        body = {"texts": list(texts), **({"wait": wait} if wait is not None else {})}
        response = requests.post(f"{actions_url.rstrip('/')}/cluster", json=body, timeout=timeout)
    except requests.Timeout:
        raise GapsUnavailable(f"the action server took over {timeout:.0f} s to group the questions") from None
    except requests.RequestException as exc:
        log.warning("knowledge gaps: action server at %s unreachable (%s)", actions_url, exc.__class__.__name__)
        raise GapsUnavailable("the action server, which groups the questions, is not reachable") from None
    if response.status_code == 503 and _json(response).get("pending"):
        raise GapsUnavailable(
            f"the action server is still reading {len(texts)} questions: reload the page in a minute", pending=True
        )
    if response.status_code != 200:
        raise GapsUnavailable(f"the action server refused to group the questions (HTTP {response.status_code})")
    try:
        groups = response.json()["groups"]
        return [_checked(g, len(texts)) for g in groups]
    except (ValueError, KeyError, TypeError) as exc:
        raise GapsUnavailable(f"the action server's groups could not be read ({exc.__class__.__name__})") from None


def build_clusters(questions: Sequence[GapQuestion], groups: Sequence[dict[str, Any]]) -> list[Cluster]:
    """Clusters from the action server's groups, largest first, then the newest."""
    found = []
    for group in groups:
        members = [questions[i] for i in group["members"]]
        examples = [questions[i].text for i in group["examples"]]
        representative = questions[group["representative"]].text
        if representative in examples:  # representative first, as the model promises
            examples.remove(representative)
        found.append(
            Cluster(
                size=len(members),
                representative=representative,
                examples=[representative, *examples],
                languages=[language for language, _ in Counter(q.language for q in members).most_common()],
                newest=max(q.at for q in members),
                reasons=dict(Counter(q.reason for q in members).most_common()),
                message_ids=sorted(q.message_id for q in members),
            )
        )
    found.sort(key=lambda c: (-c.size, -c.newest.timestamp(), c.message_ids[0]))
    return found


def create_draft(
    cluster: Cluster, drafts_dir: str | Path, author: str, language: str | None = None, answer: str | None = None
) -> Path:
    """A FAQ draft for editors with the cluster's phrasings as its questions (those in the
    draft's language; all of them if none is), the representative as its title, and an
    answer to write. Raises DraftError (a ValueError) when it cannot be a valid entry."""
    language = language or (cluster.languages[0] if cluster.languages else "pl")
    phrasings = [q for q in cluster.examples if detect_language(q, language) == language] or list(cluster.examples)
    title = phrasings[0]
    return write_draft(
        Path(drafts_dir),
        question=title,
        more_questions=phrasings[1:],
        answer=answer or PLACEHOLDER_ANSWER.get(language, PLACEHOLDER_ANSWER["en"]),
        title=title,
        language=language,
        conversation_id="",
        author=author,
        origin=f"from the reports: a knowledge gap of {cluster.size} question(s), messages "
        + " ".join(str(i) for i in cluster.message_ids[:20])
        + (" ..." if len(cluster.message_ids) > 20 else ""),
    )


def draft_from_cluster(settings: Any, cluster: Cluster, language: str, author: str = "reports") -> Path:
    """`create_draft` into the hub's drafts folder (`settings.drafts_dir`)."""
    return create_draft(cluster, settings.drafts_dir, author=author, language=language)


def _checked(group: Any, count: int) -> dict[str, Any]:
    """A group whose indexes are all in range, or TypeError/KeyError."""
    members, examples, representative = group["members"], group["examples"], group["representative"]
    indexes = [*members, *examples, representative]
    if not members or not all(isinstance(i, int) and 0 <= i < count for i in indexes):
        raise TypeError("index out of range")
    return {"members": members, "examples": examples, "representative": representative}


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _actions_url() -> str:
    from ..config import HubSettings

    return os.environ.get("ACTIONS_URL", HubSettings.actions_url).rstrip("/")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
