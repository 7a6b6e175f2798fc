"""A public intent benchmark as a knowledge base, then `faqbot kb eval` on it: retrieval
quality measured on data nobody here wrote (issue 10), with the product's own code.

    .venv/bin/python scripts/intent_benchmark.py DATA [--queries FILE] [--oos FILE]
        [--language en] [--phrasings 10] [--out DIR] [--train] [--json]

DATA is a labelled file: CSV or TSV with a header that names a text column (`text`,
`utterance`) and a label column (`label`, `category`, `intent`); Banking77's
`test.csv`, CLINC150's parts, Leyzer's TSVs turned into two columns all fit. `--oos` is
a file of out-of-scope questions (the same format, or one text per line).

Each label becomes one FAQ entry: `--phrasings` of its texts, chosen at random with a
fixed seed, are its heading and questions; the label in words is its answer (the sets
have no answers: a short text about the topic, as an answer would be). Every other
text of the label is a query that expects that entry, or, with `--queries` (a set's
test part, say, when DATA is its training part), every text of that file whose label
is an entry; every out-of-scope text is a query that expects none. Labels with too few
texts for `--phrasings` (and a query) are left out.

The folder it writes (`--out`, default a temporary one) is an ordinary knowledge base:
`faqbot kb eval`, `kb train` and `kb search` work on it as on any other. With
`--train` the model is adapted to it first (`faqbot kb train`), and the table shows
the base and the adapted model.

The data stays outside the project: nothing here is tuned to it, and the point of a
benchmark nobody wrote is lost once it is.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAQBOT = [sys.executable, "-m", "handoff.cli"]
TEXT_COLUMNS = ("text", "utterance", "question")
LABEL_COLUMNS = ("label", "category", "intent")
COLUMNS = ("top1", "answered_correct", "answered_wrong", "clarified", "fallback", "oos_answered")


def read_labelled(path: Path) -> list[tuple[str, str]]:
    """(text, label) rows of a CSV or TSV file with a header."""
    with path.open(encoding="utf-8", newline="") as f:
        sample = f.readline()
        f.seek(0)
        reader = csv.DictReader(f, delimiter="\t" if "\t" in sample else ",")
        fields = {name.strip().lower(): name for name in reader.fieldnames or ()}
        text = next((fields[c] for c in TEXT_COLUMNS if c in fields), None)
        label = next((fields[c] for c in LABEL_COLUMNS if c in fields), None)
        if text is None or label is None:
            raise SystemExit(f"{path}: needs a header with a text column {TEXT_COLUMNS} and a label {LABEL_COLUMNS}")
        return [(row[text].strip(), row[label].strip()) for row in reader if row[text] and row[text].strip()]


def read_texts(path: Path) -> list[str]:
    """Out-of-scope questions: the text column of a labelled file, or one per line."""
    first = path.read_text(encoding="utf-8").splitlines()[:1]
    if first and any(c in first[0].lower() for c in TEXT_COLUMNS) and ("\t" in first[0] or "," in first[0]):
        return [text for text, _ in read_labelled(path)]
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[0].strip() for line in lines if line.strip()]


def entry_id(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-").lower() or "entry"


def label_words(label: str) -> str:
    """`card_payment_wrong_exchange_rate` / `Calendar.OpenCalendar` -> words."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", label)
    return re.sub(r"[^0-9A-Za-zÀ-ž]+", " ", spaced).strip().capitalize()


def by_label(rows: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Each label's distinct texts, in file order."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for text, label in rows:
        if text not in grouped[label]:
            grouped[label].append(text)
    return grouped


def build(
    rows: list[tuple[str, str]],
    oos: list[str],
    out: Path,
    language: str,
    phrasings: int,
    seed: int,
    query_rows: list[tuple[str, str]] | None = None,
) -> tuple[int, int, int]:
    """Write `out/faq/*.md` and `out/queries.jsonl`; (entries, in-scope, out-of-scope)."""
    labelled = by_label(rows)
    separate = by_label(query_rows) if query_rows is not None else None
    rng = random.Random(seed)
    faq = out / "faq"
    faq.mkdir(parents=True, exist_ok=True)
    queries = []
    entries = 0
    for label in sorted(labelled):
        texts = labelled[label]
        if len(texts) < phrasings or (separate is None and len(texts) == phrasings):
            continue
        rng.shuffle(texts)
        chosen, asked = texts[:phrasings], texts[phrasings:]
        if separate is not None:
            asked = [t for t in separate.get(label, []) if t not in chosen]
            if not asked:
                continue
        ident = entry_id(label)
        front = [
            "---",
            f"id: {ident}",
            f"language: {language}",
            "questions:",
            *(f"  - {json.dumps(q, ensure_ascii=False)}" for q in chosen[1:]),
            "---",
            f"# {chosen[0]}",
            "",
            f"{label_words(label)}.",
            "",
        ]
        (faq / f"{ident}.md").write_text("\n".join(front), encoding="utf-8")
        queries += [{"text": q, "expected": ident} for q in asked]
        entries += 1
    queries += [{"text": q, "expected": None} for q in oos]
    with (out / "queries.jsonl").open("w", encoding="utf-8") as f:
        for q in queries:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    return entries, len(queries) - len(oos), len(oos)


def faqbot(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*FAQBOT, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def evaluate(out: Path, env: dict[str, str], base: bool) -> dict:
    args = ["kb", "eval", "--kb", str(out / "faq"), "--queries", str(out / "queries.jsonl"), "--json"]
    done = faqbot([*args, "--base"] if base else args, env)
    if done.returncode != 0:
        raise SystemExit(f"faqbot kb eval failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("--queries", type=Path, help="labelled questions to ask (default: DATA's other texts)")
    parser.add_argument("--oos", type=Path, help="out-of-scope questions")
    parser.add_argument("--language", default="en", help="the language of the FAQ files (default en)")
    parser.add_argument("--phrasings", type=int, default=10, help="phrasings per entry (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="where to write the knowledge base (default: a temporary folder)")
    parser.add_argument("--train", action="store_true", help="adapt the model to it and compare")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="intent-benchmark-"))
    oos = read_texts(args.oos) if args.oos else []
    query_rows = read_labelled(args.queries) if args.queries else None
    entries, in_scope, out_of_scope = build(
        read_labelled(args.data), oos, out, args.language, args.phrasings, args.seed, query_rows
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "FAQBOT_DEFAULT_LANGUAGE": args.language,
        "FAQBOT_ADAPT_DIR": str(out / "adapted"),  # its own: the project's keeps only two models
    }
    print(f"{args.data.name}: {entries} entries, {in_scope} questions, {out_of_scope} out of scope -> {out}")
    results = {"base": evaluate(out, env, base=True)}
    if args.train:
        started = time.perf_counter()
        done = faqbot(["kb", "train", "--kb", str(out / "faq")], env)
        seconds = time.perf_counter() - started
        print(done.stdout.strip() or done.stderr.strip()[-2000:])
        results["adapted"] = evaluate(out, env, base=False)
        results["adapted"]["train_seconds"] = round(seconds)
    if args.json:
        print(json.dumps(results))
        return 0
    print("| model | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for name, figures in results.items():
        cells = [
            f"{figures[c]:.3f}" if c in ("top1", "mrr") else f"{100 * figures[c]:.1f}%"
            for c in COLUMNS
            if not (c == "oos_answered" and not out_of_scope)
        ]
        print(f"| {name} | " + " | ".join(cells) + (" | –" if not out_of_scope else "") + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
