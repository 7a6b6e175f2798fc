"""Questions nobody answered, grouped by meaning, so that an editor sees "37 customers
asked about gift cards" instead of 37 lines, and knows which FAQ entry to write first.

Pure numpy (and scipy's hierarchical clustering) on the knowledge base's sentence vectors,
so it runs where the model is (the action server), and deterministic: the same texts in
the same order give the same groups.

How groups are formed:
1. Texts that fold to the same words (case, diacritics, punctuation, spacing: `Kod
   rabatowy nie działa!` and `kod rabatowy nie dziala`) count as one phrasing.
2. What every shop question shares is taken out of the vectors: the mean and the top 3
   principal directions of the knowledge base's own phrasings, then the rows are
   re-normalised ("all-but-the-top", Mu & Viswanath 2018). The 4-bit e5-small puts any
   two shop questions at cosine 0.75-0.90, paraphrases or not; without their common part,
   what is left is what the question is about. The area under the ROC curve of "same
   group" from pairwise cosine goes from 0.85 to 0.94 on the questions of
   tests/gap_questions.py, and from 0.75 to 0.82 on the long, chatty labelled
   queries of tests/eval (not used to choose it). Measuring the common part on the
   questions being grouped too helps those chatty queries (0.85), but a period where one
   gap dominates then makes that topic "common" and splits the very group an editor most
   needs, so only the FAQ is used.
3. Average-linkage agglomerative clustering, cut where the mean cosine between two groups
   falls below `threshold`. Average linkage (not single) so that one borderline pair
   cannot chain two topics together.
4. The representative is the member closest to the group's centre; the examples are
   distinct phrasings, closest first, without near-duplicates.

Paraphrases across languages (`Do you sell gift cards?` / `Czy macie karty podarunkowe?`)
mostly stay in separate groups: their cosine is as low as that of different questions in
one language. A FAQ file is in one language anyway.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from .text import fold

# Calibrated on the 4-bit multilingual-e5-small with the `query: ` prompt, on the
# questions of tests/gap_questions.py (6 topics x 5-6 phrasings in Polish and
# English, without diacritics, with typos, plus unrelated questions): pairwise precision
# stays >= 0.93 for thresholds 0.18-0.27 and recall falls above it, so 0.25 sits on the
# precise side of that plateau (precision 0.98, recall 0.62, adjusted Rand 0.73). An
# editor is hurt more by a group that mixes two topics than by one topic in two groups.
DEFAULT_THRESHOLD = 0.25
COMMON_DIRECTIONS = 3  # principal directions removed besides the mean (3 measured best of 0, 3, 10)
NEAR_DUPLICATE = 0.97  # two examples this close (raw cosine) say the same thing in the same words
MAX_EXAMPLES = 5
BLOCK = 1024  # rows of the similarity matrix computed at once: bounded memory

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Group:
    """Indexes into the texts given to `cluster`."""

    members: list[int]  # ascending
    representative: int
    examples: list[int]  # distinct phrasings, representative first

    @property
    def size(self) -> int:
        return len(self.members)


def phrasing_key(text: str) -> str:
    """What two phrasings share when they differ only in case, diacritics, punctuation
    or spacing."""
    return " ".join(_NOT_WORD.sub(" ", fold(text)).split())


@dataclass(frozen=True)
class Common:
    """What the questions of one shop share: taken out before comparing them."""

    mean: np.ndarray
    directions: np.ndarray  # rows: unit principal directions

    @classmethod
    def of(cls, reference: np.ndarray, directions: int = COMMON_DIRECTIONS) -> Common:
        """The mean and top principal directions of `reference`'s rows."""
        reference = np.asarray(reference, dtype=np.float64)
        if reference.ndim != 2 or len(reference) == 0:
            raise ValueError("the reference must be a non-empty matrix of vectors")
        mean = reference.mean(axis=0)
        k = max(0, min(directions, len(reference) - 1))
        if k == 0:
            return cls(mean, np.zeros((0, reference.shape[1])))
        centred = reference - mean
        values, vectors = np.linalg.eigh(centred.T @ centred)  # d x d: cheap for any number of rows
        return cls(mean, vectors[:, np.argsort(values)[::-1][:k]].T)

    def remove(self, vectors: np.ndarray) -> np.ndarray:
        """Unit rows of `vectors` without the shared part."""
        rest = np.asarray(vectors, dtype=np.float64) - self.mean
        rest -= (rest @ self.directions.T) @ self.directions
        norms = np.linalg.norm(rest, axis=1, keepdims=True)
        return (rest / np.maximum(norms, 1e-12)).astype(np.float32)


