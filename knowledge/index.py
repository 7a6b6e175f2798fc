"""The searchable form of a knowledge base.

Five similarities ("channels") between a customer's message and each entry:
- phrasing dense / phrasing lexical: the best of the entry's phrasings (heading and
  `questions`, in every language: a Polish question may match an English phrasing of
  the same id), by embedding cosine and by character n-gram cosine;
- meaning: the cosine to the centroid of the entry's phrasings. The best phrasing alone
  follows one phrasing's accidents (a question that shares a phrase with a neighbour's
  question); the centroid is what the phrasings have in common. Measured as the only
  signal, on public intent sets with 10 phrasings per entry: top-1 0.88 -> 0.93
  (English assistant questions), 0.74 -> 0.75 (banking); best phrasing and centroid
  together 0.93 and 0.77;
- answer dense / answer lexical: the entry's answer, by embedding cosine and by how much
  of the message's n-grams the answer contains.
Measured on the sample shop, the answer channels lift top-1 from 0.82 to 0.93 on the
evaluation set, and the lexical channels carry Polish typed without diacritics.

Live, candidates come from a FAISS fp16 scan and the lexical postings, and only those
entries are scored, exactly; calibration scores every entry in batch with the same code
(`Channels`, `Scoring.combine`), so both see the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import faiss
import numpy as np

from .embedder import Embedder, EmbeddingCache, Progress
from .entries import Entry
from .lexical import Containment, LexicalIndex
from .text import Diacritics

faiss.omp_set_num_threads(1)  # one query at a time: threads cost more than they save

PHRASING_CANDIDATES = 128
ANSWER_CANDIDATES = 32
BATCH = 64  # queries per block in batch scoring: bounds memory at 10,000 entries


@dataclass
class Channels:
    """Per-entry similarities, each (queries, entries). An entry held out of a
    calibration query carries -inf in `phrasing_dense`."""

    phrasing_dense: np.ndarray
    phrasing_lexical: np.ndarray
    answer_dense: np.ndarray
    answer_lexical: np.ndarray
    meaning: np.ndarray

    def arrays(self) -> list[np.ndarray]:
        return [getattr(self, f.name) for f in fields(self)]

    @classmethod
    def stack(cls, parts: Sequence[Channels]) -> Channels:
        return cls(*(np.vstack(arrays) for arrays in zip(*(p.arrays() for p in parts), strict=True)))


@dataclass(frozen=True)
class Scoring:
    """How the channels become one score. e5's cosines crowd into 0.7-1.0, so dense
    channels are stretched from `dense_floor`. The weights are chosen by calibration on
    the knowledge base itself; these defaults serve knowledge bases too small for it."""

    phrasing_dense: float = 0.5
    phrasing_lexical: float = 0.3
    answer_dense: float = 0.3
    answer_lexical: float = 0.3
    meaning: float = 0.0
    dense_floor: float = 0.8

    def _stretch(self, cosine: np.ndarray) -> np.ndarray:
        return np.clip((cosine - self.dense_floor) / (1.0 - self.dense_floor), 0.0, None)

    def parts(self, c: Channels) -> tuple[list[np.ndarray], np.ndarray]:
        """The channels as they enter the score, in the order of the weights (the dense
        ones stretched from `dense_floor`; a held-out entry's phrasing channels as 0),
        and where the held-out entries are. They depend on `dense_floor` alone:
        calibration computes them once per floor and tries every weight on them."""
        held_out = np.isneginf(c.phrasing_dense)
        arrays = [
            self._stretch(np.where(held_out, 0.0, c.phrasing_dense)),
            np.where(held_out, 0.0, c.phrasing_lexical),
            self._stretch(c.answer_dense),
            c.answer_lexical,
            self._stretch(c.meaning),
        ]
        return arrays, held_out

    def combine(self, c: Channels, parts: tuple[list[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """One score per entry; `parts`: `self.parts(c)`, when already computed."""
        arrays, held_out = parts or self.parts(c)
        weights = (self.phrasing_dense, self.phrasing_lexical, self.answer_dense, self.answer_lexical, self.meaning)
        scores = np.zeros(held_out.shape, np.float32)
        for weight, array in zip(weights, arrays, strict=True):
            if weight:
                scores = scores + weight * array
        scores[held_out] = -np.inf
        return scores


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    dense: float  # best phrasing, embedding cosine
    lexical: float  # best phrasing, n-gram cosine
    answer_dense: float
    answer_lexical: float
    meaning: float  # the centroid of the entry's phrasings, embedding cosine
    phrasing: str  # the phrasing closest in meaning


def _spans(starts: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the given groups (rows of a group are contiguous) and where each begins."""
    lengths = starts[groups + 1] - starts[groups]
    bounds = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rows = np.arange(lengths.sum()) + np.repeat(starts[groups] - bounds, lengths)
    return rows, bounds


class KnowledgeIndex:
    """Immutable once built: a reload builds a new one and swaps it in."""

    def __init__(
        self,
        entries: Sequence[Entry],
        embedder: Embedder,
        cache: EmbeddingCache,
        previous: KnowledgeIndex | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.embedder = embedder
        self.translations: dict[str, dict[str, Entry]] = {}
        for entry in entries:  # the first file wins a duplicate id (reported by validation)
            self.translations.setdefault(entry.id, {}).setdefault(entry.language, entry)
        self.ids = sorted(self.translations)

        texts, owners, sources, starts = [], [], [], [0]
        answers, answer_starts = [], [0]
        for group, entry_id in enumerate(self.ids):
            seen = set()
            for language in sorted(self.translations[entry_id]):
                entry = self.translations[entry_id][language]
                answers.append(entry.answer)
                for i, phrasing in enumerate(entry.phrasings):
                    if phrasing.lower() not in seen:
                        seen.add(phrasing.lower())
                        texts.append(phrasing)
                        owners.append(group)
                        sources.append((entry, i))
            starts.append(len(texts))
            answer_starts.append(len(answers))
        self.texts = texts
        self.answers = answers  # one per translation, grouped by entry like the phrasings
        self.owner = np.asarray(owners, dtype=np.int64)
        self.sources = sources  # (entry, phrasing index) of each phrasing, for messages
        self.starts = np.asarray(starts, dtype=np.int64)
        self.answer_starts = np.asarray(answer_starts, dtype=np.int64)

        vectors = self._embed(texts + answers, cache, previous, progress)
        self.vectors, self.answer_vectors = vectors[: len(texts)], vectors[len(texts) :]
        self.faiss = self._faiss(self.vectors)
        self.answer_faiss = self._faiss(self.answer_vectors)
        self.vector_sums = self._per_entry_sums(self.vectors)
        self.centroids = _normalised(self.vector_sums)
        self.centroid_faiss = self._faiss(self.centroids)
        self.diacritics = Diacritics(texts + answers, previous.diacritics if previous else None)
        self.lexical = LexicalIndex(texts, previous.lexical.features if previous else None)
        self.containment = Containment(answers, previous.containment.grams if previous else None)

    def _embed(
        self, texts: list[str], cache: EmbeddingCache, previous: KnowledgeIndex | None, progress: Progress | None
    ) -> np.ndarray:
        """Reuse the previous index's vectors; ask the cache (and the model) for the rest."""
        known: dict[str, np.ndarray] = {}
        if previous is not None and previous.embedder.fingerprint == self.embedder.fingerprint:
            old = previous.texts + previous.answers
            known = dict(zip(old, np.vstack([previous.vectors, previous.answer_vectors]), strict=True))
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known |= dict(zip(missing, cache.embed(self.embedder, missing, progress), strict=True))
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.ascontiguousarray(np.vstack([known[t] for t in texts]), dtype=np.float32)

    def _per_entry_sums(self, vectors: np.ndarray) -> np.ndarray:
        """(entries, dimension): the sum of each entry's phrasing vectors."""
        if not len(vectors):
            return np.zeros((len(self.ids), self.embedder.dimension), np.float32)
        return np.add.reduceat(vectors, self.starts[:-1], axis=0)

    def _faiss(self, vectors: np.ndarray) -> faiss.Index:
        index = faiss.IndexScalarQuantizer(
            self.embedder.dimension, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        if len(vectors):
            index.add(vectors)
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def as_meant(self, text: str, left_out: str | None = None) -> str:
        """What the model embeds of a customer's message: the diacritics they left out
        put back (text.Diacritics; `left_out`: as if that phrasing were not in the base).
        The lexical channels read the message as typed."""
        return self.diacritics.restore(text, left_out)

    def embed_queries(
        self, texts: Sequence[str], cache: EmbeddingCache, left_out: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Vectors of questions asked (calibration's samples), embedded as the live path
        embeds a message; `left_out[i]`: the phrasing query i is held out of."""
        if not texts:
            return np.zeros((0, self.embedder.dimension), np.float32)
        left_out = left_out or [None] * len(texts)
        return cache.embed(self.embedder, [self.as_meant(t, o) for t, o in zip(texts, left_out, strict=True)])

    def entry(self, entry_id: str, language: str, fallback_language: str) -> Entry:
        """The entry in the customer's language when a translation exists."""
        versions = self.translations[entry_id]
        return versions.get(language) or versions.get(fallback_language) or next(iter(versions.values()))

    # -- the live path ---------------------------------------------------------

    def search(self, text: str, vector: np.ndarray, scoring: Scoring, k: int = 10) -> list[Hit]:
        """Best entries for one query, best first."""
        if not self.texts:
            return []
        query = self.lexical.query_vector(text)
        lexical = self.lexical.scores(query)
        contained = self.containment.scores(query)
        candidates = np.unique(self._candidates(vector, lexical, contained))

        rows, bounds = _spans(self.starts, candidates)
        row_dense = self.vectors[rows] @ vector
        answer_rows, answer_bounds = _spans(self.answer_starts, candidates)
        channels = Channels(
            np.maximum.reduceat(row_dense, bounds)[None, :],
            np.maximum.reduceat(lexical[rows], bounds)[None, :],
            np.maximum.reduceat(self.answer_vectors[answer_rows] @ vector, answer_bounds)[None, :],
            np.maximum.reduceat(contained[answer_rows], answer_bounds)[None, :],
            (self.centroids[candidates] @ vector)[None, :],
        )
        scores = scoring.combine(channels)[0]
        hits = []
        for i in np.argsort(-scores, kind="stable")[:k]:
            end = bounds[i + 1] if i + 1 < len(bounds) else len(rows)
            best_row = rows[bounds[i] + int(np.argmax(row_dense[bounds[i] : end]))]
            hits.append(
                Hit(
                    id=self.ids[candidates[i]],
                    score=float(scores[i]),
                    dense=float(channels.phrasing_dense[0, i]),
                    lexical=float(channels.phrasing_lexical[0, i]),
                    answer_dense=float(channels.answer_dense[0, i]),
                    answer_lexical=float(channels.answer_lexical[0, i]),
                    meaning=float(channels.meaning[0, i]),
                    phrasing=self.texts[best_row],
                )
            )
        return hits

    def _candidates(self, vector: np.ndarray, lexical: np.ndarray, contained: np.ndarray) -> np.ndarray:
        """Entries worth scoring: the best by each channel."""
        query = vector.reshape(1, -1)
        _, dense_rows = self.faiss.search(query, min(PHRASING_CANDIDATES, len(self.texts)))
        _, answer_rows = self.answer_faiss.search(query, min(ANSWER_CANDIDATES, len(self.answer_vectors)))
        _, centroid_rows = self.centroid_faiss.search(query, min(ANSWER_CANDIDATES, len(self.ids)))
        lexical_rows = _top(lexical, PHRASING_CANDIDATES // 2)
        contained_rows = _top(contained, ANSWER_CANDIDATES)
        answer_owner = np.repeat(np.arange(len(self.ids)), np.diff(self.answer_starts))
        return np.concatenate(
            [
                self.owner[dense_rows[0][dense_rows[0] >= 0]],
                self.owner[lexical_rows],
                answer_owner[answer_rows[0][answer_rows[0] >= 0]],
                answer_owner[contained_rows],
                centroid_rows[0][centroid_rows[0] >= 0],
            ]
        )

    # -- the batch path (calibration, validation) ---------------------------------

    def channels(
        self, texts: Sequence[str], vectors: np.ndarray, held_out: Sequence[np.ndarray] | None = None
    ) -> Channels:
        """Channels of many queries against every entry. `held_out[i]`: phrasing rows
        that query i must not see (its own phrasing, in leave-one-out): they are left out
        of their entry's centroid too."""
        parts = []
        for start in range(0, len(texts), BATCH):
            block = slice(start, start + BATCH)
            queries = [self.lexical.query_vector(t) for t in texts[block]]
            dense = vectors[block] @ self.vectors.T
            lexical = self._stack([self.lexical.scores(q) for q in queries], len(self.texts))
            if held_out is not None:
                for i, rows in enumerate(held_out[block]):
                    dense[i, rows] = -np.inf
                    lexical[i, rows] = -np.inf
            answer_dense = vectors[block] @ self.answer_vectors.T
            contained = self._stack([self.containment.scores(q) for q in queries], len(self.answer_vectors))
            meaning = vectors[block] @ self.centroids.T
            if held_out is not None:
                self._without_held_out(meaning, vectors[block], held_out[block])
            parts.append(
                Channels(
                    self._per_entry(dense, self.starts),
                    self._per_entry(lexical, self.starts),
                    self._per_entry(answer_dense, self.answer_starts),
                    self._per_entry(contained, self.answer_starts),
                    meaning,
                )
            )
        return Channels.stack(parts)

    def _without_held_out(self, meaning: np.ndarray, vectors: np.ndarray, held_out: Sequence[np.ndarray]) -> None:
        """Each query's similarity to the centroid of its held-out rows' entries, as if
        those rows were not in the index."""
        for i, rows in enumerate(held_out):
            for entry in np.unique(self.owner[rows]):
                mine = rows[self.owner[rows] == entry]
                if len(mine) >= self.starts[entry + 1] - self.starts[entry]:
                    meaning[i, entry] = -1.0  # nothing left of the entry's phrasings
                    continue
                centroid = _normalised(self.vector_sums[entry] - self.vectors[mine].sum(axis=0))
                meaning[i, entry] = float(vectors[i] @ centroid)

    @staticmethod
    def _stack(rows: list[np.ndarray], width: int) -> np.ndarray:
        return np.vstack(rows) if rows else np.zeros((0, width), np.float32)

    @staticmethod
    def _per_entry(scores: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """(queries, rows) -> (queries, entries), each entry by its best row."""
        return np.maximum.reduceat(scores, starts[:-1], axis=1)


def _normalised(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    return np.argpartition(-scores, k - 1)[:k] if k else np.zeros(0, np.int64)
