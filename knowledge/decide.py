"""Answer, clarify or fall back: the one rule the bot and `faqbot kb eval` share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["answer", "clarify", "fallback"]


@dataclass(frozen=True)
class Thresholds:
    """`answer`: the best entry's score needed to answer outright; `margin`: how far it
    must lead the runner-up (close scores mean the bot cannot tell them apart, and a
    confident wrong answer is the worst outcome); `clarify`: the score needed to offer
    the best entries as choices rather than say it does not know."""

    answer: float
    margin: float
    clarify: float


def decide(top: float, second: float, t: Thresholds) -> Kind:
    """`second` is 0 when there is no runner-up."""
    if top >= t.answer and top - second >= t.margin:
        return "answer"
    if top >= t.clarify:
        return "clarify"
    return "fallback"
