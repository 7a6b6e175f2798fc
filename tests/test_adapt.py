"""Adapting the model to a knowledge base: real training of the real e5 model on small
bases (a few steps each), the folder keyed by content, the check that keeps a model only
when it is better, the CLI, and the live swap after an edit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knowledge import adapt
from knowledge.confusions import confusions, format_confusions
from knowledge.decide import Thresholds, decide
from knowledge.entries import Entry
from knowledge.evaluate import Query
from knowledge.loader import EntryLoader
from knowledge.settings import Settings

from .conftest import SAMPLE_KB
from .faq_files import lines, write

FAQBOT = Path(sys.executable).parent / "faqbot"
MODEL = Settings().model

# Three entries nobody could mix up: the base model already finds every held-out
# phrasing's entry, so no tuned model can be better, and none is kept.
DISTINCT = {
    "returns.md": lines(
        "---",
        "questions:",
        "  - jak oddać towar",
        "  - chcę zwrócić zakupy",
        "  - zwrot produktu",
        "  - odesłanie paczki ze zwrotem",
        "---",
        "# Jak zwrócić towar?",
        "",
        "Wypełnij formularz zwrotu.",
    ),
    "password.md": lines(
        "---",
        "questions:",
        "  - nie pamiętam hasła",
        "  - reset hasła",
        "  - jak zmienić hasło do konta",
        "  - zapomniałem hasła",
        "---",
        "# Jak odzyskać hasło?",
        "",
        "Kliknij 'Nie pamiętam hasła'.",
    ),
    "hours.md": lines(
        "---",
        "questions:",
        "  - do której jesteście otwarci",
        "  - godziny otwarcia salonu",
        "  - czy sklep jest czynny w niedzielę",
        "  - w jakich godzinach działa sklep",
        "---",
        "# Kiedy jest otwarty salon?",
        "",
        "Od 10 do 20.",
    ),
}


def entry(entry_id: str, *phrasings: str, language: str = "pl", answer: str = "Odpowiedź.") -> Entry:
    return Entry(entry_id, language, phrasings[0], answer, tuple(phrasings[1:]))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
    return env | {"HF_HUB_OFFLINE": "1"} | extra


def delivery_base(root: Path) -> Path:
    """The sample shop's delivery entries: twelve neighbours the base model mixes up."""
    folder = root / "faq"
    shutil.copytree(SAMPLE_KB / "dostawa", folder)
    return folder


# -- building blocks -----------------------------------------------------------


def test_batches_pair_phrasings_of_one_entry_and_never_hold_an_entry_twice():
    train = {f"e{i}": [f"entry {i} phrasing {j}" for j in range(3 + i % 7)] for i in range(40)}
    owner = {t: e for e, texts in train.items() for t in texts}
    batches = adapt.make_batches(train, epochs=2, augment=False)
    assert all(2 <= len(b) <= adapt.BATCH_SIZE for b in batches)
    for batch in batches:
        entries = [owner[a] for a, _ in batch]
        assert len(set(entries)) == len(entries), "a second pair of one entry would be a false negative"
        assert all(owner[a] == owner[b] and a != b for a, b in batch)
    anchors = [a for b in batches for a, _ in b]
    assert len(anchors) >= 0.95 * 2 * len(owner)  # each phrasing is an anchor once per epoch (bar the tail)


def test_anchors_are_typed_as_customers_type_them():
    train = {"returns": ["Jak zwrócić towar?", "zwrot towaru"], "password": ["Zapomniałem hasła", "reset hasła"]}
    anchors = {a for b in adapt.make_batches(train, epochs=30) for a, _ in b}
    assert {"Jak zwrócić towar?", "jak zwrócić towar?".replace("ó", "o").replace("ć", "c")} <= anchors
    assert any(a.isascii() and a not in {"jak zwrocic towar?", "zwrot towaru"} for a in anchors)  # a slip


def test_held_out_phrasings_are_one_in_five_never_the_heading_nor_of_small_entries():
    groups = {
        "big": ["heading", *[f"q{i}" for i in range(9)]],
        "small": ["heading s", "q s"],
        "three": ["heading t", "a", "b"],
    }
    train, held = adapt.split(groups)
    held_by = {}
    for text, entry_id in held:
        held_by.setdefault(entry_id, []).append(text)
    assert len(held_by["big"]) == 2 and len(held_by["three"]) == 1 and "small" not in held_by
    assert all(t not in train[e] for t, e in held)
    assert "heading" in train["big"] and "heading t" in train["three"]
    assert adapt.split(groups) == (train, held)  # by text, not by chance


