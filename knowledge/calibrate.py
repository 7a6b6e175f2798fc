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
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from . import classifier as entry_classifier
from .classifier import EntryClassifier
from .decide import NEVER, Thresholds, decide
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
    "meaning": (0.0, 0.3, 0.6),
    "dense_floor": (0.75, 0.8),
}
# Where to try the `distinct` threshold: quantiles of the samples' own closeness values
# (a model tuned to the base spreads entries apart, so fixed values would not fit both).
DISTINCT_QUANTILES = (0.05, 0.1, 0.2, 0.3, 0.5)
# Where to try the `verbatim` cosine: a message this close to one of the best entry's
# phrasings is that phrasing, retyped.
VERBATIM = (0.95, 0.96, 0.97, 0.98, 0.99)
# Where to try `confident`: the classifier's probability of the best entry needed to answer.
CONFIDENT = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
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
    meaning: EntryMeaning | None = None  # closeness of entries, for `decide`
    confused: tuple[ConfusedPair, ...] = ()  # entries the samples could not tell apart
    classifier: EntryClassifier | None = None  # how sure of the best entry, for `decide`

    def closeness(self, a: str, b: str) -> float:
        """How close in meaning two entries are (1 when unknown: the cautious value)."""
        return self.meaning.closeness(a, b) if self.meaning is not None else 1.0

    def confidence(self, entry_id: str, vector: np.ndarray) -> float:
        """The classifier's probability that a message (its vector) is about this entry
        (1 without a classifier: no condition)."""
        position = self.meaning.position.get(entry_id) if self.meaning is not None else None
        if self.classifier is None or position is None:
            return 1.0
        return self.classifier.probability(vector, position)


