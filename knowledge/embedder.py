"""Sentence embeddings, and a disk cache so that a phrasing is embedded once.

The model is a setting: the converted multilingual e5 folder by default, any
sentence-transformers folder (or hub name, where a hub is reachable) otherwise. A model
that declares a `query` prompt (e5 does: "query: ") gets it on both sides, which is how
e5 is meant to be used for symmetric question-to-question matching.

The forward pass runs in ONNX Runtime when the model allows it (knowledge/onnx_encoder.py:
the same vectors, about twice as fast), else in torch; FAQBOT_EMBEDDING_RUNTIME=torch
chooses torch. Training always uses torch (adapt.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .onnx_encoder import OnnxEncoder, Unsupported

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

Progress = Callable[[int, int], None]
RUNTIMES = ("onnx", "torch")

log = logging.getLogger(__name__)

# torch threads (for batches, for a text alone); None: torch's own setting
# (the CLI, tests). A server sets them with `serve_threads`.
_THREADS: tuple[int, int] | None = None


# Embedders served by ONNX Runtime, so that `serve_threads` can make their sessions anew.
_ONNX_EMBEDDERS: weakref.WeakSet[Embedder] = weakref.WeakSet()


def serve_threads(batched: int, alone: int) -> None:
    """Threads for a serving process: `batched` torch threads (one by default: the other
    processes of the stack need the other cores), and `alone` for a message embedded by
    itself. A lone message means the server is not busy, and a second core cuts its
    embedding from about 27 to 21 ms; under load messages come batched and a second
    thread would only wait for cores the other processes hold.

    ONNX Runtime fixes a session's threads when it is made, and making one takes a
    second or two, so it runs every call with `alone` threads; its idle threads sleep
    (onnx_encoder.py). The sessions of the embedders already loaded are made anew here,
    not in front of the next customer."""
    import torch

    global _THREADS
    torch.set_num_threads(batched)
    _THREADS = (batched, alone)
    for embedder in list(_ONNX_EMBEDDERS):
        embedder._onnx.session(_onnx_threads())


def _onnx_threads() -> int:
    """ONNX Runtime's intra-op threads: the server's choice, else one per core (0)."""
    return _THREADS[1] if _THREADS is not None else 0


@contextmanager
def _threads_for(batch: int) -> Iterator[None]:
    """torch with the threads `serve_threads` chose for a batch of `batch` texts."""
    if _THREADS is None or batch != 1 or _THREADS[0] == _THREADS[1]:
        yield
        return
    import torch

    torch.set_num_threads(_THREADS[1])
    try:
        yield
    finally:
        torch.set_num_threads(_THREADS[0])


def runtime_setting() -> str:
    """FAQBOT_EMBEDDING_RUNTIME: onnx (the default) or torch."""
    runtime = (os.environ.get("FAQBOT_EMBEDDING_RUNTIME") or "onnx").strip().lower()
    if runtime not in RUNTIMES:
        raise ValueError(f"FAQBOT_EMBEDDING_RUNTIME={runtime!r}: use {' or '.join(RUNTIMES)}")
    return runtime


class Embedder:
    """A sentence-transformers model that returns L2-normalised float32 rows."""

    def __init__(self, model: str, batch_size: int = 64, runtime: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        if Path(model).is_dir():
            model = str(Path(model).resolve())
        elif model.startswith((".", os.sep)):
            raise FileNotFoundError(
                f"embedding model folder {model} not found (run `make model`, or set FAQBOT_EMBEDDING_MODEL)"
            )
        self.name = model
        self.batch_size = batch_size
        self._model = SentenceTransformer(model, device="cpu")
        self.prompt = (getattr(self._model, "prompts", None) or {}).get("query", "")
        self.dimension = int(self._model.get_embedding_dimension())
        self.fingerprint = _fingerprint(model, self.prompt)
        self._lock = threading.RLock()  # torch modules are not meant for concurrent calls
        self._batcher = Batcher(self._encode_batch)
        self._onnx = self._load_onnx() if (runtime or runtime_setting()) == "onnx" else None
        self.runtime = "onnx" if self._onnx is not None else "torch"

    def _load_onnx(self) -> OnnxEncoder | None:
        """The ONNX Runtime encoder, checked against torch; None (torch serves) when the
        model is not a folder, has another shape, or its export does not agree."""
        if not Path(self.name).is_dir():
            return None
        try:
            encoder = OnnxEncoder(self._model, Path(self.name))
            encoder.check(self.prompt, _onnx_threads())
            _ONNX_EMBEDDERS.add(self)
            return encoder
        except Unsupported as exc:
            log.warning("embedding model %s: served with torch, not ONNX Runtime (%s)", self.name, exc)
        except Exception as exc:  # an export or a runtime failure must not stop the bot
            reason = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            log.warning("embedding model %s: ONNX Runtime failed (%s); served with torch", self.name, reason)
        return None

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = []
        step = max(self.batch_size, 256)
        for start in range(0, len(texts), step):
            chunk = [self.prompt + t for t in texts[start : start + step]]
            with self._lock:
                parts.append(self._encode_chunk(chunk))
            if progress:
                progress(min(start + step, len(texts)), len(texts))
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def _encode_chunk(self, texts: list[str]) -> np.ndarray:
        if self._onnx is None:
            return self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        # Like sentence-transformers: batches of similar lengths, so that little is padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        threads = _onnx_threads()
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            vectors[batch] = self._onnx.encode([texts[i] for i in batch], threads)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock, _threads_for(len(texts)):  # the lock is re-entrant: encode takes it too
            return self.encode(texts)

    def encode_one(self, text: str) -> np.ndarray:
        """The hot path: one customer message. Messages that arrive from other threads
        while the model is busy are embedded together, in one batch: a busy action server
        answers many more messages per second, and a lone message costs what it did."""
        return self._batcher.submit(text)


@dataclass
class _Job:
    text: str
    vector: np.ndarray | None = None
    error: BaseException | None = None
    done: bool = False


class Batcher:
    """Leader and followers: the first thread to find the model idle embeds every text
    waiting at that moment (at most `max_batch`) while the others wait for their vector.
    No thread of its own, no timer: a lone text is embedded at once."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray], max_batch: int = 32) -> None:
        self._encode = encode
        self.max_batch = max_batch
        self._waiting: list[_Job] = []
        self._busy = False
        self._changed = threading.Condition()

    def submit(self, text: str) -> np.ndarray:
        job = _Job(text)
        with self._changed:
            self._waiting.append(job)
        while True:
            with self._changed:
                while not job.done and self._busy:
                    self._changed.wait()
                if job.done:
                    break
                self._busy = True
                batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            self._run(batch)
        if job.error is not None:
            raise job.error
        return job.vector

    def _run(self, batch: list[_Job]) -> None:
        try:
            vectors = self._encode([j.text for j in batch])
            for j, vector in zip(batch, vectors, strict=True):
                j.vector = vector
        except BaseException as exc:  # every waiting caller hears of it, not only the leader
            for j in batch:
                j.error = exc
        with self._changed:
            for j in batch:
                j.done = True
            self._busy = False
            self._changed.notify_all()


