"""Adapting the embedding model to one knowledge base: contrastive fine-tuning on the
base's own phrasings, on the CPU, in minutes.

Why: out of the box e5 puts many phrasings of different entries as close as phrasings
of the same one, so the bot asks the customer to choose. In-batch contrastive training
on the base's phrasings (pairs of phrasings of one entry, in any of its languages; the
other entries of the batch as negatives) pulls each entry's phrasings together and the
entries apart. Two passes (EPOCHS) rather than one: measured with `kb eval` on public
intent sets, the second pass took the share answered correctly from 64% to 73% on a
Polish one (top-1 0.850 -> 0.862) and from 78% to 83% on an English one with
out-of-scope questions, with fewer wrong answers on both, for twice the training time
(the sample shop: 38 steps, about 80 seconds of two cores).

The tuned model is a folder keyed by the base's content (ids, questions, answers) and
the base model's fingerprint, under `Settings.adapt_dir`; beside it, `<key>.json` holds
the check: some phrasings are held out of training, and the tuned model is kept only if
it finds their entry more often than the base model does. A rejected check is recorded
too, so nobody trains the same content again to the same end. The model kept is the one
so checked (trained without the held-out phrasings): a second training on everything
would double the time for a fifth more pairs.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .entries import Entry
from .settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

RECIPE = "2"  # part of the key: a change of recipe retrains (2: two epochs by default)
SCALE = 20.0  # cosine x 20: the temperature the recipe was measured with
LEARNING_RATE = 3e-5
BATCH_SIZE = 32
EPOCHS = Settings.adapt_epochs  # passes over the phrasings (FAQBOT_ADAPT_EPOCHS, `kb train --epochs`)
HOLD_OUT_EVERY = 5  # one phrasing in five, of entries with at least...
HOLD_OUT_MIN = 3  # ... three phrasings (fewer: each one is needed for training)
KEEP_MODELS = 2  # tuned folders kept on disk (460 MB each); check files are small and stay
MARKER = "faqbot_conversion.json"  # the embedder's fingerprint reads it: tuned vectors never mix with base ones

Pair = tuple[str, str]
Stop = Callable[[], bool]


@dataclass(frozen=True)
class Check:
    """What training did and whether its model is kept: `<key>.json`."""

    key: str
    kept: bool
    base_top1: float  # nearest-phrasing top-1 on the held-out phrasings, base model
    tuned_top1: float  # the same, tuned model
    held_out: int
    entries: int
    pairs: int
    steps: int
    epochs: int
    seconds: float
    base_model: str  # the base model's fingerprint
    held_out_texts: list[str] = field(default_factory=list)  # never trained on: fair samples for calibration

    def as_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)


class Cancelled(Exception):
    """Raised inside training when `stop()` says the content changed again."""


def phrasing_groups(entries: Sequence[Entry]) -> dict[str, list[str]]:
    """Every entry's phrasings, all languages together (as the index groups them): a
    Polish phrasing and its English translation are positives of each other."""
    groups: dict[str, list[str]] = {}
    seen: dict[str, set[str]] = {}
    for entry in sorted(entries, key=lambda e: (e.id, e.language)):
        for text in entry.phrasings:
            if text.lower() not in seen.setdefault(entry.id, set()):
                seen[entry.id].add(text.lower())
                groups.setdefault(entry.id, []).append(text)
    return groups


def content_key(entries: Sequence[Entry], base_fingerprint: str) -> str:
    """Same entries and base model -> same key, whatever the file order or paths."""
    digest = hashlib.sha256(f"{RECIPE}\x1e{base_fingerprint}".encode())
    for entry in sorted(entries, key=lambda e: (e.id, e.language)):
        digest.update("\x1e".join([entry.id, entry.language, entry.title, entry.answer, *entry.questions]).encode())
        digest.update(b"\x1d")
    return digest.hexdigest()[:20]


def check_path(root: Path, key: str) -> Path:
    return root / f"{key}.json"


def read_check(root: Path, key: str) -> Check | None:
    try:
        return Check(**json.loads(check_path(root, key).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def find_adapted(root: Path, key: str) -> Path | None:
    """The tuned model folder for `key`, if one was trained and kept."""
    check = read_check(root, key)
    folder = root / key
    if check is not None and check.kept and (folder / "model.safetensors").is_file():
        return folder
    return None


def split(groups: dict[str, list[str]]) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """Training phrasings per entry, and held-out (text, entry id). Which phrasings are
    held out depends on their text only, so a retrain of edited content holds out the
    same ones where nothing changed. The heading (first phrasing) is never held out."""
    train: dict[str, list[str]] = {}
    held: list[tuple[str, str]] = []
    for entry_id, texts in groups.items():
        if len(texts) < HOLD_OUT_MIN:
            train[entry_id] = list(texts)
            continue
        count = max(1, len(texts) // HOLD_OUT_EVERY)
        chosen = set(sorted(texts[1:], key=_stable)[:count])
        train[entry_id] = [t for t in texts if t not in chosen]
        held += [(t, entry_id) for t in texts if t in chosen]
    return train, held


def _stable(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=8).digest()


def make_batches(train: dict[str, list[str]], epochs: int, seed: int = 0, augment: bool = True) -> list[list[Pair]]:
    """Each phrasing paired with another phrasing of its entry, once per epoch, in
    batches of `BATCH_SIZE` where no entry appears twice: a second pair of the same
    entry would be a false negative. With `augment`, two anchors in three are typed as
    customers type them (see `as_typed`)."""
    rng = random.Random(seed)
    batches: list[list[Pair]] = []
    for _ in range(epochs):
        per_entry: dict[str, list[Pair]] = {}
        for entry_id, texts in train.items():
            if len(texts) < 2:
                continue
            pairs = [(as_typed(t, rng) if augment else t, rng.choice([o for o in texts if o != t])) for t in texts]
            rng.shuffle(pairs)
            per_entry[entry_id] = pairs
        batches += _pack(per_entry, rng)
    return batches


def as_typed(text: str, rng: random.Random) -> str:
    """The phrasing as a customer types it, a third of the time each: as written, without
    diacritics, or without diacritics and with one slip of the finger. Customers write
    Polish mostly without diacritics, and the base model places "zwrocic" far from
    "zwrócić"; these pairs teach it that they are one word."""
    from .calibrate import hurried
    from .text import fold

    roll = rng.random()
    if roll < 1 / 3:
        return text
    return fold(text) if roll < 2 / 3 else hurried(text)


def _pack(per_entry: dict[str, list[Pair]], rng: random.Random) -> list[list[Pair]]:
    """Deal one pair per entry per round (entries in random order); a pair whose entry
    is already in the batch waits for the next one."""
    stream: deque[tuple[str, Pair]] = deque()
    queues = {k: list(v) for k, v in per_entry.items()}
    while queues:
        order = list(queues)
        rng.shuffle(order)
        for entry_id in order:
            stream.append((entry_id, queues[entry_id].pop()))
            if not queues[entry_id]:
                del queues[entry_id]
    batches: list[list[Pair]] = []
    waiting: list[tuple[str, Pair]] = []
    while stream or waiting:
        current: list[Pair] = []
        members: set[str] = set()
        still = []
        for entry_id, pair in waiting:
            if entry_id in members or len(current) >= BATCH_SIZE:
                still.append((entry_id, pair))
            else:
                current.append(pair)
                members.add(entry_id)
        waiting = still
        while stream and len(current) < BATCH_SIZE:
            entry_id, pair = stream.popleft()
            if entry_id in members:
                waiting.append((entry_id, pair))
            else:
                current.append(pair)
                members.add(entry_id)
        batches.append(current)
    return [b for b in batches if len(b) >= 2]  # one pair has no negative to learn from


def nearest_top1(model, prompt: str, held: list[tuple[str, str]], train: dict[str, list[str]]) -> float:
    """Share of held-out phrasings whose nearest training phrasing is of their entry."""
    if not held:
        return 0.0
    pool = [(t, e) for e, texts in train.items() for t in texts]
    owners = np.array([e for _, e in pool])
    queries = _encode(model, prompt, [t for t, _ in held])
    vectors = _encode(model, prompt, [t for t, _ in pool])
    nearest = np.argmax(queries @ vectors.T, axis=1)
    return float(np.mean(owners[nearest] == np.array([e for _, e in held])))


def _encode(model, prompt: str, texts: list[str]) -> np.ndarray:
    return model.encode(
        [prompt + t for t in texts],
        batch_size=64,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )


def train(
    model, batches: list[list[Pair]], prompt: str, stop: Stop | None = None, progress: bool = True, seed: int = 0
) -> None:
    """The recipe: symmetric in-batch cross-entropy on cosine x SCALE, AdamW. The word
    embedding table (96 of the model's 118 M weights) stays frozen: it holds words the
    base never uses too, and updating it costs most of a step's time."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(seed)  # dropout: the same content trains to the same model
    words = model[0].auto_model.get_input_embeddings().weight
    words.requires_grad_(False)
    weights = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(weights, lr=LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    bar = tqdm(batches, desc="adapting the model", unit="step", file=sys.stderr, disable=not progress)
    try:
        for batch in bar:
            if stop is not None and stop():
                raise Cancelled
            texts = [prompt + a for a, _ in batch] + [prompt + b for _, b in batch]
            features = model.preprocess(texts)
            vectors = model(features)["sentence_embedding"]
            n = len(batch)
            logits = vectors[:n] @ vectors[n:].T * SCALE
            labels = torch.arange(n)
            loss = (loss_fn(logits, labels) + loss_fn(logits.T, labels)) / 2
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            bar.set_postfix(loss=f"{loss.item():.3f}")
    finally:
        bar.close()
        model.eval()
        words.requires_grad_(True)


def cores() -> int:
    """The cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch on `threads` threads while training, whatever the process set before.
    Importing the index calls `faiss.omp_set_num_threads(1)`, and when torch is already
    loaded that call lands in torch's own OpenMP runtime (torch loads it into the global
    namespace): `kb train` ran on one core of two, about 1.6 times slower (the banking
    set: 313 s against 188 s, with the same figures in `kb eval`)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def adapt(
    entries: Sequence[Entry],
    base_model: str,
    root: Path,
    epochs: int = EPOCHS,
    stop: Stop | None = None,
    progress: bool = True,
    seed: int = 0,
    threads: int | None = None,
) -> Check:
    """Train, check on held-out phrasings, keep the model only if it is better. Writes
    `root/<key>/` (when kept) and `root/<key>.json`; raises Cancelled if `stop()`.
    `threads`: torch's threads while training (default: every core)."""
    from sentence_transformers import SentenceTransformer

    from .embedder import _fingerprint

    started = time.perf_counter()
    model = SentenceTransformer(str(Path(base_model).resolve()), device="cpu")
    prompt = (getattr(model, "prompts", None) or {}).get("query", "")
    fingerprint = _fingerprint(str(Path(base_model).resolve()), prompt)
    key = content_key(entries, fingerprint)
    groups = phrasing_groups(entries)
    train_texts, held = split(groups)
    batches = make_batches(train_texts, epochs, seed)
    with torch_threads(threads or cores()):
        base_top1 = nearest_top1(model, prompt, held, train_texts)
        train(model, batches, prompt, stop, progress, seed)
        tuned_top1 = nearest_top1(model, prompt, held, train_texts)
    check = Check(
        key=key,
        kept=tuned_top1 > base_top1,
        base_top1=round(base_top1, 4),
        tuned_top1=round(tuned_top1, 4),
        held_out=len(held),
        entries=len(groups),
        pairs=sum(len(b) for b in batches),
        steps=len(batches),
        epochs=epochs,
        seconds=round(time.perf_counter() - started, 1),
        base_model=fingerprint,
        held_out_texts=[t for t, _ in held],
    )
    if stop is not None and stop():
        raise Cancelled
    root.mkdir(parents=True, exist_ok=True)
    if check.kept:
        _save(model, root, key, check)
    _write_atomic(check_path(root, key), check.as_json())
    prune(root, keep=key)
    return check


def _save(model, root: Path, key: str, check: Check) -> None:
    """Write into a temporary folder and rename it: a reader never sees half a model."""
    tmp = root / f".{key}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(str(tmp), create_model_card=False)
    marker = {
        "adapted_from": check.base_model,
        "content_key": key,
        "recipe": RECIPE,
        "epochs": check.epochs,
        "weights": _weights_digest(tmp),
    }
    (tmp / MARKER).write_text(json.dumps(marker), encoding="utf-8")
    target = root / key
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def _weights_digest(folder: Path) -> str:
    """A digest of the weights files. The embedding cache is keyed by the model's
    fingerprint, which reads the marker: without this, two trainings of the same content
    (a retrain after the training code changed, `--force`) would share cached vectors,
    and the second model would be served the first one's."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.safetensors")):
        with path.open("rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()[:16]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def prune(root: Path, keep: str) -> None:
    """Keep the newest KEEP_MODELS model folders (always `keep`): each edit of the FAQ
    makes a new key, and a model folder is 460 MB."""
    stale = time.time() - 3600  # half-written folders of a training that was stopped
    for tmp in root.glob(".*.tmp"):
        if tmp.stat().st_mtime >= stale:
            continue
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
    folders = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    folders.sort(key=lambda p: (p.name == keep, p.stat().st_mtime), reverse=True)
    for old in folders[KEEP_MODELS:]:
        shutil.rmtree(old, ignore_errors=True)


def base_fingerprint(model: str) -> str:
    """The embedder's fingerprint of a model folder, without loading the model (its
    `query` prompt is read from the sentence-transformers config)."""
    from .embedder import _fingerprint

    folder = Path(model)
    prompt = ""
    config = folder / "config_sentence_transformers.json"
    if config.is_file():
        prompt = (json.loads(config.read_text(encoding="utf-8")).get("prompts") or {}).get("query", "")
    return _fingerprint(str(folder.resolve()) if folder.is_dir() else model, prompt)


def adapted_for(entries: Sequence[Entry], base_model: str, root: Path) -> tuple[str, Path | None]:
    """(content key, tuned model folder or None) for these entries."""
    key = content_key(entries, base_fingerprint(base_model))
    return key, find_adapted(root, key)


def untrained_texts(model: str) -> frozenset[str] | None:
    """For a tuned model folder: the phrasings it was not trained on (held out), whose
    similarities are as fair as a customer's question; None for a model not tuned here.
    Calibration samples only those: a phrasing the model was trained on sits close to
    its siblings by construction, and thresholds chosen on it would answer too boldly."""
    folder = Path(model)
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if "content_key" not in marker:
        return None
    check = read_check(folder.parent, marker["content_key"])
    return frozenset(check.held_out_texts) if check is not None else frozenset()
