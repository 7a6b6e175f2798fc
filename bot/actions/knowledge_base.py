"""The one knowledge base of the action server, loaded at import (start-up) and kept in
step with the FAQ folder by a background thread."""

from __future__ import annotations

import logging
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from knowledge.live import LiveKnowledgeBase  # noqa: E402
from knowledge.settings import Settings  # noqa: E402

log = logging.getLogger(__name__)

KB = LiveKnowledgeBase(Settings.from_env()).start()
log.info("knowledge base ready: %d entries from %s", len(KB.current), KB.settings.kb_dir)