def _fingerprint(model: str, prompt: str) -> str:
    """Identifies what the vectors mean: the model's files (not its path) and the prompt."""
    digest = hashlib.sha1(prompt.encode())
    folder = Path(model)
    if folder.is_dir():
        for name in ("faqbot_conversion.json", "config.json", "modules.json", "tokenizer.json"):
            f = folder / name
            if f.is_file():
                digest.update(name.encode() + f.read_bytes()[:1_000_000])
    else:
        digest.update(model.encode())
    return digest.hexdigest()[:16]


class EmbeddingCache:
    """Vectors by (model fingerprint, text) in SQLite, shared by the CLI and the bot.

    A restart re-embeds nothing, and neither does the CLI after the bot has run.
    SQLite copes with the action server and a CLI writing at once."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, vector BLOB, PRIMARY KEY (model, key))"
                )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()

    def embed(self, embedder: Embedder, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Vectors for `texts`, computing only those not cached."""
        model = embedder.fingerprint
        keys = [self._key(t) for t in texts]
        found = self._read(model, list(dict.fromkeys(keys))) if self.path is not None else {}
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if missing:
            vectors = embedder.encode(list(missing.values()), progress)
            new = dict(zip(missing, vectors, strict=True))
            found |= new
            if self.path is not None:
                self._write(model, new)
        if not keys:
            return np.zeros((0, embedder.dimension), dtype=np.float32)
        return np.vstack([found[k] for k in keys]).astype(np.float32, copy=False)

    def _read(self, model: str, keys: list[str]) -> dict[str, np.ndarray]:
        out = {}
        with self._connect() as db:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})", [model, *chunk]
                )
                for key, blob in rows:
                    out[key] = np.frombuffer(blob, dtype=np.float32)
        return out

    def _write(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO vectors (model, key, vector) VALUES (?, ?, ?)",
                [(model, k, v.astype(np.float32).tobytes()) for k, v in vectors.items()],
            )
