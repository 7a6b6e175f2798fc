"""A knowledge base that follows its folder: edits go live within seconds, with no
retrain and no restart.

A background thread polls the folder. On a change it re-parses the changed files,
embeds only phrasings it has not seen and builds a new index while the old one keeps
answering, then swaps the reference (one assignment, atomic in Python); thresholds for
the new index are calibrated next and swapped in the same way. If the new files do not
validate, the old snapshot stays and the problems are logged.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from .base import KnowledgeBase, Reply
from .calibrate import calibrate
from .embedder import Embedder, EmbeddingCache, Progress
from .entries import Problem
from .index import KnowledgeIndex
from .loader import EntryLoader, FileState
from .settings import Settings

log = logging.getLogger(__name__)


class LiveKnowledgeBase:
    def __init__(self, settings: Settings, embedder: Embedder | None = None, progress: Progress | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.model)
        self.cache = EmbeddingCache(settings.cache_path)
        self.loader = EntryLoader(settings.kb_dir, settings.default_language)
        self.last_swap_seconds = 0.0  # edit -> new entries answering
        self.last_reload_seconds = 0.0  # edit -> new thresholds too
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

        self._files: dict[Path, FileState] = self.loader.scan()
        result = self.loader.load(self._files)
        self.problems: list[Problem] = result.problems
        for problem in result.errors:  # nothing older to keep: serve the valid files
            log.error("knowledge base: %s (file skipped)", problem)
        self.current = KnowledgeBase.build(
            result.entries, self.embedder, self.cache, settings.default_language, progress=progress
        )
        self.version = 1  # bumped on every swap

    def ask(self, text: str, language: str | None = None) -> Reply:
        return self.current.ask(text, language)

    def reload(self) -> bool:
        """Swap in a new snapshot if the folder changed and validates. True if swapped."""
        with self._reload_lock:
            try:
                files = self.loader.scan()
            except FileNotFoundError as exc:
                log.error("knowledge base not reloaded: %s", exc)
                return False
            if files == self._files:
                return False
            started = time.perf_counter()
            result = self.loader.load(files)
            self._files = files
            self.problems = result.problems
            if result.errors:
                log.error(
                    "knowledge base NOT reloaded, still serving version %d: %s",
                    self.version,
                    "; ".join(str(p) for p in result.errors),
                )
                return False
            # The new entries go live with the current thresholds at once; calibrating
            # the new index takes longer on a large knowledge base, and follows.
            index = KnowledgeIndex(result.entries, self.embedder, self.cache, previous=self.current.index)
            language = self.settings.default_language
            self.current = KnowledgeBase(index, self.current.calibration, language)
            self.version += 1
            self.last_swap_seconds = time.perf_counter() - started
            self.current = KnowledgeBase(index, calibrate(index, self.cache), language)
            self.last_reload_seconds = time.perf_counter() - started
            log.info(
                "knowledge base reloaded: version %d, %d entries, live after %.2f s, calibrated after %.2f s",
                self.version,
                len(index),
                self.last_swap_seconds,
                self.last_reload_seconds,
            )
            return True

    def start(self) -> LiveKnowledgeBase:
        """Follow the folder from a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="kb-reload", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _watch(self) -> None:
        while not self._stop.wait(self.settings.reload_interval):
            try:
                self.reload()
            except Exception:  # a bad edit must never kill the watcher
                log.exception("knowledge base reload failed; still serving version %d", self.version)
