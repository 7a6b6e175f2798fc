"""A knowledge base that follows its folder: edits go live within seconds, with no
retrain and no restart.

A background thread polls the folder. On a change it re-parses the changed files,
embeds only phrasings it has not seen and builds a new index while the old one keeps
answering, then swaps the reference (one assignment, atomic in Python); thresholds for
the new index are calibrated next and swapped in the same way. If the new files do not
validate, the old snapshot stays and the problems are logged.

A start has no old snapshot: a file that fails then is served from its last good copy
(see last_good.py), or reported as missing, loudly, in the log and in `status()`.

With `Settings.adapt`, the model follows the content too (adapt.py): the tuned model
for the folder's content is served when one exists; otherwise the current model serves
the edit at once and a tuned one is trained in a niced child process (retrain.py),
cancelled by the next edit; when it is ready, the index and thresholds are rebuilt with
it and swapped in as one snapshot.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from .adapt import content_key, find_adapted, read_check
from .base import KnowledgeBase, Reply
from .calibrate import calibrate
from .embedder import Embedder, EmbeddingCache, Progress
from .entries import Entry, Problem
from .index import KnowledgeIndex
from .last_good import FileGap, LastGoodStore, Recovery, recover
from .loader import EntryLoader, FileState, LoadResult
from .retrain import DELAY, BackgroundTraining
from .settings import Settings

log = logging.getLogger(__name__)


class LiveKnowledgeBase:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        progress: Progress | None = None,
        adapt_delay: float = DELAY,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.model)  # the base model; the tuned one is found by content
        self.cache = EmbeddingCache(settings.cache_path)
        self.loader = EntryLoader(settings.kb_dir, settings.default_language, settings.languages)
        self.last_good = LastGoodStore(settings.last_good_dir, settings.kb_dir)
        self.last_swap_seconds = 0.0  # edit -> new entries answering
        self.last_reload_seconds = 0.0  # edit -> new thresholds too
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.training = BackgroundTraining(settings, self._adapted_ready, adapt_delay) if settings.adapt else None
        self.content_key = ""  # of what is served, with the base model: names the tuned model

        self._files: dict[Path, FileState] = self.loader.scan()
        result = self.loader.load(self._files)
        self.problems: list[Problem] = result.problems
        recovery = recover(result, self.last_good, settings.default_language)
        self._report_start(result, recovery)
        self.stale: list[FileGap] = recovery.stale  # files served from their last good copy
        self.missing: list[FileGap] = recovery.missing  # files whose entry is not served at all
        self._entries = result.entries + recovery.entries
        self.current = KnowledgeBase.build(
            self._entries, self._start_model(self._entries), self.cache, settings.default_language, progress=progress
        )
        self.version = 1  # bumped on every swap
        if self.training is not None and self.current.index.embedder is self.embedder:
            self._adapt(self._entries)
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
            index = KnowledgeIndex(result.entries, self.current.index.embedder, self.cache, previous=self.current.index)
            language = self.settings.default_language
            self.current = KnowledgeBase(index, self.current.calibration, language)
            self.version += 1
            self.last_swap_seconds = time.perf_counter() - started
            self.current = KnowledgeBase(index, calibrate(index, self.cache), language)
            self.last_reload_seconds = time.perf_counter() - started
            self._entries = result.entries
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
        if self.training is not None:
            self._adapt(result.entries)
        return True

    # -- the model that follows the content -------------------------------------

    def _start_model(self, entries: list[Entry]) -> Embedder:
        """The tuned model for this content when adaptation is on and one was kept."""
        if self.training is None:
            return self.embedder
        self.content_key = content_key(entries, self.embedder.fingerprint)
        folder = find_adapted(self.settings.adapt_dir, self.content_key)
        if folder is None:
            return self.embedder
        log.info("knowledge base: serving the model adapted to this FAQ (%s)", folder)
        return Embedder(str(folder))

    def _adapt(self, entries: list[Entry]) -> None:
        """After an edit: swap in the tuned model of this content if it exists (an edit
        undone), else train one unless a check already found it no better."""
        key = content_key(entries, self.embedder.fingerprint)
        self.content_key = key
        folder = find_adapted(self.settings.adapt_dir, key)
        if folder is not None:
            if self.current.index.embedder.name != str(folder.resolve()):
                self._adapted_ready(key, folder)
        elif read_check(self.settings.adapt_dir, key) is None:
            self.training.request(key)
        else:
            self.training.cancel()

    def _adapted_ready(self, key: str, folder: Path) -> None:
        """Index and thresholds rebuilt with the tuned model, then one swap. The child
        warmed the embedding cache, so this embeds nothing on a FAQ that did not change."""
        started = time.perf_counter()
        embedder = Embedder(str(folder))
        with self._reload_lock:
            if key != self.content_key:  # edited while training: the next model will come
                return
            index = KnowledgeIndex(self._entries, embedder, self.cache)
            self.current = KnowledgeBase(index, calibrate(index, self.cache), self.settings.default_language)
            self.version += 1
        log.info(
            "knowledge base: the model adapted to this FAQ is live (version %d, swap built in %.1f s)",
            self.version,
            time.perf_counter() - started,
        )

    @property
    def model(self) -> str:
        """ "adapted" when the served model is a tuned one, else "base"."""
        return "base" if self.current.index.embedder is self.embedder else "adapted"

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
        if self.training is not None:
            self.training.cancel()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _watch(self) -> None:
        while not self._stop.wait(self.settings.reload_interval):
            try:
                self.reload()
            except Exception:  # a bad edit must never kill the watcher
                log.exception("knowledge base reload failed; still serving version %d", self.version)
