"""Training the tuned model in the background of the live knowledge base.

Training takes minutes of CPU, so it runs in a child process at the lowest priority
(`nice 19`) and on every core but one: replies, served by the parent with the current
model, keep the CPU first, and the child can be stopped mid-way when the content changes
again. Nice alone is not enough: with a steady stream of replies through `make run`, a
training on both of two cores took replies from 59/79 ms (median/95th percentile, idle)
to 81/112 ms; on one core, to 74/94 ms, for a training 14 s longer (132 s against 118 s).
The child also embeds the knowledge base with the new model into the shared embedding
cache, so that the parent's swap costs an index build, not an embedding of everything.

`python -m knowledge.retrain --kb DIR --key KEY` is that child: it trains only if the
folder still has the content `KEY` names (exit 3 otherwise) and stops by itself when its
parent is gone.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from .entries import Entry
from .settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

CONTENT_CHANGED = 3  # the child's exit code when the folder no longer has the asked content
DELAY = 20.0  # seconds of no further edit before training starts: an editor saves often


class BackgroundTraining:
    """At most one child at a time; a new request cancels the one running. When a child
    has kept a model, `on_ready(key, folder)` is called from a worker thread."""

    def __init__(self, settings: Settings, on_ready: Callable[[str, Path], None], delay: float = DELAY) -> None:
        self.settings = settings
        self.on_ready = on_ready
        self.delay = delay
        self._lock = threading.Lock()
        self._generation = 0
        self._process: subprocess.Popen | None = None
        self._wake = threading.Event()

    def request(self, key: str) -> None:
        """Train a model for content `key` (after `delay` seconds without another request)."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._kill()
        self._wake.set()
        self._wake = threading.Event()
        threading.Thread(target=self._run, args=(generation, key), name="kb-adapt", daemon=True).start()

    def cancel(self) -> None:
        with self._lock:
            self._generation += 1
            self._kill()
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None

    def _run(self, generation: int, key: str) -> None:
        wake = self._wake
        if wake.wait(self.delay):  # superseded or cancelled while waiting
            return
        with self._lock:
            if generation != self._generation:
                return
            self._process = self._spawn(key)
            process = self._process
        code = process.wait()
        with self._lock:
            if generation != self._generation:
                return
            self._process = None
        folder = self.settings.adapt_dir / key
        if code == 0 and (folder / "model.safetensors").is_file():
            self.on_ready(key, folder)
        elif code == 0:
            log.info("adapted model for the current FAQ not kept: no better than the base model on held-out phrasings")
        elif code != CONTENT_CHANGED:
            log.warning("training the adapted model failed (exit %s); see %s", code, self._log_path())

    def _log_path(self) -> Path:
        return self.settings.adapt_dir / "training.log"

    def _spawn(self, key: str) -> subprocess.Popen:
        s = self.settings
        s.adapt_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "knowledge.retrain",
            "--kb",
            str(s.kb_dir),
            "--key",
            key,
            "--model",
            s.model,
            "--root",
            str(s.adapt_dir),
            "--epochs",
            str(s.adapt_epochs),
            "--language",
            s.default_language,
            "--languages",
            ",".join(s.languages),
        ]
        if s.cache_path is not None:
            command += ["--cache", str(s.cache_path)]
        log.info("training the adapted model for the current FAQ in the background (nice 19)")
        with self._log_path().open("ab") as out:
            return subprocess.Popen(
                command, cwd=PROJECT_ROOT, stdout=out, stderr=out, stdin=subprocess.DEVNULL, preexec_fn=_lowest_priority
            )


def _lowest_priority() -> None:
    os.nice(19)


def warm_cache(entries: Sequence[Entry], folder: Path, cache_path: Path) -> None:
    """Embed phrasings and answers with the new model into the shared cache."""
    from .embedder import Embedder, EmbeddingCache

    texts = list(dict.fromkeys([t for e in entries for t in e.phrasings] + [e.answer for e in entries]))
    EmbeddingCache(cache_path).embed(Embedder(str(folder)), texts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.retrain", description=__doc__.splitlines()[0])
    parser.add_argument("--kb", required=True, type=Path)
    parser.add_argument("--key", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--epochs", type=int, default=Settings.adapt_epochs)
    parser.add_argument("--language", default="pl")
    parser.add_argument("--languages", default="pl,en")
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args(argv)

    from .adapt import Cancelled, adapt, base_fingerprint, content_key, cores
    from .loader import EntryLoader
    from .settings import parse_languages

    result = EntryLoader(args.kb, args.language, parse_languages(args.languages)).load()
    if result.errors or content_key(result.entries, base_fingerprint(args.model)) != args.key:
        return CONTENT_CHANGED
    parent = os.getppid()
    try:
        check = adapt(
            result.entries,
            args.model,
            args.root,
            args.epochs,
            stop=lambda: os.getppid() != parent,
            progress=False,
            threads=max(1, cores() - 1),  # a core for the replies (see above)
        )
    except Cancelled:
        return CONTENT_CHANGED
    print(
        f"{check.key}: held-out top-1 {check.base_top1:.3f} -> {check.tuned_top1:.3f}, "
        f"{'kept' if check.kept else 'not kept'}, {check.seconds:.0f} s",
        flush=True,
    )
    if check.kept and args.cache is not None:
        warm_cache(result.entries, args.root / check.key, args.cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
