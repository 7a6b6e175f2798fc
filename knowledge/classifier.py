"""How sure retrieval is of its best entry: softmax classifiers over the phrasings'
vectors, one class per entry, whose probability for the best entry is a condition for
answering outright.

Why: the margin between the two best scores compares two entries, and a message about
three close entries (or about none) can lead its runner-up comfortably and still be
wrong. A classifier weighs every entry at once, and learns which directions of the
embedding tell this base's entries apart. Measured with the adapted model and one
classifier fitted on every phrasing, as a signal that the best entry is right (margin ->
classifier): AUROC 0.870 -> 0.903 on a public banking set (77 entries, 2,309 real
questions) and 0.942 -> 0.965 on the sample shop's evaluation set.

Five classifiers, each fitted without one fold of the phrasings. Calibration asks each
phrasing of the FAQ the one that never saw it (a classifier is sure of what it was
fitted on), and a customer's message gets the average of the five: both are asked by
classifiers that did not see the question, so a threshold chosen on the one holds for
the other. (With one classifier fitted on every phrasing for customers and the folds for
calibration only, the two must come out equally sharp. Fitted less precisely, to save
time, they did not: a public assistant set's base then offered choices for 44% of its
questions instead of 6%.)

Fitting time grows with phrasings x entries: about 4 s for the sample shop's five folds
(87 entries, 678 phrasings), in the background while an edit is already served. A base
beyond `MAX_WORK` (about four times the shop's phrasings x entries) has no classifier,
and answers on scores and margins alone, as before.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np

C = 100.0  # little regularisation: 10 phrasings per entry are few, and each one counts
FOLDS = 5
MAX_WORK = 250_000  # phrasings x entries: about 150 entries of 10 phrasings
MAX_ITERATIONS = 500


class _Softmax:
    """One fitted classifier: probabilities of every entry (columns in the index's order)."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        self.coef = np.ascontiguousarray(coef.T, dtype=np.float32)  # (dimension, entries)
        self.intercept = intercept.astype(np.float32)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = np.atleast_2d(vectors) @ self.coef + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


class EntryClassifier:
    """Immutable: the classifiers of the five folds."""

    def __init__(self, folds: list[_Softmax]) -> None:
        self.folds = folds

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """(queries, entries), for questions none of the folds saw: their average."""
        return np.mean([f.probabilities(vectors) for f in self.folds], axis=0)

    def probability(self, vector: np.ndarray, entry: int) -> float:
        """Of one entry, for one customer's message."""
        return float(self.probabilities(vector)[0, entry])

    def held_out(self, folds: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """(queries, entries): query i asked the classifier fitted without fold `folds[i]`
        (the fold of the phrasing it was asked as)."""
        out = np.zeros((len(vectors), self.folds[0].coef.shape[1]), np.float32)
        for f in np.unique(folds):
            mine = folds == f
            out[mine] = self.folds[f].probabilities(vectors[mine])
        return out


def fit(vectors: np.ndarray, owner: np.ndarray, entries: int, folds: np.ndarray) -> EntryClassifier | None:
    """One classifier per fold, fitted without it (`folds`: `fold_of` the phrasings).
    None when there is nothing to tell apart, or too much to fit quickly."""
    if entries < 2 or len(vectors) * entries > MAX_WORK:
        return None
    fitted = []
    for f in range(FOLDS):
        kept = folds != f
        if len(np.unique(owner[kept])) < 2:
            return None
        fitted.append(_fit_one(vectors[kept], owner[kept], entries))
    return EntryClassifier(fitted)


def _fit_one(vectors: np.ndarray, owner: np.ndarray, entries: int) -> _Softmax:
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: the iterations are capped on purpose
        model = LogisticRegression(C=C, max_iter=MAX_ITERATIONS).fit(vectors, owner)
    coef = np.zeros((entries, vectors.shape[1]), np.float32)
    intercept = np.full(entries, -1e4, np.float32)  # an entry with no phrasing in the fit: never likely
    if len(model.classes_) == 2:  # sklearn keeps one row for two classes: p(second)
        coef[model.classes_[1]], intercept[model.classes_[1]] = model.coef_[0], model.intercept_[0]
        coef[model.classes_[0]], intercept[model.classes_[0]] = 0.0, 0.0
    else:
        coef[model.classes_], intercept[model.classes_] = model.coef_, model.intercept_
    return _Softmax(coef, intercept)


def fold_of(texts: list[str]) -> np.ndarray:
    """Each phrasing's fold, by a hash of its text: an edit moves no other phrasing."""
    return np.asarray([int.from_bytes(hashlib.blake2b(t.encode(), digest_size=4).digest()) % FOLDS for t in texts])
