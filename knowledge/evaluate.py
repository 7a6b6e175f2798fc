"""`faqbot kb eval`: how well the bot answers a set of customer questions, decided with
the very thresholds it uses live."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import KnowledgeBase

KEYS = (
    "top1",
    "top3",
    "mrr",
    "answered_correct",
    "answered_wrong",
    "clarified",
    "fallback",
    "oos_answered",
    "queries",
    "latency_ms_p50",
    "latency_ms_p95",
)
IN_SCOPE_SHARES = ("top1", "top3", "answered_correct", "answered_wrong", "clarified", "fallback")


class QueryFileError(ValueError):
    pass


@dataclass(frozen=True)
class Query:
    text: str
    expected: str | None  # None: out of scope, the bot must not answer


def read_queries(path: Path) -> list[Query]:
    """Lines of {"text": ..., "expected": "<id>" | null}; blank lines are skipped."""
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QueryFileError(f"{path}:{number}: not JSON: {exc.msg}") from None
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
            raise QueryFileError(f'{path}:{number}: needs a non-empty "text"')
        if "expected" not in item or not (item["expected"] is None or isinstance(item["expected"], str)):
            raise QueryFileError(f'{path}:{number}: needs "expected": an entry id or null')
        queries.append(Query(item["text"], item["expected"]))
    if not queries:
        raise QueryFileError(f"{path}: no queries")
    return queries


def evaluate(kb: KnowledgeBase, queries: list[Query]) -> dict:
    unknown = sorted({q.expected for q in queries if q.expected is not None and q.expected not in kb})
    if unknown:
        raise QueryFileError(f"expected ids not in the knowledge base: {', '.join(unknown)}")
    kb.ask("warm-up")  # first call pays one-off allocations; not what customers see
    ranks, kinds, oos_kinds, latencies = [], [], [], []
    for q in queries:
        started = time.perf_counter()
        reply = kb.ask(q.text)
        latencies.append((time.perf_counter() - started) * 1000)
        if q.expected is None:
            oos_kinds.append(reply.kind)
            continue
        ids = [h.id for h in reply.hits]
        ranks.append(ids.index(q.expected) if q.expected in ids else None)
        correct = reply.kind == "answer" and reply.hits[0].id == q.expected
        kinds.append("answered_correct" if correct else "answered_wrong" if reply.kind == "answer" else reply.kind)

    def share(values: list, value) -> float:
        return round(sum(v == value for v in values) / len(values), 4) if values else 0.0

    return {
        "top1": share(ranks, 0),
        "top3": round(sum(r is not None and r < 3 for r in ranks) / len(ranks), 4) if ranks else 0.0,
        "mrr": round(sum(1 / (r + 1) for r in ranks if r is not None) / len(ranks), 4) if ranks else 0.0,
        "answered_correct": share(kinds, "answered_correct"),
        "answered_wrong": share(kinds, "answered_wrong"),
        "clarified": share(kinds, "clarify"),
        "fallback": share(kinds, "fallback"),
        "oos_answered": share(oos_kinds, "answer"),
        "queries": len(queries),
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2),
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 2),
    }


def interval(share: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a share of `n` questions. Why: with a couple of hundred
    questions a share moves by several points from one set of such questions to the
    next, and an editor comparing two models (`--base`) needs to see whether a
    difference is more than that."""
    from scipy.stats import binomtest

    if n <= 0:
        return 0.0, 1.0
    found = binomtest(round(share * n), n).proportion_ci(level, method="wilson")
    return float(found.low), float(found.high)
