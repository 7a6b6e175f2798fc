"""Which entries the bot confuses with which, from a set of questions: what an editor
needs to merge two entries or reword them apart.

A question for entry A is confused with entry B when B comes first (the bot answers B,
or offers B first), or when the bot asks the customer to choose between A and B though
A scored enough to be answered: B scored as well.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from .base import KnowledgeBase
from .evaluate import Query

EXAMPLES = 3


@dataclass(frozen=True)
class Confusion:
    entry: str  # what the questions were for
    other: str  # what they were confused with
    questions: int  # questions for `entry` in the set
    ranked_first: int  # of them, where `other` came first
    offered_together: int  # of them, where the customer was asked to choose between the two
    examples: tuple[str, ...]

    @property
    def total(self) -> int:
        return self.ranked_first + self.offered_together

    def as_dict(self) -> dict:
        return asdict(self) | {"examples": list(self.examples)}


def confusions(kb: KnowledgeBase, queries: Sequence[Query]) -> list[Confusion]:
    """Pairs (entry, other) by entry, most confused first."""
    asked: dict[str, int] = defaultdict(int)
    first: dict[tuple[str, str], int] = defaultdict(int)
    together: dict[tuple[str, str], int] = defaultdict(int)
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    for q in queries:
        if q.expected is None:
            continue
        asked[q.expected] += 1
        reply = kb.ask(q.text)
        if not reply.hits:
            continue
        if reply.hits[0].id != q.expected:
            pairs, counter = [(q.expected, reply.hits[0].id)], first
        elif reply.kind == "clarify" and reply.hits[0].score >= kb.calibration.thresholds.answer:
            pairs, counter = [(q.expected, o.id) for o in reply.options if o.id != q.expected], together
        else:
            continue
        for pair in pairs:
            counter[pair] += 1
            if len(examples[pair]) < EXAMPLES:
                examples[pair].append(q.text)
    found = [
        Confusion(pair[0], pair[1], asked[pair[0]], first[pair], together[pair], tuple(examples[pair]))
        for pair in {*first, *together}
    ]
    return sorted(found, key=lambda c: (c.entry, -c.total, c.other))


def format_confusions(items: Sequence[dict]) -> str:
    """Text for `faqbot kb eval --confusions`, grouped by entry."""
    if not items:
        return "confusions: none: every question's entry came first, without a choice to make"
    lines = ["confusions (entry: questions for it; the entries they were confused with):"]
    entry = None
    for c in items:
        if c["entry"] != entry:
            entry = c["entry"]
            count = c["questions"]
            lines.append(f"{entry} ({count} question{'' if count == 1 else 's'})")
        parts = []
        if c["ranked_first"]:
            parts.append(f"{c['ranked_first']} ranked first")
        if c["offered_together"]:
            parts.append(f"{c['offered_together']} asked to choose")
        examples = "; ".join(f'"{e}"' for e in c["examples"])
        lines.append(f"  {c['other']}: {', '.join(parts)} -- e.g. {examples}")
    lines.append("Merge two entries that answer the same thing, or reword their questions apart.")
    return "\n".join(lines)
