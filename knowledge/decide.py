"""Answer, clarify or fall back: the one rule the bot and `faqbot kb eval` share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["answer", "clarify", "fallback"]
NEVER = -2.0  # a `distinct` no closeness is below
NO_VERBATIM = 2.0  # a `verbatim` no cosine reaches


@dataclass(frozen=True)
class Thresholds:
    """`answer`: the best entry's score needed to answer outright; `margin`: how far it
    must lead the runner-up (close scores mean the bot cannot tell them apart, and a
    confident wrong answer is the worst outcome); `clarify`: the score needed to offer
    the best entries as choices rather than say it does not know; `distinct`: below this
    closeness in meaning of the two best entries (cosine of their phrasings' centroids),
    they are about different things, and the best one needs to lead only by
    `distinct_margin`: close scores of two different things are no reason to make the
    customer choose (-2, below any cosine: never, `margin` alone decides);
    `verbatim`: a message at least this close (cosine) to one of the best entry's own
    phrasings says what that phrasing says, and is answered whatever the runner-up
    scored ("jak zwrocic towar" beside the heading "Jak mogę zwrócić towar?"; 2: never);
    `confident`: the probability the entry classifier (classifier.py) gives the best
    entry, needed to answer on scores and margins: below it, the bot offers choices
    (0: no such condition)."""

    answer: float
    margin: float
    clarify: float
    distinct: float = NEVER
    distinct_margin: float = 0.0
    verbatim: float = NO_VERBATIM
    confident: float = 0.0


def decide(
    top: float, second: float, t: Thresholds, closeness: float = 1.0, nearest: float = 0.0, confidence: float = 1.0
) -> Kind:
    """`second` is 0 when there is no runner-up; `closeness` is how close in meaning the
    two best entries are (1: as close as can be, the default when unknown); `nearest`
    the cosine of the message to the best entry's closest phrasing; `confidence` the
    classifier's probability of the best entry (1 when there is no classifier)."""
    needed = t.distinct_margin if closeness < t.distinct else t.margin
    if top >= t.answer and top - second >= needed and confidence >= t.confident:
        return "answer"
    if nearest >= t.verbatim and top >= t.clarify:
        return "answer"
    if top >= t.clarify:
        return "clarify"
    return "fallback"
