"""`faqbot kb ...`: validate, search and evaluate a knowledge base from the shell."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .settings import Settings


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    kb = subparsers.add_parser("kb", help="work with the FAQ knowledge base")
    commands = kb.add_subparsers(dest="kb_command", required=True)

    validate = commands.add_parser("validate", help="check FAQ files; exit 1 on errors")
    validate.add_argument("--kb", help="knowledge-base folder (default: data/faq)")
    validate.add_argument("--quick", action="store_true", help="skip the checks that need the model")
    validate.add_argument(
        "--drafts",
        help="the desk's FAQ drafts to check too (default: FAQBOT_DRAFTS_DIR, else data/faq-drafts when --kb "
        "is not given; a missing folder has nothing to check)",
    )
    validate.set_defaults(handler=cmd_validate)

    search = commands.add_parser("search", help="the best entries for a question, with scores")
    search.add_argument("--kb", help="knowledge-base folder (default: data/faq)")
    search.add_argument("-n", type=int, default=5, help="how many entries to show")
    search.add_argument("--base", action="store_true", help="use the base model even if an adapted one exists")
    search.add_argument("text", nargs="+", help="the question")
    search.set_defaults(handler=cmd_search)

    evaluate = commands.add_parser("eval", help="score the bot on a file of questions")
    evaluate.add_argument("--kb", help="knowledge-base folder (default: data/faq)")
    evaluate.add_argument("--queries", required=True, type=Path, help='JSONL: {"text": ..., "expected": id|null}')
    evaluate.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    evaluate.add_argument("--base", action="store_true", help="use the base model even if an adapted one exists")
    evaluate.add_argument(
        "--confusions", action="store_true", help="also list, per entry, the entries its questions are confused with"
    )
    evaluate.set_defaults(handler=cmd_eval)

    train = commands.add_parser("train", help="adapt the embedding model to this knowledge base (a few minutes)")
    train.add_argument("--kb", help="knowledge-base folder (default: data/faq)")
    train.add_argument("--epochs", type=int, default=None, help="passes over the phrasings (default 2)")
    train.add_argument("--force", action="store_true", help="train again even if this content was trained")
    train.set_defaults(handler=cmd_train)


def _progress(done: int, total: int) -> None:
    if total >= 256:
        end = "\n" if done == total else "\r"
        print(f"embedding phrasings: {done}/{total} ({100 * done // total}%)", end=end, file=sys.stderr, flush=True)


def _load(args, quiet: bool = False):
    """Structural problems first (fast, no model); then the knowledge base, if valid."""
    from .loader import EntryLoader

    settings = Settings.from_env(args.kb)
    loader = EntryLoader(settings.kb_dir, settings.default_language, settings.languages)
    try:
        result = loader.load()
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return settings, None, None
    for problem in result.problems:
        if not quiet or problem.severity == "error":
            print(problem, file=sys.stderr if quiet else sys.stdout)
    return settings, result, loader


def _build(settings: Settings, entries, base: bool = False):
    """The knowledge base with the model adapted to this content when one exists (and
    `base` is not asked), saying on stderr which model it is."""
    from .adapt import adapted_for
    from .base import KnowledgeBase
    from .embedder import Embedder, EmbeddingCache

    folder = None if base else adapted_for(entries, settings.model, settings.adapt_dir)[1]
    if folder is not None:
        print(f"model: adapted to this knowledge base ({folder})", file=sys.stderr)
    else:
        why = "asked with --base" if base else "no adapted model for this content: faqbot kb train"
        print(f"model: base {settings.model} ({why})", file=sys.stderr)
    return KnowledgeBase.build(
        entries,
        Embedder(str(folder or settings.model)),
        EmbeddingCache(settings.cache_path),
        settings.default_language,
        progress=_progress,
    )


def cmd_validate(args) -> int:
    settings, result, _ = _load(args)
    drafts_ok = _validate_drafts(args, settings, result.entries if result is not None else [])
    if result is None:
        return 1
    if result.errors:
        print(f"{len(result.errors)} error(s) in {settings.kb_dir}")
        return 1
    warnings = len(result.warnings)
    if not args.quick:
        from .validate import close_entries, near_duplicates

        kb = _build(settings, result.entries)
        for problem in [*near_duplicates(kb), *close_entries(kb)]:
            print(problem)
            warnings += 1
    ids = {e.id for e in result.entries}
    languages = sorted({e.language for e in result.entries})
    print(f"ok: {len(result.entries)} files, {len(ids)} entries ({', '.join(languages)}), {warnings} warning(s)")
    return 0 if drafts_ok else 1


def _validate_drafts(args, settings: Settings, published) -> bool:
    """The desk's drafts, checked like FAQ files (structure only) and labelled as
    drafts; False if any has an error."""
    from .drafts import check_drafts, drafts_dir

    folder = drafts_dir(args.drafts, kb_given=args.kb is not None)
    if folder is None:
        return True
    check = check_drafts(folder, settings.kb_dir, published, settings.default_language, settings.languages)
    if not check.files and not check.problems:
        return True
    for problem in check.problems:
        print(problem)
    print(f"drafts: {check.files} file(s) in {folder}, {len(check.errors)} error(s), {len(check.warnings)} warning(s)")
    return not check.errors


def cmd_search(args) -> int:
    settings, result, _ = _load(args, quiet=True)
    if result is None or result.errors:
        return 1
    kb = _build(settings, result.entries, args.base)
    reply = kb.ask(" ".join(args.text))
    print(f"decision: {reply.kind} (language {reply.language})")
    for hit in reply.hits[: args.n]:
        title = kb.entry(hit.id, reply.language).title
        print(
            f"{hit.score:6.3f}  {hit.id:<28} {title}   [phrasing: dense {hit.dense:.3f}, lexical {hit.lexical:.3f}; "
            f"answer: dense {hit.answer_dense:.3f}, lexical {hit.answer_lexical:.3f}]"
        )
    return 0


def cmd_eval(args) -> int:
    from .evaluate import IN_SCOPE_SHARES, QueryFileError, evaluate, interval, read_queries

    try:
        queries = read_queries(args.queries)
    except (QueryFileError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    settings, result, _ = _load(args, quiet=True)
    if result is None or result.errors:
        return 1
    started = time.perf_counter()
    kb = _build(settings, result.entries, args.base)
    built = time.perf_counter() - started
    try:
        figures = evaluate(kb, queries)
    except QueryFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(figures))
        if args.confusions:
            print(json.dumps(_confusions(kb, queries)))
        return 0
    in_scope = sum(q.expected is not None for q in queries)
    print(
        f"{len(queries)} queries ({in_scope} in scope, {len(queries) - in_scope} out of scope); "
        f"{len(kb)} entries, index and calibration {built:.1f} s"
    )
    t = kb.calibration.thresholds
    print(
        f"thresholds: answer {t.answer:.3f}, margin {t.margin:.3f} (unless entries closer than {t.distinct:.3f}), "
        f"clarify {t.clarify:.3f}, answer only if the classifier gives the best entry {t.confident:.2f}; "
        f"scoring {kb.calibration.scoring}"
    )
    counted = {key: in_scope for key in IN_SCOPE_SHARES} | {"oos_answered": len(queries) - in_scope}
    for key, value in figures.items():
        if counted.get(key):
            low, high = interval(value, counted[key])
            print(f"{key:>17}: {value:<6}  95%: {low:.3f}-{high:.3f} of {counted[key]}")
        else:
            print(f"{key:>17}: {value}")
    if args.confusions:
        from .confusions import format_confusions

        print()
        print(format_confusions(_confusions(kb, queries)))
    return 0


def _confusions(kb, queries) -> list[dict]:
    from .confusions import confusions

    return [c.as_dict() for c in confusions(kb, queries)]


def cmd_train(args) -> int:
    from .adapt import adapt, base_fingerprint, content_key, read_check

    settings, result, _ = _load(args, quiet=True)
    if result is None or result.errors:
        return 1
    epochs = args.epochs or settings.adapt_epochs
    if epochs < 1:
        print("error: --epochs must be at least 1", file=sys.stderr)
        return 2
    key = content_key(result.entries, base_fingerprint(settings.model))
    check = read_check(settings.adapt_dir, key)
    if check is not None and not args.force:
        print(f"already trained for this content: {_verdict(check, settings.adapt_dir)} (--force trains again)")
        return 0
    print(f"adapting {settings.model} to {settings.kb_dir} ({len(result.entries)} files, {epochs} epoch(s))")
    check = adapt(result.entries, settings.model, settings.adapt_dir, epochs=epochs)
    print(_verdict(check, settings.adapt_dir))
    if check.kept and settings.cache_path is not None:
        from .retrain import warm_cache

        warm_cache(result.entries, settings.adapt_dir / check.key, settings.cache_path)  # the bot starts at once
    print(f"trained in {check.seconds:.0f} s: {check.pairs} pairs in {check.steps} steps")
    return 0


def _verdict(check, root: Path) -> str:
    where = f"model in {root / check.key}" if check.kept else "the base model stays"
    outcome = "kept" if check.kept else "not kept: no better than the base model"
    return (
        f"held-out phrasings ({check.held_out}) found by the nearest phrasing: base model {check.base_top1:.3f}, "
        f"adapted {check.tuned_top1:.3f}: {outcome}; {where}"
    )
