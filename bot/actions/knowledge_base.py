"""The one knowledge base of the action server, loaded at import (start-up) and kept in
step with the FAQ folder by a background thread."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from knowledge.live import LiveKnowledgeBase  # noqa: E402
from knowledge.settings import Settings  # noqa: E402

log = logging.getLogger(__name__)

T = TypeVar("T")

# Replies are worked out here, not on the action server's event loop: the loop stays free
# to take the next calls (and /health, /status) while one is embedded, and messages that
# arrive together are embedded together (knowledge/embedder.py Batcher). More threads than
# cores on purpose: most of them wait for the batch their message is in.
WORKERS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="reply")


async def off_loop(work: Callable[..., T], *args: object) -> T:
    """`work(*args)` on a worker thread, awaited."""
    return await asyncio.get_running_loop().run_in_executor(WORKERS, work, *args)


def _progress(done: int, total: int) -> None:
    """A first start embeds the whole knowledge base (minutes at 10,000 entries): say so."""
    step = max(256, total // 10)
    if done == total or done // step != (done - 256) // step:
        log.info("embedding the knowledge base: %d/%d texts", done, total)


def _report(kb: LiveKnowledgeBase) -> None:
    """One line an operator can grep for; each file not served as on disk was logged
    with its path:line just before, and `GET /status` (bot/server.py) lists them."""
    status = kb.status()
    log.info("knowledge base ready: %d entries from %s", status["entries"], kb.settings.kb_dir)
    if status["stale"] or status["missing"]:
        log.warning(
            "knowledge base %s: %d file(s) served from their last good copy, %d file(s) whose entry is not served",
            status["state"],
            len(status["stale"]),
            len(status["missing"]),
        )


KB = LiveKnowledgeBase(Settings.from_env(), progress=_progress).start()
_report(KB)