def test_content_key_follows_content_not_file_order():
    a = entry("returns", "Jak zwrócić?", "zwrot towaru")
    b = entry("returns", "How to return?", "return an item", language="en")
    c = entry("password", "Jak zmienić hasło?")
    key = adapt.content_key([a, b, c], "fp")
    assert adapt.content_key([c, b, a], "fp") == key
    assert adapt.content_key([a, b, Entry("password", "pl", "Jak zmienić hasło?", "Inna.")], "fp") != key
    assert adapt.content_key([a, b, c], "another base model") != key
    groups = adapt.phrasing_groups([a, b, c])
    assert groups["returns"] == ["How to return?", "return an item", "Jak zwrócić?", "zwrot towaru"]


# -- training ------------------------------------------------------------------


def test_a_model_no_better_than_the_base_is_not_kept(tmp_path):
    for name, text in DISTINCT.items():
        write(tmp_path / "faq", name, text)
    entries = EntryLoader(tmp_path / "faq").load().entries
    root = tmp_path / "adapted"
    check = adapt.adapt(entries, MODEL, root, progress=False)
    assert check.base_top1 == 1.0 and check.held_out == 3
    assert not check.kept and check.tuned_top1 <= check.base_top1
    assert not (root / check.key).exists(), "a rejected model must not take 460 MB"
    recorded = json.loads((root / f"{check.key}.json").read_text())
    assert recorded["kept"] is False and recorded["key"] == check.key
    assert adapt.find_adapted(root, check.key) is None
    assert adapt.adapted_for(entries, MODEL, root) == (check.key, None)