def cluster(
    texts: Sequence[str],
    vectors: np.ndarray,
    shop: np.ndarray | Common,
    threshold: float = DEFAULT_THRESHOLD,
    near_duplicate: float = NEAR_DUPLICATE,
    max_examples: int = MAX_EXAMPLES,
) -> list[Group]:
    """Group `texts` (row i of `vectors` is text i, L2-normalised) by meaning, after
    taking out what shop questions have in common: measured on `shop`, the FAQ's phrasing
    vectors, or given as a `Common` (measured once per version of the FAQ).

    Every text is in exactly one group (a question like no other is a group of one).
    Groups come largest first, then by their first member: give the texts newest first
    and equal sizes come newest first."""
    if len(texts) != len(vectors):
        raise ValueError(f"{len(texts)} texts but {len(vectors)} vectors")
    if not texts:
        return []
    unique, weights, owner = _collapse(texts)
    raw = np.ascontiguousarray(vectors[unique], dtype=np.float32)
    common = shop if isinstance(shop, Common) else Common.of(shop)
    points = common.remove(raw)
    labels = _average_linkage(points, threshold)
    groups = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        groups.append(_group(points, raw, weights, unique, owner, rows, near_duplicate, max_examples))
    groups.sort(key=lambda g: (-g.size, g.members[0]))
    return groups


def _collapse(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct phrasings: the first text of each (`unique`), how many texts each stands
    for (`weights`), and for every text the phrasing it belongs to (`owner`)."""
    first: dict[str, int] = {}
    owner = np.empty(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        owner[i] = first.setdefault(phrasing_key(text) or f"\0{i}", len(first))
    unique = np.empty(len(first), dtype=np.int64)
    for i in range(len(texts) - 1, -1, -1):
        unique[owner[i]] = i
    weights = np.bincount(owner, minlength=len(first)).astype(np.float32)
    return unique, weights, owner


def _average_linkage(points: np.ndarray, threshold: float) -> np.ndarray:
    """Flat groups of an average-linkage tree cut where the mean cosine between two
    groups falls below `threshold`: a label per point."""
    if len(points) == 1:
        return np.zeros(1, dtype=np.int64)
    distances = np.clip(1.0 - pdist_cosine(points), 0.0, 2.0)
    tree = linkage(distances, method="average")
    return fcluster(tree, t=1.0 - threshold, criterion="distance").astype(np.int64)


def pdist_cosine(points: np.ndarray) -> np.ndarray:
    """Condensed (upper triangle, row by row) cosine similarities of unit rows, in
    blocks so that only the result is n^2/2 floats."""
    n = len(points)
    out = np.empty(n * (n - 1) // 2, dtype=np.float64)
    at = 0
    for start in range(0, n, BLOCK):
        sims = points[start : start + BLOCK] @ points[start:].T
        for offset, row in enumerate(sims):
            tail = row[offset + 1 :]
            out[at : at + len(tail)] = tail
            at += len(tail)
    return out


def _group(
    points: np.ndarray,
    raw: np.ndarray,
    weights: np.ndarray,
    unique: np.ndarray,
    owner: np.ndarray,
    rows: np.ndarray,
    near_duplicate: float,
    max_examples: int,
) -> Group:
    """A group from its phrasings (`rows` into `points`); near-duplicates are judged on
    the `raw` vectors, where a typo or a word order barely moves a phrasing."""
    centre = (points[rows] * weights[rows, None]).sum(axis=0)
    closeness = points[rows] @ (centre / max(float(np.linalg.norm(centre)), 1e-12))
    ranked = rows[np.lexsort((unique[rows], -closeness))]  # closest first, then earliest text
    examples: list[int] = []
    for row in ranked:
        if len(examples) >= max_examples:
            break
        if examples and float((raw[examples] @ raw[row]).max()) >= near_duplicate:
            continue
        examples.append(int(row))
    members = np.flatnonzero(np.isin(owner, rows))
    return Group(
        members=[int(i) for i in members],
        representative=int(unique[ranked[0]]),
        examples=[int(unique[r]) for r in examples],
    )
