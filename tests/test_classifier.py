"""The entry classifier: probabilities of every entry, and fair ones for calibration."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge import calibrate as cal
from knowledge import classifier
from knowledge.decide import Thresholds, decide


def clusters(entries: int = 6, per_entry: int = 10, dimension: int = 16, seed: int = 0):
    """Unit vectors around one centre per entry, and their owners."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(entries, dimension))
    owner = np.repeat(np.arange(entries), per_entry)
    vectors = centres[owner] + 0.3 * rng.normal(size=(len(owner), dimension))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), owner, centres


def folds(n: int) -> np.ndarray:
    return classifier.fold_of([f"phrasing {i}" for i in range(n)])


def test_probabilities_of_every_entry_find_the_right_one():
    vectors, owner, centres = clusters()
    model = classifier.fit(vectors, owner, len(centres), folds(len(vectors)))
    unit = centres / np.linalg.norm(centres, axis=1, keepdims=True)
    probabilities = model.probabilities(unit)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert list(probabilities.argmax(axis=1)) == list(range(len(centres)))
    assert model.probability(unit[2], 2) == pytest.approx(probabilities[2, 2], rel=1e-5)


def test_an_entry_without_phrasings_in_the_fit_is_never_likely():
    vectors, owner, centres = clusters()
    kept = owner != 3
    model = classifier.fit(vectors[kept], owner[kept], len(centres), folds(int(kept.sum())))
    assert model.probabilities(centres[3])[0, 3] < 1e-6
    two = np.isin(owner, (1, 4))  # two classes: sklearn keeps a single row of weights
    model = classifier.fit(vectors[two], owner[two], len(centres), folds(int(two.sum())))
    probabilities = model.probabilities(centres[[1, 4]])
    assert probabilities[0, 1] > 0.9 and probabilities[1, 4] > 0.9
    assert probabilities[:, [0, 2, 3, 5]].max() < 1e-6


def test_nothing_to_fit_or_too_much_gives_no_classifier(monkeypatch):
    vectors, owner, centres = clusters()
    assert classifier.fit(vectors, np.zeros_like(owner), len(centres), folds(len(vectors))) is None
    monkeypatch.setattr(classifier, "MAX_WORK", len(vectors) * len(centres) - 1)
    assert classifier.fit(vectors, owner, len(centres), folds(len(vectors))) is None


def test_a_phrasing_is_judged_by_the_classifier_that_never_saw_it():
    """A phrasing of entry 0 that reads like entry 1: the four classifiers fitted on it
    have learnt that it is entry 0's; the one fitted without it all but rules entry 0
    out. Calibration needs that one's answer, as for a customer's question."""
    vectors, owner, centres = clusters()
    odd = 5  # a phrasing of entry 0
    vectors[odd] = centres[1] / np.linalg.norm(centres[1])
    fold = folds(len(vectors))
    model = classifier.fit(vectors, owner, len(centres), fold)
    fair = model.held_out(fold[[odd]], vectors[[odd]])[0]
    learnt = [f.probabilities(vectors[odd])[0, 0] for i, f in enumerate(model.folds) if i != fold[odd]]
    assert fair.argmax() == 1
    assert fair[0] < min(learnt) / 10, (fair[0], learnt)


def test_folds_depend_on_the_text_alone():
    texts = [f"question {i}" for i in range(50)]
    assert list(classifier.fold_of(texts)[:10]) == list(classifier.fold_of(texts[:10]))
    assert set(classifier.fold_of(texts)) == set(range(classifier.FOLDS))


def test_an_unsure_classifier_turns_an_answer_into_a_choice():
    t = Thresholds(answer=0.5, margin=0.1, clarify=0.3, confident=0.4)
    assert decide(0.9, 0.5, t, confidence=0.6) == "answer"
    assert decide(0.9, 0.5, t, confidence=0.2) == "clarify"
    assert decide(0.9, 0.5, t) == "answer"  # no classifier: no condition


def test_calibration_asks_for_confidence_only_where_it_pays():
    """Samples answered outright, where the classifier is unsure of the wrong ones and
    sure of the right ones: the rule asks for some confidence. Where its probability
    says nothing about being right, it asks for none."""
    rng = np.random.default_rng(1)
    n = 400
    kind = np.array(["leave_one_out"] * n)
    rank = (rng.random(n) < 0.05).astype(int)  # one in twenty comes out with the wrong entry first
    top, second = np.full(n, 0.9), np.full(n, 0.5)
    close, nearest = np.ones(n), np.zeros(n)
    t = Thresholds(answer=0.6, margin=0.1, clarify=0.4)
    telling = np.where(rank == 0, rng.uniform(0.5, 1.0, n), rng.uniform(0.05, 0.35, n))
    chosen = cal._with_confidence(t, cal._Figures(top, second, rank, kind, close, nearest, telling))
    assert 0.35 < chosen.confident <= 0.5, chosen
    blind = rng.uniform(0.0, 1.0, n)
    assert cal._with_confidence(t, cal._Figures(top, second, rank, kind, close, nearest, blind)).confident == 0.0


def test_calibration_scores_the_very_rule_the_bot_decides_by():
    """`_Figures.answers` is `decide` over many samples at once: thresholds chosen on the
    one must hold for the other, whatever the rule's conditions."""
    rng = np.random.default_rng(3)
    n = 2000
    top = rng.uniform(0.0, 1.2, n)
    second = top - rng.uniform(0.0, 0.3, n)
    close, nearest, sure = rng.uniform(0.3, 1.0, n), rng.uniform(0.8, 1.0, n), rng.uniform(0.0, 1.0, n)
    figures = cal._Figures(top, second, np.zeros(n, int), np.full(n, "hurried"), close, nearest, sure)
    rules = [
        Thresholds(0.6, 0.1, 0.4),
        Thresholds(0.7, 0.12, 0.5, distinct=0.7, distinct_margin=0.02, verbatim=0.97, confident=0.3),
        Thresholds(0.5, 0.05, 0.5, distinct=0.9, distinct_margin=0.0, verbatim=0.9, confident=0.6),
    ]
    for t in rules:
        expected = [decide(top[i], second[i], t, close[i], nearest[i], sure[i]) for i in range(n)]
        answers = figures.answers(t)
        found = np.where(answers, "answer", np.where(top >= t.clarify, "clarify", "fallback"))
        assert list(found) == expected, t
        assert 0 < answers.sum() < n  # the samples reach both sides of each rule