def test_training_runs_on_every_core_whatever_the_process_had_set(tmp_path, monkeypatch):
    """Importing the index sets OpenMP to one thread for faiss, and that lands in torch's
    runtime too: training must not inherit it."""
    import torch

    for name, text in DISTINCT.items():
        write(tmp_path / "faq", name, text)
    entries = EntryLoader(tmp_path / "faq").load().entries
    during = []
    real_train = adapt.train

    def train(*args, **kwargs):
        during.append(torch.get_num_threads())
        return real_train(*args, **kwargs)

    monkeypatch.setattr(adapt, "train", train)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        adapt.adapt(entries, MODEL, tmp_path / "adapted", progress=False)
        assert during == [adapt.cores()]
        assert torch.get_num_threads() == 1, "the process gets back what it had set"
        torch.set_num_threads(2)
        adapt.adapt(entries, MODEL, tmp_path / "again", progress=False, threads=1)  # the background retrain's way
        assert during[1] == 1 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_two_trainings_of_one_content_never_share_cached_vectors(tmp_path):
    """The embedding cache keys vectors by the model's fingerprint: a model retrained for
    the same content with other weights must get a fingerprint of its own."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(MODEL, device="cpu")
    check = adapt.Check("k", True, 0.5, 0.6, 1, 1, 1, 1, 2, 1.0, "base")
    adapt._save(model, tmp_path / "first", "k", check)
    adapt._save(model, tmp_path / "same", "k", check)
    with torch.no_grad():
        model[0].auto_model.encoder.layer[0].output.dense.bias.add_(1e-3)
    adapt._save(model, tmp_path / "retrained", "k", check)
    fingerprints = {name: adapt.base_fingerprint(tmp_path / name / "k") for name in ("first", "same", "retrained")}
    assert fingerprints["first"] == fingerprints["same"], "the same weights keep their cached vectors"
    assert fingerprints["retrained"] != fingerprints["first"], fingerprints


def test_cli_trains_a_better_model_keyed_by_content_and_eval_and_search_use_it(tmp_path):
    kb = delivery_base(tmp_path)
    env = clean_env(FAQBOT_ADAPT_DIR=str(tmp_path / "adapted"), FAQBOT_EMBEDDING_CACHE=str(tmp_path / "cache.db"))
    run = subprocess.run(
        [str(FAQBOT), "kb", "train", "--kb", str(kb)], capture_output=True, text=True, env=env, timeout=900
    )
    assert run.returncode == 0, run.stderr
    assert "adapting the model" in run.stderr  # the progress bar
    entries = EntryLoader(kb).load().entries
    key, folder = adapt.adapted_for(entries, MODEL, tmp_path / "adapted")
    assert folder == tmp_path / "adapted" / key, run.stdout
    check = adapt.read_check(tmp_path / "adapted", key)
    assert check.kept and check.tuned_top1 > check.base_top1, check
    assert f"base model {check.base_top1:.3f}, adapted {check.tuned_top1:.3f}: kept" in run.stdout
    assert set(check.held_out_texts) <= {p for e in entries for p in e.phrasings}

    again = subprocess.run([str(FAQBOT), "kb", "train", "--kb", str(kb)], capture_output=True, text=True, env=env)
    assert again.returncode == 0 and "already trained for this content" in again.stdout

    search = subprocess.run(
        [str(FAQBOT), "kb", "search", "--kb", str(kb), "kurier", "uszkodził", "paczkę"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert search.returncode == 0, search.stderr
    assert f"model: adapted to this knowledge base ({folder})" in search.stderr
    assert "delivery-damaged-parcel" in search.stdout.splitlines()[1]

    queries = tmp_path / "q.jsonl"
    queries.write_text(
        "\n".join(
            json.dumps({"text": t, "expected": e})
            for t, e in [
                ("ile kosztuje przesylka", "delivery-cost"),
                ("kiedy dojdzie paczka", "delivery-time"),
                ("wysylacie za granice?", "delivery-abroad"),
            ]
        )
    )
    evaluation = subprocess.run(
        [str(FAQBOT), "kb", "eval", "--kb", str(kb), "--queries", str(queries), "--base", "--confusions"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert evaluation.returncode == 0, evaluation.stderr
    assert "model: base" in evaluation.stderr and "asked with --base" in evaluation.stderr
    assert "confusions" in evaluation.stdout
    assert "answered_correct" in evaluation.stdout and "95%: " in evaluation.stdout and " of 3" in evaluation.stdout

    # An edit is new content: the model trained for the old one is not used for it.
    edited = kb / "delivery-time.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("roboczych", "robocze"), encoding="utf-8")
    search = subprocess.run(
        [str(FAQBOT), "kb", "search", "--kb", str(kb), "kiedy", "paczka"], capture_output=True, text=True, env=env
    )
    assert "no adapted model for this content: faqbot kb train" in search.stderr


# -- fewer clarifications --------------------------------------------------------


def test_close_scores_of_entries_distinct_in_meaning_are_answered():
    t = Thresholds(answer=0.5, margin=0.1, clarify=0.3, distinct=0.85, distinct_margin=0.01)
    assert decide(0.8, 0.78, t, closeness=0.6) == "answer"  # two different things: the better one
    assert decide(0.8, 0.795, t, closeness=0.6) == "clarify"  # ... unless they are tied
    assert decide(0.8, 0.78, t, closeness=0.9) == "clarify"  # two ways to say one thing: ask
    assert decide(0.8, 0.5, t, closeness=0.9) == "answer"
    assert decide(0.4, 0.1, t, closeness=0.1) == "clarify"  # not sure enough of either
    assert decide(0.8, 0.78, Thresholds(0.5, 0.1, 0.3)) == "clarify"  # default: the margin alone


def test_a_message_that_retypes_a_phrasing_is_answered_whatever_the_runner_up():
    t = Thresholds(answer=0.9, margin=0.12, clarify=0.5, verbatim=0.97)
    assert decide(1.5, 1.42, t, closeness=0.96, nearest=0.976) == "answer"  # "jak zwrocic towar"
    assert decide(1.5, 1.42, t, closeness=0.96, nearest=0.95) == "clarify"  # only like it: ask
    assert decide(0.45, 0.1, t, nearest=0.99) == "fallback"  # a retyped phrasing of nothing sure
    assert decide(1.5, 1.42, Thresholds(0.9, 0.12, 0.5), nearest=0.999) == "clarify"  # default: never


def test_calibration_answers_retyped_phrasings_only_where_that_is_never_wrong():
    """Hurried samples that retype a phrasing (cosine 0.99) are right; leave-one-out
    samples at 0.96 are right half of the time: the verbatim rule is set between them."""
    import numpy as np

    from knowledge import calibrate as cal

    n = 200
    t = Thresholds(answer=2.0, margin=0.12, clarify=0.5)  # close scores: clarified unless verbatim
    top, second, close = np.full(n, 1.0), np.full(n, 0.95), np.full(n, 0.97)
    hurried = np.arange(n) < n // 2
    nearest = np.where(hurried, 0.99, 0.96)
    rank = np.where(~hurried & (np.arange(n) % 2 == 1), 1, 0)
    kind = np.where(hurried, "hurried", "leave_one_out")
    sure = np.ones(n)
    chosen = cal._with_verbatim(t, cal._Figures(top, second, rank, kind, close, nearest, sure))
    assert 0.96 < chosen.verbatim <= 0.99, chosen
    wrong = cal._Figures(top, second, np.ones(n, int), kind, close, nearest, sure)
    assert cal._with_verbatim(t, wrong).verbatim == t.verbatim


def test_confusions_report_and_validate_warning_name_entries_that_cannot_be_told_apart(
    tmp_path, embedder, embedding_cache
):
    from knowledge.base import KnowledgeBase
    from knowledge.validate import close_entries

    cost = [
        "ile kosztuje zwrot",
        "czy zwrot jest płatny",
        "opłata za zwrot",
        "koszt odesłania towaru",
        "kto płaci za zwrot",
    ]
    price = ["jaka jest cena zwrotu", "ile płacę za zwrot", "cena odesłania", "zwrot kosztuje?", "płatny zwrot"]
    write(
        tmp_path,
        "returns-cost.md",
        lines("---", "questions:", *[f"  - {q}" for q in cost[1:]], "---", f"# {cost[0]}?", "", "Zwrot jest darmowy."),
    )
    write(
        tmp_path,
        "returns-price.md",
        lines("---", "questions:", *[f"  - {q}" for q in price[1:]], "---", f"# {price[0]}?", "", "Nic nie płacisz."),
    )
    write(tmp_path, "hours.md", DISTINCT["hours.md"])
    write(tmp_path, "password.md", DISTINCT["password.md"])
    kb = KnowledgeBase.build(EntryLoader(tmp_path).load().entries, embedder, embedding_cache)
    found = confusions(kb, [Query("ile mnie kosztuje odesłanie", "returns-cost"), Query("reset hasła", "password")])
    assert {(c.entry, c.other) for c in found} <= {("returns-cost", "returns-price")}
    text = format_confusions([c.as_dict() for c in found])
    if found:
        assert "returns-cost (1 question)" in text and "ile mnie kosztuje odesłanie" in text
    warnings = [str(p) for p in close_entries(kb)]
    assert warnings, kb.calibration.confused
    assert any(w.startswith(("returns-cost.md:", "returns-price.md:")) and "merge them" in w for w in warnings)
    assert not any("hours.md" in w or "password.md" in w for w in warnings)


# -- live: an edit is served at once, the tuned model follows --------------------


def test_an_edit_is_served_at_once_and_the_tuned_model_is_swapped_in_after(tmp_path, embedder):
    from knowledge.live import LiveKnowledgeBase

    kb_dir = delivery_base(tmp_path)
    settings = Settings(
        kb_dir=kb_dir,
        cache_path=tmp_path / "cache.sqlite3",
        reload_interval=0.2,
        last_good_dir=None,
        adapt=True,
        adapt_dir=tmp_path / "adapted",
    )
    live = LiveKnowledgeBase(settings, embedder=embedder, adapt_delay=0.0).start()
    try:
        assert live.model == "base"
        assert _wait(lambda: live.training.running, 30), "no tuned model for this content: one is trained"
        write(
            kb_dir,
            "delivery-bikes.md",
            lines(
                "---",
                "questions:",
                "  - czy wysyłacie rowery",
                "  - dostawa roweru",
                "---",
                "# Czy dowozicie rowery?",
                "",
                "Nie.",
            ),
        )
        assert _wait(lambda: "delivery-bikes" in live.current, 30), "an edit must be served at once"
        reply = live.ask("czy wysyłacie rowery")
        assert reply.hits[0].id == "delivery-bikes" and live.model == "base"
        assert _wait(lambda: live.model == "adapted", 900), (settings.adapt_dir / "training.log").read_text()
        key = live.content_key
        assert live.current.index.embedder.name == str((settings.adapt_dir / key).resolve())
        assert "delivery-bikes" in live.current  # the swapped model serves the edited content
        assert live.ask("czy wysyłacie rowery").hits[0].id == "delivery-bikes"
        assert live.current.calibration.report.get("loo_top1") is not None  # thresholds rebuilt with it
    finally:
        live.stop()


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_adaptation_is_off_unless_asked():
    assert Settings().adapt is False
    assert Settings.from_env().adapt is (os.environ.get("FAQBOT_ADAPT") == "1")
    with pytest.raises(ValueError, match="FAQBOT_ADAPT"):
        from knowledge.settings import parse_switch

        parse_switch("FAQBOT_ADAPT", "maybe")


# -- Polish as customers type it ---------------------------------------------------


@pytest.mark.parametrize(
    "written, typed",
    [
        ("Zwrócić", "zwrocic"),
        ("ŻÓŁĆ", "zolc"),
        ("Łódź", "lodz"),
        ("Gęś", "ges"),
        ("Wysyłka za granicę", "wysylka za granice"),
        ("źdźbło", "zdzblo"),
    ],
)
def test_polish_letters_fold_to_what_customers_type(written, typed):
    from knowledge.text import fold

    assert fold(written) == typed


def test_lexical_channel_matches_polish_without_diacritics_inflected_and_with_a_slip():
    from knowledge.lexical import LexicalIndex

    index = LexicalIndex(["Jak zwrócić towar?", "Ile kosztuje dostawa?", "Jak zmienić hasło?"])
    for typed in ("jak zwrocic towar", "zwrot towaru", "jak zwrócic towaru", "jak zwrucic towar"):
        scores = index.scores(index.query_vector(typed))
        assert scores.argmax() == 0, (typed, scores)
    same = index.scores(index.query_vector("jak zwrocic towar"))[0]
    assert same == pytest.approx(index.scores(index.query_vector("Jak zwrócić towar?"))[0], abs=1e-6)


def test_calibration_lets_distinct_entries_be_answered_on_a_small_lead_and_not_close_ones():
    """Samples whose two best entries differ in meaning are right even when their scores
    are near; samples whose two best entries say the same thing are a coin toss. The
    rule chosen answers the first on a small lead and asks about the second."""
    import numpy as np

    from knowledge import calibrate as cal

    n = 400
    top = np.full(n, 0.8)
    second = np.full(n, 0.79)
    close = np.where(np.arange(n) < n // 2, 0.5, 0.95)
    rank = np.where((np.arange(n) >= n // 2) & (np.arange(n) % 2 == 1), 1, 0)
    kind = np.full(n, "leave_one_out")
    t = cal._best_thresholds(cal._Figures(top, second, rank, kind, close, np.zeros(n), np.ones(n)))
    assert 0.5 < t.distinct <= 0.95 and t.distinct_margin <= 0.01 < t.margin, t
    assert decide(0.8, 0.79, t, closeness=0.5) == "answer"
    assert decide(0.8, 0.79, t, closeness=0.95) == "clarify"


def test_confusions_count_what_came_first_and_the_choices_offered_when_the_right_one_was_sure():
    from types import SimpleNamespace

    from knowledge.base import Reply
    from knowledge.index import Hit

    def hit(entry_id, score):
        return Hit(entry_id, score, 0.9, 0.5, 0.9, 0.5, 0.9, "")

    replies = {
        "a wrong": Reply("answer", "pl", hits=(hit("b", 0.9), hit("a", 0.5))),
        "a choice": Reply(
            "clarify", "pl", options=(entry("a", "A"), entry("c", "C")), hits=(hit("a", 0.8), hit("c", 0.79))
        ),
        "a unsure": Reply(
            "clarify", "pl", options=(entry("a", "A"), entry("d", "D")), hits=(hit("a", 0.3), hit("d", 0.2))
        ),
        "a right": Reply("answer", "pl", hits=(hit("a", 0.9), hit("b", 0.2))),
    }
    kb = SimpleNamespace(ask=replies.__getitem__, calibration=SimpleNamespace(thresholds=Thresholds(0.6, 0.1, 0.2)))
    found = confusions(kb, [Query(text, "a") for text in replies] + [Query("off topic", None)])
    assert [(c.entry, c.other, c.questions, c.ranked_first, c.offered_together) for c in found] == [
        ("a", "b", 4, 1, 0),
        ("a", "c", 4, 0, 1),
    ]  # "a unsure": neither scored enough to answer, nothing is confused with "a"
    text = format_confusions([c.as_dict() for c in found])
    assert 'a (4 questions)\n  b: 1 ranked first -- e.g. "a wrong"\n  c: 1 asked to choose -- e.g. "a choice"' in text
    assert format_confusions([]).startswith("confusions: none")
