"""Messages embedded together (knowledge/embedder.py Batcher): each caller gets its own
vector, a lone message is embedded at once, a failure reaches every caller of the batch,
and the real model gives the same vectors batched as one at a time."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from knowledge.embedder import Batcher


class SlowModel:
    """Encodes a text as [len(text), index]; slow enough that callers pile up."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self.lock:
            self.batches.append(list(texts))
        time.sleep(0.05)
        if self.fail_on in texts:
            raise RuntimeError("model failed")
        return np.array([[len(t), i] for i, t in enumerate(texts)], dtype=np.float32)


def test_concurrent_callers_share_batches_and_each_gets_its_own_vector():
    model = SlowModel()
    batcher = Batcher(model, max_batch=8)
    texts = [f"pytanie {'x' * i}" for i in range(24)]
    with ThreadPoolExecutor(24) as pool:
        vectors = list(pool.map(batcher.submit, texts))
    assert [v[0] for v in vectors] == [len(t) for t in texts]  # nobody got another's vector
    assert sorted(t for batch in model.batches for t in batch) == sorted(texts)  # each embedded once
    assert len(model.batches) < len(texts)  # some were embedded together
    assert max(len(b) for b in model.batches) <= 8


def test_a_lone_message_is_embedded_at_once_on_its_own():
    model = SlowModel()
    batcher = Batcher(model)
    started = time.perf_counter()
    vector = batcher.submit("jak zwrocic towar")
    assert time.perf_counter() - started < 0.5
    assert model.batches == [["jak zwrocic towar"]]
    assert vector[0] == len("jak zwrocic towar")


def test_a_failure_reaches_every_caller_of_its_batch_and_the_next_batch_works():
    model = SlowModel(fail_on="boom")
    batcher = Batcher(model)
    errors = []

    def call(text: str) -> None:
        try:
            batcher.submit(text)
        except RuntimeError as exc:
            errors.append((text, str(exc)))

    blocker = threading.Thread(target=call, args=("first",))
    blocker.start()
    time.sleep(0.01)  # "first" is being embedded: the next ones wait and go together
    others = [threading.Thread(target=call, args=(t,)) for t in ("boom", "ok")]
    for t in others:
        t.start()
    for t in [blocker, *others]:
        t.join()
    assert sorted(errors) == [("boom", "model failed"), ("ok", "model failed")]
    assert batcher.submit("again")[0] == len("again")  # not stuck busy


def test_the_real_model_gives_the_same_vectors_batched(embedder):
    texts = ["jak zwrocic towar", "ile kosztuje dostawa do paczkomatu", "do you ship to germany?", "blik"]
    alone = [embedder.encode([t])[0] for t in texts]
    with ThreadPoolExecutor(len(texts)) as pool:
        together = list(pool.map(embedder.encode_one, texts))
    for a, b in zip(alone, together, strict=True):
        assert float(a @ b) >= 0.9999


def test_a_serving_process_gives_a_lone_message_a_second_thread_and_batches_one(embedder, monkeypatch):
    import torch

    from knowledge import embedder as module

    seen: list[tuple[int, int]] = []
    real = embedder.encode

    def encode(texts, progress=None):
        seen.append((len(texts), torch.get_num_threads()))
        time.sleep(0.05)  # others pile up behind the first
        return real(texts)

    before = torch.get_num_threads()
    monkeypatch.setattr(embedder, "encode", encode)
    try:
        module.serve_threads(1, 2)
        embedder.encode_one("jak zwrocic towar")
        assert seen == [(1, 2)] and torch.get_num_threads() == 1
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(embedder.encode_one, [f"pytanie {i}" for i in range(6)]))
        assert all(threads == 1 for size, threads in seen[1:] if size > 1), seen
        assert any(size > 1 for size, _ in seen[1:]), seen
        assert torch.get_num_threads() == 1
    finally:
        monkeypatch.setattr(module, "_THREADS", None)
        torch.set_num_threads(before)
