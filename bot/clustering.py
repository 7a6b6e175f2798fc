"""`POST /cluster` of the action server (wired in bot/server.py): texts grouped by meaning
(knowledge/gaps.py) for the reports' knowledge gaps.

Three things keep it from hurting the customers the same process answers:
- texts are embedded through the knowledge base's cache, 16 at a time: the model's lock
  is never held for long, so a customer's message waits for one small batch at most, and
  a reload of the reports page embeds nothing again;
- a request waits `wait` seconds at most (default 20). The work goes on after that and
  fills the cache; the answer is 503 `{"pending": true}` and asking again later (the page
  reloaded) finds the vectors there. The same texts asked again join the work under way
  instead of starting it twice;
- the clustering's linear algebra runs on one BLAS thread: on a few shared cores,
  OpenBLAS's default of a thread per core spins for cores others hold (an eigen-
  decomposition of 384x384 took 3.5 s instead of 0.09 s under load).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from knowledge.gaps import DEFAULT_THRESHOLD, Common, cluster
from knowledge.live import LiveKnowledgeBase

MAX_TEXTS = 3000  # the hub sends at most 2,000 gap questions (handoff/reports/gaps.py)
MAX_TEXT = 2000  # characters, as /search
MAX_WAIT = 60.0
DEFAULT_WAIT = 20.0
EMBED_CHUNK = 16  # texts per hold of the model lock: a reply waits for at most this many


def request_problem(body: object) -> str | None:
    """What is wrong with a `/cluster` body, in words a caller can act on; None if nothing."""
    if not isinstance(body, dict):
        return 'the body must be a JSON object like {"texts": ["..."]}'
    texts = body.get("texts")
    if not isinstance(texts, list) or not 1 <= len(texts) <= MAX_TEXTS:
        return f"'texts' must be a list of 1-{MAX_TEXTS} strings"
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            return f"texts[{i}] must be a string of 1-{MAX_TEXT} characters"
    if not _number(body.get("threshold"), -1, 1, inclusive=False):
        return "'threshold' must be a number between -1 and 1"
    if not _number(body.get("wait"), 0, MAX_WAIT):
        return f"'wait' must be a number of seconds from 0 to {MAX_WAIT:.0f}"
    return None


def _number(value: object, low: float, high: float, inclusive: bool = True) -> bool:
    """None (not given) or a number in range; JSON's true/false are not numbers here."""
    if value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return low <= value <= high if inclusive else low < value < high


class Clustering:
    def __init__(self, kb: LiveKnowledgeBase, executor: Executor) -> None:
        self.kb = kb
        self.executor = executor
        self._jobs: dict[str, asyncio.Future] = {}
        self._common: tuple[Any, Common] | None = None  # (index it was measured on, result)

    async def groups(self, texts: list[str], threshold: float | None, wait: float) -> list[dict[str, Any]] | None:
        """The groups, or None if they are not ready after `wait` seconds (the work goes on)."""
        key = hashlib.sha1(json.dumps([texts, threshold]).encode()).hexdigest()
        job = self._jobs.get(key)
        if job is None:
            job = asyncio.get_running_loop().run_in_executor(self.executor, self.compute, texts, threshold)
            self._jobs[key] = job
            job.add_done_callback(_forget(self._jobs, key))
        try:
            return await asyncio.wait_for(asyncio.shield(job), timeout=wait)
        except TimeoutError:
            return None

    def compute(self, texts: list[str], threshold: float | None = None) -> list[dict[str, Any]]:
        """Embed through the cache, a chunk at a time, and group."""
        chunks = range(0, len(texts), EMBED_CHUNK)
        vectors = np.vstack([self.kb.cache.embed(self.kb.embedder, texts[i : i + EMBED_CHUNK]) for i in chunks])
        with threadpool_limits(limits=1, user_api="blas"):
            found = cluster(texts, vectors, self.common(), default_threshold() if threshold is None else threshold)
        return [{"members": g.members, "representative": g.representative, "examples": g.examples} for g in found]

    def common(self) -> Common:
        """What the shop's questions share, measured on the knowledge base's phrasings once
        per version of the index."""
        index = self.kb.current.index
        if self._common is None or self._common[0] is not index:
            with threadpool_limits(limits=1, user_api="blas"):
                self._common = (index, Common.of(index.vectors))
        return self._common[1]


def default_threshold() -> float:
    """knowledge/gaps.py's, calibrated on the bundled e5 model; FAQBOT_GAP_THRESHOLD for
    another model (see the README, "Knowledge gaps")."""
    raw = os.environ.get("FAQBOT_GAP_THRESHOLD")
    return float(raw) if raw else DEFAULT_THRESHOLD


def _forget(jobs: dict[str, asyncio.Future], key: str) -> Callable[[asyncio.Future], None]:
    def forget(job: asyncio.Future) -> None:
        if jobs.get(key) is job:
            del jobs[key]

    return forget
