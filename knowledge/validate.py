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


# A pair of entries is worth a warning when at least this share of one entry's sample
# questions (calibration's: phrasings asked without themselves, and typed in a hurry)
# came out as the other entry or as a choice between the two, and at least twice.
CONFUSED_SHARE = 0.25
CONFUSED_MIN = 2


def close_entries(kb: KnowledgeBase) -> list[Problem]:
    """One warning per pair of entries the bot cannot tell apart, at the first one's
    heading: customers asking either will be asked to choose."""
    problems: list[Problem] = []
    reported: set[frozenset[str]] = set()
    for pair in kb.calibration.confused:
        share = pair.count / max(1, pair.samples)
        key = frozenset((pair.entry, pair.other))
        if pair.count < CONFUSED_MIN or share < CONFUSED_SHARE or key in reported:
            continue
        reported.add(key)
        entry = kb.entry(pair.entry, kb.default_language)
        other = kb.entry(pair.other, kb.default_language)
        problems.append(
            Problem(
                entry.path,
                entry.line,
                f"'{entry.title}' and '{other.title}' ({other.path}:{other.line}) are so close in meaning that "
                f"{pair.count} of {pair.samples} sample questions for the first got the second or a choice between "
                "the two: merge them, or reword their questions apart",
                severity="warning",
            )
        )
    return problems
