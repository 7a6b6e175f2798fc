"""Checks that need the model: phrasings of two entries so close that customers asking
one of them may get the other entry. Structural checks live in `entries` and `loader`."""

from __future__ import annotations

import numpy as np

from .base import KnowledgeBase
from .entries import Problem

# Similarity of two phrasings on a 0-1 scale (the calibrated mix of the phrasing
# channels) above which the bot cannot tell them apart. On the sample shop, pairs above
# it are rewordings of one question ("ile kosztuje zwrot" / "koszt zwrotu").
NEAR_DUPLICATE = 0.8


def phrasing_similarity(kb: KnowledgeBase, rows: np.ndarray) -> np.ndarray:
    """(rows, all phrasings) similarity, 0-1, by the knowledge base's own scoring."""
    index, scoring = kb.index, kb.calibration.scoring
    dense = np.clip((index.vectors[rows] @ index.vectors.T - scoring.dense_floor) / (1 - scoring.dense_floor), 0, 1)
    lexical = (index.lexical.rows[rows] @ index.lexical.rows.T).toarray()
    total = scoring.phrasing_dense + scoring.phrasing_lexical
    return (scoring.phrasing_dense * dense + scoring.phrasing_lexical * lexical) / total


def near_duplicates(kb: KnowledgeBase, limit_per_file: int = 3) -> list[Problem]:
    """One warning per close pair, naming both files and lines."""
    index = kb.index
    n = len(index.texts)
    problems: list[Problem] = []
    per_file: dict[str, int] = {}
    for start in range(0, n, 256):
        rows = np.arange(start, min(start + 256, n))
        scores = phrasing_similarity(kb, rows)
        same_entry = index.owner[rows][:, None] == index.owner[None, :]
        earlier = np.arange(n)[None, :] <= rows[:, None]  # report each pair once
        scores[same_entry | earlier] = -np.inf
        for qi, other in zip(*np.nonzero(scores >= NEAR_DUPLICATE), strict=True):
            a_entry, a_index = index.sources[rows[qi]]
            b_entry, b_index = index.sources[other]
            if per_file.get(a_entry.path, 0) >= limit_per_file:
                continue
            per_file[a_entry.path] = per_file.get(a_entry.path, 0) + 1
            problems.append(
                Problem(
                    a_entry.path,
                    a_entry.line_of(a_index),
                    f"'{index.texts[rows[qi]]}' is almost the same as '{index.texts[other]}' "
                    f"in {b_entry.path}:{b_entry.line_of(b_index)} (similarity {scores[qi, other]:.2f}); "
                    "customers asking it may get the other entry: reword one or merge them",
                    severity="warning",
                )
            )
    return problems