class EntryMeaning:
    """Each entry's meaning as the normalised centroid of its phrasings' vectors (every
    language; `KnowledgeIndex.centroids`): the dot product of two is how close the
    entries are, whatever the customer typed. One row per entry; nothing pairwise is
    stored."""

    def __init__(self, index: KnowledgeIndex) -> None:
        self.position = {entry_id: i for i, entry_id in enumerate(index.ids)}
        self.vectors = index.centroids

    def closeness(self, a: str, b: str) -> float:
        i, j = self.position.get(a), self.position.get(b)
        if i is None or j is None:
            return 1.0
        return float(self.vectors[i] @ self.vectors[j])

    def of_pairs(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", self.vectors[first], self.vectors[second])


@dataclass(frozen=True)
class ConfusedPair:
    """Sample questions for `entry` that came out as `other` first, or as a choice
    between the two, out of `samples` for `entry`."""

    entry: str
    other: str
    count: int
    samples: int


@dataclass
class _Samples:
    channels: Channels
    target: np.ndarray  # entry index (column in `channels`); -1 off-topic
    kind: np.ndarray  # key of SAMPLE_WEIGHTS per sample
    vectors: np.ndarray  # the samples' embeddings
    asked_as: np.ndarray | None = None  # leave-one-out: the phrasing row each sample is
    columns: np.ndarray | None = None  # after _shortlist: the entry index of each column


@cache
def off_topic_questions() -> tuple[str, ...]:
    lines = OFF_TOPIC_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def calibrate(index: KnowledgeIndex, cache: EmbeddingCache, max_phrasings: int = 1000) -> Calibration:
    """Choose scoring and thresholds for `index` (about a second for a shop's FAQ)."""
    rows = _sample_rows(index, max_phrasings)
    meaning = EntryMeaning(index)
    if len(rows) < MIN_SAMPLES or len(index) < 2:
        return Calibration(
            DEFAULT_SCORING, DEFAULT_THRESHOLDS, report={"note": "too few phrasings to calibrate"}, meaning=meaning
        )

    floors = _dense_floors(index)
    loo = _shortlist(_leave_one_out(index, cache, _fair_rows(index, rows)), floors[0])
    scoring, report = _best_scoring(loo, floors)
    more = [_hurried(index, cache, rows), _off_topic(index, cache)]
    samples = [loo, *(_shortlist(s, floors[0]) for s in more)]
    scores = [scoring.combine(s.channels) for s in samples]
    pairs = np.vstack([_top_two(sc, s.columns) for sc, s in zip(scores, samples, strict=True)])
    close = meaning.of_pairs(pairs[:, 0], pairs[:, 1]) if len(index) > 1 else np.ones(len(pairs))
    target = np.concatenate([s.target for s in samples])
    entry = np.concatenate([_entry_of_target(s) for s in samples])
    kind = np.concatenate([s.kind for s in samples])
    nearest = np.concatenate([_nearest(sc, s.channels) for sc, s in zip(scores, samples, strict=True)])
    top, second, rank = _ranked(np.vstack(scores), target)
    classifier, probabilities = _classifier(index, samples)
    confidence = np.concatenate(probabilities)[np.arange(len(pairs)), pairs[:, 0]] if classifier else np.ones(len(top))
    figures = _Figures(top, second, rank, kind, close, nearest, confidence)
    thresholds = _best_thresholds(figures)
    thresholds = _with_verbatim(thresholds, figures)  # `confident` is still 0: no condition
    thresholds = _with_confidence(thresholds, figures)
    counts = {k: int((kind == k).sum()) for k in SAMPLE_WEIGHTS}
    confused = _confused(index, thresholds, figures, pairs, entry)
    return Calibration(scoring, thresholds, counts, report, meaning, confused, classifier)


def _classifier(index: KnowledgeIndex, samples: list[_Samples]) -> tuple[EntryClassifier | None, list[np.ndarray]]:
    """The entry classifier, and each kind of sample's probabilities of every entry:
    leave-one-out samples from the fold's classifier that never saw their phrasing, the
    others (phrasings retyped, off-topic questions) as a customer's message."""
    folds = entry_classifier.fold_of(index.texts)
    classifier = entry_classifier.fit(index.vectors, index.owner, len(index), folds)
    if classifier is None:
        return None, []
    probabilities = [
        classifier.probabilities(s.vectors) if s.asked_as is None else classifier.held_out(folds[s.asked_as], s.vectors)
        for s in samples
    ]
    return classifier, probabilities


def _fair_rows(index: KnowledgeIndex, rows: np.ndarray) -> np.ndarray:
    """With a model tuned on this base, only the phrasings it was not trained on: the
    others sit close to their siblings by construction (see adapt.untrained_texts)."""
    from .adapt import untrained_texts

    fair = untrained_texts(index.embedder.name)
    if fair is None:
        return rows
    kept = np.asarray([r for r in rows if index.texts[r] in fair], dtype=np.int64)
    return kept if len(kept) >= MIN_SAMPLES else rows


def _nearest(scores: np.ndarray, channels: Channels) -> np.ndarray:
    """Per sample: the cosine to the closest phrasing of its best-scoring entry."""
    if not scores.shape[1]:
        return np.zeros(len(scores))
    return channels.phrasing_dense[np.arange(len(scores)), np.argmax(scores, axis=1)]


def _top_two(scores: np.ndarray, columns: np.ndarray | None) -> np.ndarray:
    """(samples, 2) entry indices of the two best scores."""
    if scores.shape[1] < 2:
        return np.zeros((len(scores), 2), np.int64)
    best = np.argpartition(-scores, 1, axis=1)[:, :2]
    order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
    best = np.take_along_axis(best, order, axis=1)
    return np.take_along_axis(columns, best, axis=1) if columns is not None else best


def _entry_of_target(samples: _Samples) -> np.ndarray:
    """Entry index of each sample's right entry (-1 off-topic), undoing the shortlist."""
    if samples.columns is None:
        return samples.target
    right = np.take_along_axis(samples.columns, np.maximum(samples.target, 0)[:, None], axis=1)[:, 0]
    return np.where(samples.target >= 0, right, -1)


def _confused(
    index: KnowledgeIndex, thresholds: Thresholds, figures: _Figures, pairs: np.ndarray, entry: np.ndarray
) -> tuple[ConfusedPair, ...]:
    """Entry pairs the calibrated rule confuses on the samples: another entry first, or
    a choice offered between the right one and the runner-up because the runner-up
    scored as well (not because neither scored enough to answer)."""
    f = figures
    counts: dict[tuple[int, int], int] = {}
    for i in np.flatnonzero(entry >= 0):
        first, runner = int(pairs[i, 0]), int(pairs[i, 1])
        if first != entry[i]:
            other = first
        elif (
            f.top[i] >= thresholds.answer
            and decide(f.top[i], f.second[i], thresholds, f.close[i], f.nearest[i], f.confidence[i]) == "clarify"
        ):
            other = runner  # sure enough to answer, but the runner-up was as good
        else:
            continue
        key = (int(entry[i]), other)
        counts[key] = counts.get(key, 0) + 1
    per_entry = np.bincount(entry[entry >= 0], minlength=len(index.ids))
    found = [ConfusedPair(index.ids[a], index.ids[b], n, int(per_entry[a])) for (a, b), n in counts.items()]
    return tuple(sorted(found, key=lambda p: (-p.count / max(1, p.samples), p.entry, p.other)))


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
    held = [index.texts[r] for r in folded]
    vectors = np.vstack([index.vectors[rows], index.embed_queries([fold(t) for t in held], cache, left_out=held)])
    own = np.concatenate([rows, folded]).astype(np.int64)
    channels = index.channels(texts, vectors, held_out=[np.array([r]) for r in own])
    return _Samples(channels, index.owner[own], np.full(len(own), "leave_one_out"), vectors, own)


def _hurried(index: KnowledgeIndex, cache: EmbeddingCache, rows: np.ndarray) -> _Samples:
    return _asked(index, cache, [hurried(index.texts[r]) for r in rows], index.owner[rows], "hurried")


def _off_topic(index: KnowledgeIndex, cache: EmbeddingCache) -> _Samples:
    texts = list(off_topic_questions())
    return _asked(index, cache, texts, np.full(len(texts), -1), "off_topic")


def _asked(index: KnowledgeIndex, cache: EmbeddingCache, texts: list[str], target: np.ndarray, kind: str) -> _Samples:
    """Samples asked as a customer's messages are: embedded as queries, every phrasing in play."""
    vectors = index.embed_queries(texts, cache)
    return _Samples(index.channels(texts, vectors), target, np.full(len(texts), kind), vectors)


def _shortlist(samples: _Samples, floor: float = GRID["dense_floor"][0], k: int = SHORTLIST) -> _Samples:
    """Keep, for each sample, the entries that can matter: the k best by each channel,
    by all channels together, by the scores the grid's lightest and heaviest weights
    give (stretched from `floor`), and the right one. Scoring the weight grid on ~400
    columns instead of 10,000 takes calibration at 10,000 entries from 19 s to 8 s. The
    top two scores, and whether the right entry is first or among the top three, stay
    all but exact for every scoring of the grid (tested); deeper ranks, which only
    weigh in the mean reciprocal rank, may come out a little better. With at most 5 k
    entries nothing is dropped."""
    c = samples.channels
    if c.phrasing_dense.shape[1] <= 5 * k:
        return samples
    arrays = [np.nan_to_num(a, neginf=-1e9) for a in c.arrays()]
    arrays.append(sum(arrays) / len(arrays))  # entries good on every channel, best of none
    arrays += [np.nan_to_num(corner.combine(c), neginf=-1e9) for corner in _grid_corners(floor)]
    columns = [np.argpartition(-a, k - 1, axis=1)[:, :k] for a in arrays]
    columns.append(np.maximum(samples.target, 0)[:, None])
    columns = np.sort(np.concatenate(columns, axis=1), axis=1)
    repeated = np.zeros(columns.shape, bool)
    repeated[:, 1:] = columns[:, 1:] == columns[:, :-1]
    short = Channels(*(np.take_along_axis(a, columns, axis=1) for a in c.arrays()))
    short.phrasing_dense[repeated] = -np.inf  # a column listed twice counts once
    position = np.argmax(columns == np.maximum(samples.target, 0)[:, None], axis=1)
    target = np.where(samples.target >= 0, position, -1)
    return replace(samples, channels=short, target=target, columns=columns)


def _grid_corners(floor: float) -> list[Scoring]:
    """The scorings of the grid's lightest and of its heaviest weights."""
    weights = {name: values for name, values in GRID.items() if name != "dense_floor"}
    corners = [{name: pick(values) for name, values in weights.items()} for pick in (min, max)]
    return [Scoring(**corner, dense_floor=floor) for corner in corners]


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
    return top, second, _rank(scores, target)


def _rank(scores: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rank of the right entry among the scores (0: first; -1 off-topic)."""
    right = np.where(target >= 0, scores[np.arange(len(scores)), np.maximum(target, 0)], np.inf)
    rank = (scores > right[:, None]).sum(axis=1)
    rank[target < 0] = -1
    return rank


def _dense_floors(index: KnowledgeIndex, sample: int = 600) -> tuple[float, ...]:
    """Where to stretch cosines from: the grid's values, and the 10th and 50th
    percentiles (rounded down to 0.05) of cosines between phrasings of different
    entries. Base e5 crowds them into 0.78-0.9 (the grid's 0.75 and 0.8 again); a model
    tuned to the base spreads them over 0.2-0.5, where a floor of 0.8 would zero the
    dense channels."""
    rows = np.asarray(sorted(range(len(index.texts)), key=lambda r: _stable_hash(index.texts[r]))[:sample])
    if len(rows) < 2:
        return GRID["dense_floor"]
    cosines = index.vectors[rows] @ index.vectors[rows].T
    other = index.owner[rows][:, None] != index.owner[rows][None, :]
    if not other.any():
        return GRID["dense_floor"]
    found = np.floor(np.quantile(cosines[other], (0.1, 0.5)) * 20) / 20
    return tuple(sorted({*GRID["dense_floor"], *(round(float(f), 2) for f in found)}))


def _best_scoring(loo: _Samples, floors: tuple[float, ...] | None = None) -> tuple[Scoring, dict]:
    grid = GRID | {"dense_floor": floors or GRID["dense_floor"]}
    parts = {floor: Scoring(dense_floor=floor).parts(loo.channels) for floor in grid["dense_floor"]}
    best = None
    for values in itertools.product(*grid.values()):
        scoring = Scoring(**dict(zip(grid, values, strict=True)))
        rank = _rank(scoring.combine(loo.channels, parts[scoring.dense_floor]), loo.target)
        mrr = float(np.mean(1.0 / (rank + 1)))
        if best is None or mrr > best[0] + 1e-9:
            best = (mrr, scoring, rank)
    mrr, scoring, rank = best
    return scoring, {
        "loo_mrr": round(mrr, 4),
        "loo_top1": round(float(np.mean(rank == 0)), 4),
        "loo_top3": round(float(np.mean(rank < 3)), 4),
    }


def _best_thresholds(figures: _Figures) -> Thresholds:
    """Grid search over (answer, margin, clarify). The value is flat over a wide range
    of answer thresholds (measured: within 0.007 from 0.5 to 0.7 on the sample shop), so
    the best point is noise; among rules within one standard error of the best, the one
    that answers most is taken: an instant answer is what customers value most, and the
    samples cannot tell those rules apart.

    The rule may answer on the smaller `distinct_margin` when the sample's two best
    entries are further apart in meaning than `distinct`."""
    top, rank, kind, close = figures.top, figures.rank, figures.kind, figures.close
    distincts = [NEVER, *np.unique(np.round(np.quantile(close, DISTINCT_QUANTILES), 4))] if len(close) else [NEVER]
    candidates = np.unique(np.quantile(top, np.linspace(0.02, 0.98, 33)))
    in_scope = rank >= 0
    weight, if_answered, if_clarified, if_fallback = figures.values
    # Value of each sample when not answered, for each clarify threshold.
    rest = np.where(top[None, :] >= candidates[:, None], if_clarified, if_fallback)

    in_scope_weight = np.where(in_scope, weight, 0.0)
    rules = []  # (value, thresholds, per-sample values, in-scope share answered)
    for answer_at, margin, distinct, distinct_margin in itertools.product(candidates, MARGINS, distincts, MARGINS):
        if (distinct_margin > 0) if distinct == NEVER else (distinct_margin >= margin):
            continue  # no rule of its own: the same as `margin` alone
        # `verbatim` and `confident` are chosen afterwards: at their defaults (never, no
        # condition) `clarify` plays no part in which samples are answered.
        answers = figures.answers(Thresholds(float(answer_at), float(margin), 0.0, float(distinct), distinct_margin))
        outcomes = np.where(answers, if_answered, rest)
        values = outcomes @ weight
        values[candidates > answer_at] = -np.inf
        i = int(np.argmax(values))
        chosen = Thresholds(float(answer_at), float(margin), float(candidates[i]), float(distinct), distinct_margin)
        rules.append((float(values[i]), chosen, outcomes[i], float(answers @ in_scope_weight)))
    best_value, _, outcomes, _ = max(rules, key=lambda r: r[0])
    tolerance = _standard_error(outcomes, kind)
    near_best = [r for r in rules if r[0] >= best_value - tolerance]
    return min(near_best, key=lambda r: (r[1].answer, -r[3], -r[0]))[1]


@dataclass(frozen=True)
class _Figures:
    """What the thresholds are chosen on, per sample: the best and the runner-up's
    scores, the right entry's rank (-1 off-topic), the kind of sample, how close in
    meaning the two best entries are, the cosine to the best entry's nearest phrasing,
    and the classifier's probability of the best entry."""

    top: np.ndarray
    second: np.ndarray
    rank: np.ndarray
    kind: np.ndarray
    close: np.ndarray
    nearest: np.ndarray
    confidence: np.ndarray

    @cached_property
    def values(self) -> tuple[np.ndarray, ...]:
        """Each sample's weight (each kind weighs its SAMPLE_WEIGHTS share), and its value
        if answered, if offered as a choice, if the bot says it does not know."""
        rank, kind = self.rank, self.kind
        in_scope = rank >= 0
        weight = np.zeros(len(rank))
        for k, share in SAMPLE_WEIGHTS.items():
            mask = kind == k
            weight[mask] = share / max(1, mask.sum())
        v, o = VALUE_IN_SCOPE, VALUE_OFF_TOPIC
        if_answered = np.where(in_scope, np.where(rank == 0, v["correct"], v["wrong"]), o["answer"])
        top3 = in_scope & (rank < 3)
        if_clarified = np.where(in_scope, np.where(top3, v["clarify_hit"], v["clarify_miss"]), o["clarify"])
        if_fallback = np.where(in_scope, v["fallback"], o["fallback"])
        return weight, if_answered, if_clarified, if_fallback

    def answers(self, t: Thresholds) -> np.ndarray:
        """Which samples rule `t` answers: `decide` over every sample at once (the rest
        are offered choices when `top >= t.clarify`). A test holds the two together:
        calibration must choose thresholds for the rule the bot serves."""
        needed = np.where(self.close < t.distinct, t.distinct_margin, t.margin)
        top = self.top
        outright = (top >= t.answer) & (top - self.second >= needed) & (self.confidence >= t.confident)
        return outright | ((self.nearest >= t.verbatim) & (top >= t.clarify))

    def outcomes(self, t: Thresholds) -> tuple[float, np.ndarray]:
        """The samples' weighted value under rule `t`, and each sample's value."""
        weight, if_answered, if_clarified, if_fallback = self.values
        unsure = np.where(self.top >= t.clarify, if_clarified, if_fallback)
        values = np.where(self.answers(t), if_answered, unsure)
        return float(values @ weight), values


def _with_verbatim(t: Thresholds, figures: _Figures) -> Thresholds:
    """`t` with the `verbatim` cosine that adds most to the samples' value (none if none
    adds anything): hurried samples are the phrasings as customers type them, and a rule
    that answers them whatever the runner-up scored must not answer leave-one-out
    samples wrongly for it."""
    rules = [replace(t, verbatim=v) for v in (t.verbatim, *VERBATIM)]
    worth = [figures.outcomes(r)[0] for r in rules]
    return rules[int(np.argmax(np.asarray(worth) - 1e-9 * np.arange(len(worth))))]


def _with_confidence(t: Thresholds, figures: _Figures) -> Thresholds:
    """`t` with the lowest `confident` probability whose value is within one standard
    error of the best one's, as `_best_thresholds` prefers the rule that answers most
    among those the samples cannot tell apart. The error is that of the difference
    between the two rules: they differ only where the classifier doubts.

    Measured on real questions (adapted model), before -> after: a public banking set,
    answered wrong 9.5% -> 8.3%, right 73.2% -> 72.6%, clarified 12.2% -> 14.0%; the
    sample shop, wrong 1.0% -> 0%, right 81.6% -> 81.1%. The best value on the samples
    asks for more (banking: 0.4-0.5, wrong 4-6% for 2-4 points of right answers and many
    more choices; the shop: 0.5, five points of right answers for nothing more)."""
    rules = [replace(t, confident=c) for c in sorted({t.confident, *CONFIDENT})]
    found = [figures.outcomes(r) for r in rules]
    best_worth, best_values = max(found, key=lambda f: f[0])
    for rule, (worth, values) in zip(rules, found, strict=True):
        if worth >= best_worth - _standard_error(best_values - values, figures.kind):
            return rule
    return t


def _standard_error(outcomes: np.ndarray, kind: np.ndarray) -> float:
    """Of the weighted mean value: each kind of sample is an independent mean."""
    variance = 0.0
    for k, share in SAMPLE_WEIGHTS.items():
        values = outcomes[kind == k]
        if len(values) > 1:
            variance += share**2 * values.var(ddof=1) / len(values)
    return float(np.sqrt(variance))
