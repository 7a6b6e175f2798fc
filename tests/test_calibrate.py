"""Calibration's building blocks: they must not change what they summarise."""

from __future__ import annotations

import itertools

import numpy as np

from knowledge import calibrate as cal
from knowledge.index import Channels, Scoring
from knowledge.text import fold


def random_samples(n_queries: int, n_entries: int, seed: int = 0) -> cal._Samples:
    rng = np.random.default_rng(seed)
    channels = Channels(
        rng.uniform(0.7, 1.0, (n_queries, n_entries)),
        rng.uniform(0.0, 1.0, (n_queries, n_entries)),
        rng.uniform(0.7, 1.0, (n_queries, n_entries)),
        rng.uniform(0.0, 1.0, (n_queries, n_entries)),
        rng.uniform(0.6, 1.0, (n_queries, n_entries)),
    )
    target = rng.integers(0, n_entries, n_queries)
    target[: n_queries // 5] = -1  # some off-topic
    channels.phrasing_dense[n_queries // 5, :3] = -np.inf  # an entry held out
    vectors = rng.normal(size=(n_queries, 8)).astype(np.float32)
    return cal._Samples(channels, target, np.full(n_queries, "leave_one_out"), vectors)


def test_shortlist_keeps_what_decisions_use():
    full = random_samples(300, 1000)
    short = cal._shortlist(full)
    assert short.channels.phrasing_dense.shape[1] <= 8 * cal.SHORTLIST + 1  # 5 channels, 3 mixes, the right one
    mismatched = 0
    for values in itertools.product(*cal.GRID.values()):  # every scoring calibration tries
        scoring = Scoring(**dict(zip(cal.GRID, values, strict=True)))
        top, second, rank = cal._ranked(scoring.combine(full.channels), full.target)
        s_top, s_second, s_rank = cal._ranked(scoring.combine(short.channels), short.target)
        mismatched += int(np.sum(~np.isclose(s_top, top)) + np.sum(~np.isclose(s_second, second)))
        # What decisions use: is the right entry first, is it among the three offered.
        np.testing.assert_array_equal(s_rank == 0, rank == 0)
        np.testing.assert_array_equal((s_rank >= 0) & (s_rank < 3), (rank >= 0) & (rank < 3))
        np.testing.assert_array_equal(s_rank < 0, rank < 0)
    # random channels are the worst case (real ones agree with each other): a few in 10,000
    assert mismatched <= 1e-4 * 2 * 300 * len(list(itertools.product(*cal.GRID.values()))), mismatched


def test_small_bases_are_not_shortlisted():
    samples = random_samples(50, 5 * cal.SHORTLIST)
    assert cal._shortlist(samples) is samples


def test_hurried_typing_is_one_slip_from_the_folded_phrasing_and_repeatable():
    text = "Jak mogę zwrócić towar kupiony w salonie?"
    typed = cal.hurried(text)
    assert typed == cal.hurried(text)
    target = fold(text).rstrip("?")
    assert typed != target and typed.isascii()
    assert abs(len(typed) - len(target)) <= 1
    assert sum(a != b for a, b in zip(typed, target, strict=False)) >= 1


def test_an_edit_changes_the_calibration_sample_only_where_it_edits():
    class Index:  # the two attributes _sample_rows reads
        def __init__(self, texts):
            self.texts = texts
            self.owner = np.repeat(np.arange(len(texts) // 5), 5)
            self.starts = np.arange(0, len(texts) + 1, 5)

    before = [f"pytanie numer {i}" for i in range(1000)]
    after = before[:500] + ["zupełnie nowe pytanie", *before[501:]]
    chosen_before = {before[r] for r in cal._sample_rows(Index(before), 300)}
    chosen_after = {after[r] for r in cal._sample_rows(Index(after), 300)}
    assert len(chosen_before - chosen_after) <= 1
    assert len(chosen_after - chosen_before) <= 1


def test_equal_values_prefer_the_rule_that_answers_more():
    """Right answers everywhere: any answer threshold is as good as any other, and the
    lowest one must win (an instant answer is what customers value most)."""
    top = np.linspace(0.3, 1.0, 200)
    second = top - 0.5
    rank = np.zeros(200, int)
    kind = np.full(200, "leave_one_out")
    figures = cal._Figures(top, second, rank, kind, np.ones(200), np.zeros(200), np.ones(200))
    thresholds = cal._best_thresholds(figures)
    assert thresholds.answer <= np.quantile(top, 0.05)
