"""Character n-grams over folded text, TF-IDF weighted.

The lexical signal that dense embeddings lack on Polish typed in a hurry: "zwrocic",
"zwrócić" and "zwrucic" share most of their 3-5-grams. Features are hashed, so there is
no vocabulary to keep in step when one FAQ file changes, and each text's n-grams are
computed once and reused across rebuilds.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Sequence
from functools import cached_property

import numpy as np
from scipy import sparse

from .text import words

N_FEATURES = 1 << 20
_SIZES = (3, 4, 5)

Features = tuple[np.ndarray, np.ndarray]  # (feature ids, counts)


def features(text: str) -> Features:
    """Hashed character 3-5-grams of each folded word, with word boundaries marked."""
    grams: Counter[int] = Counter()
    for word in words(text):
        padded = f" {word} "
        for n in _SIZES:
            if len(padded) < n:
                continue
            for i in range(len(padded) - n + 1):
                grams[zlib.crc32(padded[i : i + n].encode()) & (N_FEATURES - 1)] += 1
    if not grams:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    ids = np.fromiter(grams.keys(), dtype=np.int64, count=len(grams))
    counts = np.fromiter(grams.values(), dtype=np.float32, count=len(grams))
    return ids, counts


class LexicalIndex:
    """Cosine similarity of TF-IDF n-gram vectors between a query and every text."""

    def __init__(self, texts: Sequence[str], known: dict[str, Features] | None = None) -> None:
        known = known or {}
        self.features = {t: known.get(t) or features(t) for t in dict.fromkeys(texts)}
        rows = [self.features[t] for t in texts]
        df = np.zeros(N_FEATURES, np.float32)
        for ids, _ in rows:
            df[ids] += 1
        self.idf = (np.log((1 + len(rows)) / (1 + df)) + 1).astype(np.float32)
        indptr = np.cumsum([0] + [len(ids) for ids, _ in rows])
        indices = np.concatenate([ids for ids, _ in rows]) if rows else np.zeros(0, np.int64)
        data = np.concatenate([self._weights(ids, counts) for ids, counts in rows]) if rows else np.zeros(0)
        matrix = sparse.csr_matrix((data.astype(np.float32), indices, indptr), shape=(len(rows), N_FEATURES))
        self.matrix = matrix.tocsc()  # queries touch few columns: slice by column

    def _weights(self, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
        w = (1 + np.log(counts)) * self.idf[ids]
        norm = float(np.linalg.norm(w))
        return w / norm if norm else w

    def query_vector(self, text: str) -> Features:
        ids, counts = features(text)
        return ids, self._weights(ids, counts).astype(np.float32)

    def scores(self, query: Features) -> np.ndarray:
        """Cosine similarity of a query (from `query_vector`) to every indexed text."""
        ids, weights = query
        if len(ids) == 0:
            return np.zeros(self.matrix.shape[0], np.float32)
        return np.asarray(self.matrix[:, ids] @ weights).ravel()

    @cached_property
    def rows(self) -> sparse.csr_matrix:
        """All indexed texts as rows, for comparing phrasings with each other (validation)."""
        return self.matrix.tocsr()


class Containment:
    """How much of a query's n-gram weight appears anywhere in each answer text.

    Cosine would drown a short question in a long answer; containment asks "does the
    answer talk about these words?", which is what tells "protokół szkody" belongs to the
    entry whose answer explains the damage report."""

    def __init__(self, texts: Sequence[str], known: dict[str, np.ndarray] | None = None) -> None:
        known = known or {}
        self.grams = {t: known.get(t) if t in known else np.unique(features(t)[0]) for t in dict.fromkeys(texts)}
        rows = [self.grams[t] for t in texts]
        indptr = np.cumsum([0] + [len(r) for r in rows])
        indices = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        data = np.ones(len(indices), np.float32)
        self.matrix = sparse.csr_matrix((data, indices, indptr), shape=(len(rows), N_FEATURES)).tocsc()

    def scores(self, query: Features) -> np.ndarray:
        """Share of the query's weight found in each text, 0..1. `query` is (ids, weights)
        as LexicalIndex.query_vector gives."""
        ids, weights = query
        total = float(weights.sum())
        if len(ids) == 0 or total == 0:
            return np.zeros(self.matrix.shape[0], np.float32)
        return np.asarray(self.matrix[:, ids] @ weights).ravel() / total
