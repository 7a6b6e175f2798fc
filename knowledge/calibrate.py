"""Score mixing and thresholds chosen on the knowledge base itself, not guessed once.

Three kinds of sample questions, all scored against this knowledge base:
- leave-one-out: each phrasing (and its form without diacritics) asked with itself
  removed from the index: a customer asking in words the FAQ does not use;
- hurried: each phrasing typed fast (no diacritics, one typo, no question mark), left in
  the index: a customer asking much as the FAQ puts it;
- off-topic: a fixed list of questions no shop FAQ answers (resources/out_of_scope.txt).

The channel weights are those that rank the right entry highest on leave-one-out (mean
reciprocal rank); the thresholds are those that maximise the value of the bot's
decisions under the costs below. Measured on the sample shop: leave-one-out alone makes
the bot far too timid (its questions are harder than real ones: answering 20% of the
evaluation questions), and holding whole entries out as "off-topic" samples is worse
still (the neighbouring entry usually does answer them).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from .decide import Thresholds
from .embedder import EmbeddingCache
from .index import Channels, KnowledgeIndex, Scoring
from .text import fold

# What each outcome is worth. A confident wrong answer is the worst outcome; a choice of
# entries that holds the right one is nearly as good as an answer; "I don't know, shall
# I find a human?" is neutral for a question the FAQ answers and right for one it doesn't.
VALUE_IN_SCOPE = {"correct": 1.0, "wrong": -3.0, "clarify_hit": 0.6, "clarify_miss": -0.3, "fallback": 0.0}
VALUE_OFF_TOPIC = {"answer": -3.0, "clarify": -0.3, "fallback": 0.5}
SAMPLE_WEIGHTS = {"leave_one_out": 0.35, "hurried": 0.35, "off_topic": 0.3}

# "Close" entries: at most this far apart, the bot offers choices instead of answering.
MARGINS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12)
GRID = {
    "phrasing_dense": (0.5, 0.7),
    "phrasing_lexical": (0.3, 0.5),
    "answer_dense": (0.0, 0.15, 0.3),
    "answer_lexical": (0.0, 0.15, 0.3),
    "dense_floor": (0.75, 0.8),
}
MIN_SAMPLES = 8  # fewer in-scope samples than this: keep the defaults
SHORTLIST = 50  # entries per channel and sample that calibration scores on large bases

DEFAULT_SCORING = Scoring()
DEFAULT_THRESHOLDS = Thresholds(answer=0.6, margin=0.12, clarify=0.5)
OFF_TOPIC_FILE = Path(__file__).resolve().parent / "resources" / "out_of_scope.txt"


@dataclass(frozen=True)
class Calibration:
    scoring: Scoring
    thresholds: Thresholds
    samples: dict = field(default_factory=dict)  # how many of each kind
    report: dict = field(default_factory=dict)  # leave-one-out quality of the chosen scoring


@dataclass
class _Samples:
    channels: Channels
    target: np.ndarray  # entry index; -1 off-topic
    kind: np.ndarray  # key of SAMPLE_WEIGHTS per sample


@cache
def off_topic_questions() -> tuple[str, ...]:
    lines = OFF_TOPIC_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def calibrate(index: KnowledgeIndex, cache: EmbeddingCache, max_phrasings: int = 1000) -> Calibration:
    """Choose scoring and thresholds for `index` (about a second for a shop's FAQ)."""
    rows = _sample_rows(index, max_phrasings)
    if len(rows) < MIN_SAMPLES or len(index) < 2:
        return Calibration(DEFAULT_SCORING, DEFAULT_THRESHOLDS, report={"note": "too few phrasings to calibrate"})

    loo = _shortlist(_leave_one_out(index, cache, rows))
    scoring, report = _best_scoring(loo)
    samples = [loo, _shortlist(_hurried(index, cache, rows)), _shortlist(_off_topic(index, cache))]
    scores = np.vstack([scoring.combine(s.channels) for s in samples])
    target = np.concatenate([s.target for s in samples])
    kind = np.concatenate([s.kind for s in samples])
    top, second, rank = _ranked(scores, target)
    thresholds = _best_thresholds(top, second, rank, kind)
    counts = {k: int((kind == k).sum()) for k in SAMPLE_WEIGHTS}
    return Calibration(scoring, thresholds, counts, report)


def _sample_rows(index: KnowledgeIndex, limit: int) -> np.ndarray:
    """Phrasings whose entry has others, at most `limit`, chosen by a hash of their text:
    an edit changes the sample only where it changed the phrasings, so a reload embeds
    no new calibration texts but the edited ones."""
    rows = np.flatnonzero(np.diff(index.starts)[index.owner] >= 2)
    if len(rows) > limit:
        order = sorted(rows, key=lambda r: _stable_hash(index.texts[r]))
        rows = np.sort(np.asarray(order[:limit], dtype=np.int64))
    return rows


def _stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _leave_one_out(index: KnowledgeIndex, cache: EmbeddingCache, rows: np.ndarray) -> _Samples:
    folded = [r for r in rows if fold(index.texts[r]) != index.texts[r].lower()]
    texts = [index.texts[r] for r in rows] + [fold(index.texts[r]) for r in folded]
    vectors = np.vstack([index.vectors[rows], _embed(index, cache, [fold(index.texts[r]) for r in folded])])
    own = np.concatenate([rows, folded]).astype(np.int64)
    channels = index.channels(texts, vectors, held_out=[np.array([r]) for r in own])
    return _Samples(channels, index.owner[own], np.full(len(own), "leave_one_out"))


def _hurried(index: KnowledgeIndex, cache: EmbeddingCache, rows: np.ndarray) -> _Samples:
    texts = [hurried(index.texts[r]) for r in rows]
    channels = index.channels(texts, _embed(index, cache, texts))
    return _Samples(channels, index.owner[rows], np.full(len(rows), "hurried"))


def _off_topic(index: KnowledgeIndex, cache: EmbeddingCache) -> _Samples:
    texts = list(off_topic_questions())
    channels = index.channels(texts, _embed(index, cache, texts))
    return _Samples(channels, np.full(len(texts), -1), np.full(len(texts), "off_topic"))


def _shortlist(samples: _Samples, k: int = SHORTLIST) -> _Samples:
    """Keep, for each sample, the entries that can matter: the k best by each channel,
    by all channels together, and the right one. Scoring the weight grid on ~250
    columns instead of 10,000 takes calibration at 10,000 entries from 19 s to 8 s. The
    top two scores, and whether the right entry is first or among the top three, stay
    exact (tested); deeper ranks, which only weigh in the mean reciprocal rank, may
    come out a little better. Below 5k entries nothing is dropped."""
    c = samples.channels
    if c.phrasing_dense.shape[1] <= 5 * k:
        return samples
    arrays = [np.nan_to_num(a, neginf=-1e9) for a in c.arrays()]
    arrays.append(sum(arrays) / len(arrays))  # entries good on every channel, best of none
    columns = [np.argpartition(-a, k - 1, axis=1)[:, :k] for a in arrays]
    columns.append(np.maximum(samples.target, 0)[:, None])
    columns = np.sort(np.concatenate(columns, axis=1), axis=1)
    repeated = np.zeros(columns.shape, bool)
    repeated[:, 1:] = columns[:, 1:] == columns[:, :-1]
    short = Channels(*(np.take_along_axis(a, columns, axis=1) for a in c.arrays()))
    short.phrasing_dense[repeated] = -np.inf  # a column listed twice counts once
    position = np.argmax(columns == np.maximum(samples.target, 0)[:, None], axis=1)
    return _Samples(short, np.where(samples.target >= 0, position, -1), samples.kind)


def _embed(index: KnowledgeIndex, cache: EmbeddingCache, texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, index.embedder.dimension), np.float32)
    return cache.embed(index.embedder, texts)


