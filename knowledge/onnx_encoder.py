"""The embedding model's forward pass in ONNX Runtime: the same vectors as torch, about
twice as fast on a CPU (e5-small, one question on two cores: 8 ms against 18 ms).

Why not sentence-transformers' own `backend="onnx"`: it needs optimum-onnx, which pins
transformers below the version this project runs. What serving needs is small: the
transformer, its pooling and the normalisation, exported once with torch.onnx into the
model's folder (`onnx/faqbot-encoder.onnx`), re-exported when the weights change (a
tuned model is a new folder). Tokenising stays sentence-transformers' own.

Every load is checked: a few texts embedded both ways must agree (cosine >= 0.9999),
or the caller is told and serves with torch (knowledge/embedder.py).
"""

from __future__ import annotations

import json
import os
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

FOLDER = "onnx"
FILE = "faqbot-encoder.onnx"
STAMP = "faqbot-encoder.json"  # the weights it was exported from
WEIGHTS = ("model.safetensors", "pytorch_model.bin")
POOLINGS = ("mean", "cls")
OPSET = 17
# Checked at every load: short and long, both languages, with and without diacritics.
PROBES = (
    "jak zwrócić kurtkę, którą kupiłam tydzień temu?",
    "ile kosztuje wysylka do paczkomatu",
    "Can I pay by card when the parcel arrives?",
    "a",
)
AGREEMENT = 0.9999
LARGE_BATCH_TOKENS = 4096  # a batch this large gives its memory back (see _shrink_after)


class Unsupported(Exception):
    """This model cannot be served by ONNX Runtime here; torch serves it."""


def pipeline(model: Any) -> tuple[str, bool]:
    """(pooling mode, normalised?) of a Transformer -> Pooling [-> Normalize] model, the
    shape of e5 and of most sentence-transformers models; anything else: Unsupported."""
    kinds = [type(module).__name__ for module in model]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise Unsupported(f"modules {kinds}")
    mode = model[1].get_config_dict().get("pooling_mode")
    if mode not in POOLINGS:
        raise Unsupported(f"pooling {mode!r}")
    return mode, len(kinds) == 3


def _weights_stamp(folder: Path) -> dict[str, Any]:
    for name in WEIGHTS:
        path = folder / name
        if path.is_file():
            stat = path.stat()
            return {"weights": name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "opset": OPSET}
    raise Unsupported(f"no weights file ({' or '.join(WEIGHTS)}) in {folder}")


def exported(model: Any, folder: Path) -> Path:
    """The ONNX file for this model folder, exported now if missing or older than the
    weights. Written under a temporary name and renamed: two processes exporting at once
    (the action server and a CLI) never read half a file."""
    stamp = _weights_stamp(folder)
    target = folder / FOLDER / FILE
    stamp_file = folder / FOLDER / STAMP
    try:
        if target.is_file() and json.loads(stamp_file.read_text()) == stamp:
            return target
    except (OSError, ValueError):
        pass
    target.parent.mkdir(exist_ok=True)
    tmp = target.with_name(f".{uuid.uuid4().hex}.onnx")
    try:
        _export(model, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    stamp_file.write_text(json.dumps(stamp))
    return target


def _export(model: Any, path: Path) -> None:
    import torch

    mode, normalise = pipeline(model)

    class Encoder(torch.nn.Module):
        """Transformer, pooling and normalisation in one graph."""

        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if mode == "cls":
                vector = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                vector = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(vector, dim=-1) if normalise else vector

    sample = model.preprocess(["query: " + PROBES[0]])
    axes = {0: "batch", 1: "tokens"}
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on tracing; the load check judges the result
        torch.onnx.export(
            Encoder(model[0].auto_model).eval(),
            (sample["input_ids"], sample["attention_mask"]),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["vector"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "vector": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: no onnxscript needed, and it handles BERT
        )


class OnnxEncoder:
    """Texts -> float32 rows, as `model.encode` would give them, from the exported file."""

    def __init__(self, model: Any, folder: Path) -> None:
        self.model = model  # tokenising, and the check against torch
        self.path = exported(model, folder)
        self._session: Any = None
        self._threads: int | None = None

    def session(self, threads: int) -> Any:
        """The runtime session with `threads` intra-op threads (0: one per core). A server
        sets its threads after the knowledge base is built (knowledge/embedder.py
        `serve_threads`), so the session is made anew when the count changes. Idle
        threads sleep rather than spin: Rasa and the hub need the same cores."""
        if self._session is None or threads != self._threads:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
            self._threads = threads
        return self._session

    def encode(self, texts: Sequence[str], threads: int = 0) -> np.ndarray:
        """One padded batch; callers keep batches of similar lengths (embedder.py)."""
        tokens = self.model.preprocess(list(texts))
        feed = {name: tokens[name].numpy().astype(np.int64) for name in ("input_ids", "attention_mask")}
        (vectors,) = self.session(threads).run(None, feed, _shrink_after(feed["input_ids"].size))
        return np.asarray(vectors, dtype=np.float32)

    def check(self, prompt: str, threads: int = 0) -> float:
        """The lowest cosine between these vectors and torch's on the probes; Unsupported
        below AGREEMENT (a broken export, an operator the runtime computes otherwise)."""
        texts = [prompt + t for t in PROBES]
        ours = self.encode(texts, threads)
        theirs = self.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        ours = ours / np.linalg.norm(ours, axis=1, keepdims=True)
        agreement = float(np.min(np.sum(ours * theirs, axis=1)))
        if not agreement >= AGREEMENT:
            raise Unsupported(f"ONNX vectors differ from torch's (cosine {agreement:.5f})")
        return agreement


def _shrink_after(tokens: int) -> Any:
    """Run options that hand the runtime's memory back after a large batch (building an
    index: 64 texts at a time), else None. The runtime keeps what a run allocated for
    the next one: after embedding the sample shop that was 780 MB more, held for good.
    Customers' messages, alone or a few together, keep it: giving it back costs each
    about 4 ms."""
    if tokens < LARGE_BATCH_TOKENS:
        return None
    import onnxruntime as ort

    options = ort.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m knowledge.onnx_encoder FOLDER`: export a model folder ahead of serving
    (`make model` does, so that the first start does not)."""
    import argparse

    from sentence_transformers import SentenceTransformer

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("folder", type=Path)
    folder = parser.parse_args(argv).folder.resolve()
    model = SentenceTransformer(str(folder), device="cpu")
    prompt = (getattr(model, "prompts", None) or {}).get("query", "")
    try:
        encoder = OnnxEncoder(model, folder)
        agreement = encoder.check(prompt)
    except Unsupported as exc:
        print(f"{folder}: served with torch ({exc})")
        return 0
    print(f"{encoder.path}: agrees with torch (lowest cosine {agreement:.6f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
