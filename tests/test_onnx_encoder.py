"""The ONNX Runtime encoder serves the same vectors as torch, reuses its export, and never
stops the bot: whatever goes wrong with it, torch serves (knowledge/onnx_encoder.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from knowledge.embedder import Embedder, runtime_setting
from knowledge.loader import EntryLoader
from knowledge.onnx_encoder import FILE, FOLDER, STAMP
from knowledge.settings import PROJECT_ROOT, Settings


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return Embedder(Settings().model, runtime="torch")


def test_the_default_model_is_served_by_onnx_runtime(embedder):
    assert embedder.runtime == "onnx"
    assert (Path(embedder.name) / FOLDER / FILE).is_file()


def test_its_vectors_are_torchs_on_every_phrasing_of_the_sample_faq(embedder, torch_embedder):
    entries = EntryLoader(PROJECT_ROOT / "data" / "faq").load().entries
    texts = [q for e in entries for q in e.questions] + [e.answer for e in entries[:10]]
    ours, theirs = embedder.encode(texts), torch_embedder.encode(texts)
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(ours * theirs, axis=1))) > 0.9999
    one = embedder.encode_one(texts[0])  # the hot path, alone
    assert float(one @ theirs[0]) > 0.9999


def test_the_export_is_made_once_and_again_when_the_weights_change(embedder):
    folder = Path(embedder.name)
    onnx_file, stamp_file = folder / FOLDER / FILE, folder / FOLDER / STAMP
    made = onnx_file.stat().st_mtime_ns
    assert Embedder(embedder.name).runtime == "onnx"
    assert onnx_file.stat().st_mtime_ns == made  # reused

    stamp = json.loads(stamp_file.read_text())
    stamp_file.write_text(json.dumps({**stamp, "size": stamp["size"] + 1}))  # as if the weights changed
    again = Embedder(embedder.name)
    assert again.runtime == "onnx"
    assert onnx_file.stat().st_mtime_ns > made
    assert json.loads(stamp_file.read_text()) == stamp


def test_a_damaged_export_leaves_the_model_to_torch(embedder, torch_embedder, tmp_path, caplog):
    """A copy of the model whose exported file is garbage (with a stamp that says it is
    current): the embedder says so and serves torch's vectors."""
    source = Path(embedder.name)
    for item in source.iterdir():
        if item.name != FOLDER:
            (tmp_path / item.name).symlink_to(item)
    (tmp_path / FOLDER).mkdir()
    (tmp_path / FOLDER / FILE).write_bytes(b"not an onnx model")
    (tmp_path / FOLDER / STAMP).write_text((source / FOLDER / STAMP).read_text())
    with caplog.at_level(logging.WARNING, logger="knowledge.embedder"):
        damaged = Embedder(str(tmp_path))
    assert damaged.runtime == "torch"
    assert "served with torch" in caplog.text
    text = "czy mogę zapłacić kartą przy odbiorze?"
    assert float(damaged.encode_one(text) @ torch_embedder.encode([text])[0]) > 0.9999


def test_the_runtime_is_a_setting(monkeypatch):
    monkeypatch.setenv("FAQBOT_EMBEDDING_RUNTIME", "Torch")
    assert runtime_setting() == "torch"
    monkeypatch.setenv("FAQBOT_EMBEDDING_RUNTIME", "tensorflow")
    with pytest.raises(ValueError, match="onnx or torch"):
        runtime_setting()
    monkeypatch.delenv("FAQBOT_EMBEDDING_RUNTIME")
    assert runtime_setting() == "onnx"


def test_building_an_index_hands_the_runtimes_memory_back(embedder):
    """The runtime keeps what a run allocated; after a large batch it must give it back,
    or an action server that built its index holds hundreds of MB it never uses again.
    (A session of its own: the shared one's memory already holds earlier builds.)"""

    def rss_mb() -> float:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))

    fresh = Embedder(embedder.name)
    answer = "Masz 14 dni od dnia otrzymania przesyłki, aby odstąpić od umowy bez podawania przyczyny. " * 12
    texts = [f"{i}. {answer}" for i in range(128)]  # long, like the answers an index embeds
    fresh.encode(texts[:2])  # the runtime's own first allocations
    before = rss_mb()
    fresh.encode(texts)
    assert rss_mb() - before < 150, (before, rss_mb())
