"""Knowledge-base benchmark: build time at 1,000 and 10,000 entries, query time, reload
after editing one entry, and memory. A script, not a test: figures go to the README.

    .venv/bin/python scripts/bench_kb.py [--sizes 1000 10000] [--queries 200]

Synthetic knowledge bases are made from the sample shop's entries, each copy about
another product, so every phrasing and answer is a distinct text to embed. Embeddings
go to caches of their own under .cache/bench/: the first run measures a cold build
(the model embedding every text), later runs a warm one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.embedder import Embedder  # noqa: E402
from knowledge.live import LiveKnowledgeBase  # noqa: E402
from knowledge.loader import EntryLoader  # noqa: E402
from knowledge.settings import Settings  # noqa: E402

PRODUCTS = (
    "odkurzacz czajnik toster blender mikser żelazko suszarka lampa patelnia garnek talerz kubek "
    "sztućce pościel ręcznik zasłona dywan poduszka kołdra regał szafka krzesło stół biurko fotel "
    "ekspres mikrofalówka piekarnik lodówka zmywarka pralka wentylator grzejnik nawilżacz oczyszczacz "
    "waga termometr budzik zegar ramka lustro wazon świeca doniczka kosz pojemnik deska nóż tarka "
    "sitko czajniczek termos bidon lunchbox organizer wieszak półka komoda materac narzuta koc"
).split()


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def make_kb(folder: Path, size: int) -> list[str]:
    """Write `size` entries; return a sample of customer questions for them."""
    sample = EntryLoader(ROOT / "data" / "faq").load().entries
    polish = [e for e in sample if e.language == "pl"]
    questions = []
    for i in range(size):
        e = polish[i % len(polish)]
        product = PRODUCTS[(i // len(polish)) % len(PRODUCTS)]
        tag = f"{product} {i // (len(polish) * len(PRODUCTS))}" if i >= len(polish) * len(PRODUCTS) else product
        body = "\n".join(f"  - {q} ({tag})" for q in e.questions)
        text = (
            f"---\nid: {e.id}-{i}\nlanguage: pl\nquestions:\n{body}\n---\n"
            f"# {e.title.rstrip('?')} ({tag})?\n\n{e.answer}\n\nDotyczy produktu: {tag}.\n"
        )
        path = folder / f"{i // 1000:02d}" / f"{e.id}-{i}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if len(questions) < 400:
            questions.append(f"{e.questions[0] if e.questions else e.title} {tag}")
    return questions


def percentiles(values: list[float]) -> str:
    return f"p50 {np.percentile(values, 50):.2f} ms, p95 {np.percentile(values, 95):.2f} ms"


def copy_sample(folder: Path) -> list[str]:
    """The sample shop itself; its evaluation questions are the queries."""
    shutil.copytree(ROOT / "data" / "faq", folder)
    lines = (ROOT / "tests" / "eval" / "queries.jsonl").read_text().splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def bench(size: int | str, embedder: Embedder, n_queries: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "faq"
        questions = copy_sample(folder) if size == "sample" else make_kb(folder, int(size))
        cache = ROOT / ".cache" / "bench" / f"embeddings-{size}.sqlite3"  # kept: a rerun skips the embedding
        print(f"  embedding cache {cache.relative_to(ROOT)} ({'warm' if cache.exists() else 'cold'})", flush=True)
        settings = Settings(kb_dir=folder, cache_path=cache, last_good_dir=None)

        before = rss_mb()
        started = time.perf_counter()
        live = LiveKnowledgeBase(settings, embedder=embedder, progress=progress)
        build = time.perf_counter() - started
        index = live.current.index
        print(f"  built {len(index)} entries, {len(index.texts)} phrasings in {build:.1f} s", flush=True)

        embed_ms, search_ms, total_ms = [], [], []
        for q in (questions * 2)[:n_queries]:
            t0 = time.perf_counter()
            vector = embedder.encode_one(q)
            t1 = time.perf_counter()
            index.search(q, vector, live.current.calibration.scoring)
            t2 = time.perf_counter()
            embed_ms.append((t1 - t0) * 1000)
            search_ms.append((t2 - t1) * 1000)
            total_ms.append((t2 - t0) * 1000)

        edited = next(folder.rglob("*.md"))
        edited.write_text(edited.read_text().replace("questions:\n", "questions:\n  - zupełnie nowe pytanie\n", 1))
        started = time.perf_counter()
        swapped = live.reload()
        reload = time.perf_counter() - started
        assert swapped, "the edit was not picked up"

        return {
            "entries": len(index) if size == "sample" else size,
            "phrasings": len(index.texts),
            "build_s": round(build, 1),
            "reload_one_edit_s": round(reload, 2),
            "index_swap_s": round(live.last_swap_seconds, 2),
            "embed_query_ms": percentiles(embed_ms),
            "search_ms": percentiles(search_ms),
            "reply_path_ms": percentiles(total_ms),
            "rss_growth_mb": round(rss_mb() - before),
            "rss_mb": round(rss_mb()),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }


def progress(done: int, total: int) -> None:
    if done == total or done % 4096 < 256:
        print(f"  embedding {done}/{total}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["sample", "1000", "10000"], help="entries, or 'sample'")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    base = rss_mb()
    embedder = Embedder(Settings().model)
    print(f"process {base:.0f} MB, with the model {rss_mb():.0f} MB", flush=True)
    results = []
    for size in args.sizes:
        print(f"{size} entries ...", flush=True)
        results.append(bench(size, embedder, args.queries))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    print("\n| entries | phrasings | build | reload after 1 edit | index live after | search | embed + search | RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['entries']} | {r['phrasings']} | {r['build_s']} s | {r['reload_one_edit_s']} s "
            f"| {r['index_swap_s']} s | {r['search_ms']} | {r['reply_path_ms']} | {r['rss_mb']} MB |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
