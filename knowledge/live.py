"""A knowledge base that follows its folder: edits go live within seconds, with no
retrain and no restart.

A background thread polls the folder. On a change it re-parses the changed files,
embeds only phrasings it has not seen and builds a new index while the old one keeps
answering, then swaps the reference (one assignment, atomic in Python); thresholds for
the new index are calibrated next and swapped in the same way. If the new files do not
validate, the old snapshot stays and the problems are logged.

A start has no old snapshot: a file that fails then is served from its last good copy
(see last_good.py), or reported as missing, loudly, in the log and in `status()`.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from .base import KnowledgeBase, Reply
from .calibrate import calibrate
from .embedder import Embedder, EmbeddingCache, Progress
from .entries import Problem
from .index import KnowledgeIndex
from .last_good import FileGap, LastGoodStore, Recovery, recover
from .loader import EntryLoader, FileState, LoadResult
from .settings import Settings

log = logging.getLogger(__name__)


class LiveKnowledgeBase:
    def __init__(self, settings: Settings, embedder: Embedder | None = None, progress: Progress | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.model)
        self.cache = EmbeddingCache(settings.cache_path)
        self.loader = EntryLoader(settings.kb_dir, settings.default_language, settings.languages)
        self.last_good = LastGoodStore(settings.last_good_dir, settings.kb_dir)
        self.last_swap_seconds = 0.0  # edit -> new entries answering
        self.last_reload_seconds = 0.0  # edit -> new thresholds too
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

        self._files: dict[Path, FileState] = self.loader.scan()
        result = self.loader.load(self._files)
        self.problems: list[Problem] = result.problems
        recovery = recover(result, self.last_good, settings.default_language)
        self._report_start(result, recovery)
        self.stale: list[FileGap] = recovery.stale  # files served from their last good copy
        self.missing: list[FileGap] = recovery.missing  # files whose entry is not served at all
        self.current = KnowledgeBase.build(
            result.entries + recovery.entries, self.embedder, self.cache, settings.default_language, progress=progress
        )
        self.version = 1  # bumped on every swap
        self.last_good.save(result.valid_sources(), result.paths)

    def _report_start(self, result: LoadResult, recovery: Recovery) -> None:
        """Every file not served as it is on disk gets a log line with its path:line."""
        for gap in recovery.stale:
            saved = self.last_good.saved_at(gap.path)
            kept = datetime.fromtimestamp(saved).isoformat(timespec="seconds") if saved else "unknown"
            log.warning(
                "knowledge base: %s -- serving entry '%s' from the last good copy of %s (kept %s)",
                gap.problem,
                gap.id,
                gap.path,
                kept,
            )
        why = "no last good copy" if self.last_good.enabled else "keeping last good copies is off (FAQBOT_KB_LAST_GOOD)"
        for gap in recovery.missing:
            log.error("knowledge base: %s -- entry '%s' is NOT served (%s)", gap.problem, gap.id, why)
        broken = set(result.broken)
        for problem in result.problems:
            if problem.path not in broken:
                level = logging.ERROR if problem.severity == "error" else logging.WARNING
                log.log(level, "knowledge base: %s", problem)

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
            previous, self.problems = self.problems, result.problems
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
            self.stale, self.missing = [], []  # every file validated: all served as on disk
            self._report_new_warnings(previous, result)
            self.last_good.save(result.valid_sources(), result.paths)
            log.info(
                "knowledge base reloaded: version %d, %d entries, live after %.2f s, calibrated after %.2f s",
                self.version,
                len(index),
                self.last_swap_seconds,
                self.last_reload_seconds,
            )
            return True

    def _report_new_warnings(self, previous: list[Problem], result: LoadResult) -> None:
        """Warnings an edit introduced (the others were logged before)."""
        for problem in sorted(set(result.warnings) - set(previous), key=str):
            log.warning("knowledge base: %s", problem)

    def status(self) -> dict[str, Any]:
        """What is served and what is wrong with it, for a health endpoint.

        `state` is "ok" when every file is served as it is on disk; "stale" when some are
        served from an older text (a kept copy at start, or an edit refused since);
        "incomplete" when some entry is not served at all. `problems` are the folder's
        current errors and warnings as `path:line: message`."""
        problems, stale, missing = self.problems, self.stale, self.missing
        refused = any(p.severity == "error" for p in problems)
        state = "incomplete" if missing else "stale" if stale or refused else "ok"
        return {
            "state": state,
            "version": self.version,
            "entries": len(self.current),
            "stale": [gap.as_dict() for gap in stale],
            "missing": [gap.as_dict() for gap in missing],
            "problems": [str(p) for p in problems],
        }

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
