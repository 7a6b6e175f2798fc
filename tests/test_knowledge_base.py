"""Retrieval on the sample shop with the real model: answers in both languages, with
and without diacritics, clarification when unsure, fallback when nothing is close."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from knowledge.base import KnowledgeBase
from knowledge.loader import EntryLoader
from knowledge.validate import near_duplicates


@pytest.mark.parametrize(
    "question, entry_id",
    [
        ("Jak mogę zwrócić towar?", "returns-how"),
        ("jak zwrocic towar", "returns-how"),
        ("czy moge zaplacic blikiem", "payment-blik"),
        ("ile kosztuje wysylka do paczkomatu", "delivery-cost"),
        ("kurier przywiozl zniszczona paczke, co mam zrobic", "delivery-damaged-parcel"),
        ("How do I return an item?", "returns-how"),
        ("can i pay with blik", "payment-blik"),
        ("I forgot my password", "account-password-reset"),
    ],
)
def test_answers_the_right_entry(sample_kb, question, entry_id):
    reply = sample_kb.ask(question)
    assert reply.kind == "answer", (reply.kind, [(h.id, round(h.score, 3)) for h in reply.hits[:3]])
    assert reply.entry.id == entry_id


def test_answer_comes_in_the_customers_language(sample_kb):
    polish = sample_kb.ask("jak zwrocic towar")
    english = sample_kb.ask("how do I return an item")
    assert (polish.language, polish.entry.language) == ("pl", "pl")
    assert (english.language, english.entry.language) == ("en", "en")
    assert polish.entry.id == english.entry.id
    assert polish.entry.title != english.entry.title


def test_english_question_about_a_polish_only_entry_gets_the_polish_answer(sample_kb):
    entry_id = "payment-paypo"
    assert set(sample_kb.index.translations[entry_id]) == {"pl"}
    entry = sample_kb.entry(entry_id, "en")
    assert entry.language == "pl"


def test_unsure_offers_two_or_three_choices(sample_kb):
    reply = sample_kb.ask("chce zmienic adres")
    assert reply.kind == "clarify"
    ids = [e.id for e in reply.options]
    assert 2 <= len(ids) <= 3 and len(set(ids)) == len(ids)
    assert "order-change-address" in ids


@pytest.mark.parametrize("question", ["jaka jest jutro pogoda w Krakowie", "who won the football world cup"])
def test_nothing_close_falls_back(sample_kb, question):
    assert sample_kb.ask(question).kind == "fallback"


def test_calibration_is_taken_from_the_knowledge_base(sample_kb):
    calibration = sample_kb.calibration
    t = calibration.thresholds
    assert t.clarify <= t.answer
    assert calibration.samples["leave_one_out"] > 100 and calibration.samples["off_topic"] > 30
    assert calibration.report["loo_top1"] > 0.45  # 0.53 measured; 0.35 before the answer channels


def test_the_answer_waits_for_the_classifier_to_be_sure(sample_kb):
    """The live decision asks the classifier: the same question, with a probability no
    entry can reach required, is offered as a choice instead of answered."""
    calibration = sample_kb.calibration
    assert calibration.classifier is not None
    question = "czy moge zaplacic blikiem"
    reply = sample_kb.ask(question)
    assert reply.kind == "answer"
    vector = sample_kb.index.embedder.encode_one(sample_kb.index.as_meant(question))
    assert calibration.confidence("payment-blik", vector) >= calibration.thresholds.confident
    strict = replace(calibration, thresholds=replace(calibration.thresholds, confident=1.01))
    unsure = KnowledgeBase(sample_kb.index, strict, sample_kb.default_language).ask(question)
    assert unsure.kind == "clarify"
    assert "payment-blik" in [e.id for e in unsure.options]


def test_tiny_knowledge_base_keeps_default_thresholds(tmp_path, embedder, embedding_cache):
    (tmp_path / "a.md").write_text("# Jak zwrócić towar?\n\nOdeślij go w 14 dni.\n")
    kb = KnowledgeBase.build(EntryLoader(tmp_path).load().entries, embedder, embedding_cache)
    assert kb.calibration.report == {"note": "too few phrasings to calibrate"}
    assert kb.ask("jak zwrocic towar").entry.id == "a"


def test_sample_knowledge_base_has_no_near_duplicates(sample_kb):
    assert near_duplicates(sample_kb) == []


def test_near_duplicate_phrasings_are_reported_with_both_files(tmp_path, embedder, embedding_cache):
    (tmp_path / "returns-cost.md").write_text(
        "---\nquestions:\n  - ile kosztuje zwrot towaru\n---\n# Czy zwrot jest płatny?\n\nZwrot jest darmowy.\n"
    )
    (tmp_path / "returns-price.md").write_text(
        "---\nquestions:\n  - ile kosztuje zwrot towarów\n---\n# Jaka jest cena zwrotu?\n\nNic nie płacisz.\n"
    )
    (tmp_path / "delivery.md").write_text("# Ile trwa dostawa?\n\n1-2 dni robocze.\n")
    kb = KnowledgeBase.build(EntryLoader(tmp_path).load().entries, embedder, embedding_cache)
    warnings = [str(p) for p in near_duplicates(kb)]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("returns-cost.md:3: warning: 'ile kosztuje zwrot towaru'")
    assert "returns-price.md:3" in warnings[0]


def test_the_live_search_and_calibration_see_the_same_channels(sample_kb):
    """Live, only candidates are scored; calibration scores every entry in batch. Both
    must give each entry the same five similarities, or thresholds chosen in batch
    would not fit the live scores."""
    index = sample_kb.index
    text = "kurier przywiozl zniszczona paczke, co mam zrobic"
    vector = index.embedder.encode_one(index.as_meant(text))
    batch = index.channels([text], vector[None, :])
    for hit in index.search(text, vector, sample_kb.calibration.scoring, k=5):
        column = index.ids.index(hit.id)
        live = (hit.dense, hit.lexical, hit.answer_dense, hit.answer_lexical, hit.meaning)
        np.testing.assert_allclose(live, [a[0, column] for a in batch.arrays()], atol=1e-5)


def test_a_phrasing_held_out_is_left_out_of_its_entrys_meaning_too(sample_kb):
    index = sample_kb.index
    row = int(index.starts[index.ids.index("returns-how")]) + 1
    entry = index.owner[row]
    channels = index.channels([index.texts[row]], index.vectors[row][None, :], held_out=[np.array([row])])
    others = [r for r in range(index.starts[entry], index.starts[entry + 1]) if r != row]
    centroid = index.vectors[others].sum(axis=0)
    expected = float(index.vectors[row] @ (centroid / np.linalg.norm(centroid)))
    assert channels.meaning[0, entry] == pytest.approx(expected, abs=1e-5)
    assert channels.meaning[0, entry] < float(index.vectors[row] @ index.centroids[entry])  # it was in it


def test_a_question_typed_without_diacritics_is_embedded_with_them(sample_kb):
    assert sample_kb.index.as_meant("jak zwrocic towar") == "jak zwrócić towar"
    assert sample_kb.index.as_meant("How do I return an item?") == "How do I return an item?"
