"""The one knowledge base of the action server, loaded at import (start-up) and kept in
step with the FAQ folder by a background thread."""

from __future__ import annotations

import logging
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from knowledge.live import LiveKnowledgeBase  # noqa: E402
from knowledge.settings import Settings  # noqa: E402

log = logging.getLogger(__name__)


def _progress(done: int, total: int) -> None:
    """A first start embeds the whole knowledge base (minutes at 10,000 entries): say so."""
    step = max(256, total // 10)
    if done == total or done // step != (done - 256) // step:
        log.info("embedding the knowledge base: %d/%d texts", done, total)


KB = LiveKnowledgeBase(Settings.from_env(), progress=_progress).start()
log.info("knowledge base ready: %d entries from %s", len(KB.current), KB.settings.kb_dir)
