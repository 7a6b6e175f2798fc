"""A knowledge base ready to answer: an index and the thresholds calibrated on it.

`KnowledgeBase.ask` is the whole hot path of a reply: one embedding of the customer's
message, one search, one decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .calibrate import Calibration, calibrate
from .decide import Kind, decide
from .embedder import Embedder, EmbeddingCache, Progress
from .entries import Entry
from .index import Hit, KnowledgeIndex
from .text import detect_language


@dataclass(frozen=True)
class Reply:
    kind: Kind
    language: str
    entry: Entry | None = None  # the answer, in the customer's language where possible
    options: tuple[Entry, ...] = ()  # what to offer when clarifying
    hits: tuple[Hit, ...] = field(default=())  # what retrieval tried, best first
    confidence: float = 1.0  # the entry classifier's probability of the best hit (1: none)


class KnowledgeBase:
    """Immutable snapshot; hot reload swaps in a new one."""

    def __init__(self, index: KnowledgeIndex, calibration: Calibration, default_language: str) -> None:
        self.index = index
        self.calibration = calibration
        self.default_language = default_language

    @classmethod
    def build(
        cls,
        entries: Sequence[Entry],
        embedder: Embedder,
        cache: EmbeddingCache,
        default_language: str = "pl",
        progress: Progress | None = None,
    ) -> KnowledgeBase:
        index = KnowledgeIndex(entries, embedder, cache, progress=progress)
        return cls(index, calibrate(index, cache), default_language)

    def search(self, text: str, k: int = 10) -> list[Hit]:
        return self._search(text, k)[0]

    def _search(self, text: str, k: int) -> tuple[list[Hit], np.ndarray]:
        vector = self.index.embedder.encode_one(self.index.as_meant(text))
        return self.index.search(text, vector, self.calibration.scoring, k), vector

    def ask(self, text: str, language: str | None = None, k: int = 10) -> Reply:
        language = language or detect_language(text, self.default_language)
        hits, vector = self._search(text, k)
        if not hits:
            return Reply("fallback", language)
        second = hits[1].score if len(hits) > 1 else 0.0
        close = self.calibration.closeness(hits[0].id, hits[1].id) if len(hits) > 1 else 0.0
        sure = self.calibration.confidence(hits[0].id, vector)
        kind = decide(hits[0].score, second, self.calibration.thresholds, close, hits[0].dense, sure)
        if kind == "answer":
            return Reply(kind, language, entry=self.entry(hits[0].id, language), hits=tuple(hits), confidence=sure)
        if kind == "clarify":
            options = tuple(self.entry(h.id, language) for h in self._options(hits))
            return Reply(kind, language, options=options, hits=tuple(hits), confidence=sure)
        return Reply(kind, language, hits=tuple(hits), confidence=sure)

    def _options(self, hits: list[Hit]) -> list[Hit]:
        """The two best entries, and a third when it is a plausible choice too."""
        chosen = hits[:2]
        if len(hits) > 2 and hits[2].score >= self.calibration.thresholds.clarify:
            chosen.append(hits[2])
        return chosen

    def entry(self, entry_id: str, language: str) -> Entry:
        return self.index.entry(entry_id, language, self.default_language)

    def __contains__(self, entry_id: str) -> bool:
        return entry_id in self.index.translations

    def __len__(self) -> int:
        return len(self.index)