def hurried(text: str) -> str:
    """The phrasing as typed in a hurry: no diacritics, no question mark, and one slip of
    the finger (a letter dropped, two swapped, or one doubled), the same for the same text."""
    text = fold(text).rstrip("?").strip()
    if len(text) < 6:
        return text
    rng = np.random.default_rng(_stable_hash(text))
    i = int(rng.integers(1, len(text) - 2))
    slip = int(rng.integers(3))
    if slip == 0:
        return text[:i] + text[i + 1 :]
    if slip == 1:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + text[i] + text[i:]


def _ranked(scores: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top score, runner-up (0 if none) and the rank of the right entry (-1 off-topic)."""
    if scores.shape[1] > 1:
        top2 = -np.partition(-scores, 1, axis=1)[:, :2]
    else:
        top2 = np.hstack([scores, np.full_like(scores, -np.inf)])
    top, second = top2[:, 0], np.where(np.isfinite(top2[:, 1]), top2[:, 1], 0.0)
    right = np.where(target >= 0, scores[np.arange(len(scores)), np.maximum(target, 0)], np.inf)
    rank = (scores > right[:, None]).sum(axis=1)
    rank[target < 0] = -1
    return top, second, rank


def _best_scoring(loo: _Samples) -> tuple[Scoring, dict]:
    best = None
    for values in itertools.product(*GRID.values()):
        scoring = Scoring(**dict(zip(GRID, values, strict=True)))
        _, _, rank = _ranked(scoring.combine(loo.channels), loo.target)
        mrr = float(np.mean(1.0 / (rank + 1)))
        if best is None or mrr > best[0] + 1e-9:
            best = (mrr, scoring, rank)
    mrr, scoring, rank = best
    return scoring, {
        "loo_mrr": round(mrr, 4),
        "loo_top1": round(float(np.mean(rank == 0)), 4),
        "loo_top3": round(float(np.mean(rank < 3)), 4),
    }


def _best_thresholds(top: np.ndarray, second: np.ndarray, rank: np.ndarray, kind: np.ndarray) -> Thresholds:
    """Grid search over (answer, margin, clarify). The value is flat over a wide range
    of answer thresholds (measured: within 0.007 from 0.5 to 0.7 on the sample shop), so
    the best point is noise; among rules within one standard error of the best, the one
    that answers most is taken: an instant answer is what customers value most, and the
    samples cannot tell those rules apart."""
    candidates = np.unique(np.quantile(top, np.linspace(0.02, 0.98, 33)))
    gap = top - second
    in_scope = rank >= 0
    weight = np.zeros(len(top))
    for k, share in SAMPLE_WEIGHTS.items():
        mask = kind == k
        weight[mask] = share / max(1, mask.sum())
    v, o = VALUE_IN_SCOPE, VALUE_OFF_TOPIC
    if_answered = np.where(in_scope, np.where(rank == 0, v["correct"], v["wrong"]), o["answer"])
    top3 = in_scope & (rank < 3)
    if_clarified = np.where(in_scope, np.where(top3, v["clarify_hit"], v["clarify_miss"]), o["clarify"])
    if_fallback = np.where(in_scope, v["fallback"], o["fallback"])
    # Value of each sample when not answered, for each clarify threshold.
    rest = np.where(top[None, :] >= candidates[:, None], if_clarified, if_fallback)

    rules = []  # (value, thresholds, per-sample values)
    for answer_at, margin in itertools.product(candidates, MARGINS):
        answers = (top >= answer_at) & (gap >= margin)
        outcomes = np.where(answers, if_answered, rest)
        values = outcomes @ weight
        values[candidates > answer_at] = -np.inf
        i = int(np.argmax(values))
        rules.append((float(values[i]), Thresholds(float(answer_at), float(margin), float(candidates[i])), outcomes[i]))
    best_value, _, outcomes = max(rules, key=lambda r: r[0])
    tolerance = _standard_error(outcomes, kind)
    near_best = [r for r in rules if r[0] >= best_value - tolerance]
    return min(near_best, key=lambda r: (r[1].answer, -r[0]))[1]


def _standard_error(outcomes: np.ndarray, kind: np.ndarray) -> float:
    """Of the weighted mean value: each kind of sample is an independent mean."""
    variance = 0.0
    for k, share in SAMPLE_WEIGHTS.items():
        values = outcomes[kind == k]
        if len(values) > 1:
            variance += share**2 * values.var(ddof=1) / len(values)
    return float(np.sqrt(variance))
