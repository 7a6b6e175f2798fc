"""Text helpers: folding to lower-case ASCII, word tokens, language guessing."""

from __future__ import annotations

import pytest

from knowledge.text import Diacritics, detect_language, fold, words

# --- fold -------------------------------------------------------------------------------


def test_fold_all_polish_lowercase_letters():
    assert fold("ąćęłńóśźż") == "acelnoszz"


def test_fold_all_polish_uppercase_letters():
    assert fold("ĄĆĘŁŃÓŚŹŻ") == "acelnoszz"


@pytest.mark.parametrize(
    "text, folded",
    [
        ("Zwrócić", "zwrocic"),
        ("Zażółć gęślą jaźń", "zazolc gesla jazn"),
        ("ŁÓDŹ", "lodz"),
        ("Łódź", "lodz"),
        ("Kołłątaj", "kollataj"),
        ("PACZKA", "paczka"),
    ],
)
def test_fold_polish_words(text, folded):
    assert fold(text) == folded


def test_fold_keeps_ascii_punctuation_digits_and_spaces():
    assert fold("Zamówienie nr 12-34, koszt: 9,99 zł?") == "zamowienie nr 12-34, koszt: 9,99 zl?"


def test_fold_makes_diacritic_and_plain_spellings_equal():
    assert fold("Jak zwrócić towar") == fold("jak zwrocic TOWAR")


def test_fold_other_letters_nfkd_does_not_split():
    assert fold("straße øre æble œuvre đak") == "strasse ore aeble oeuvre dak"


def test_fold_other_letters_nfkd_does_not_split_in_upper_case():
    # Like Ł: upper-case forms must fold too (the result is documented as ASCII).
    assert fold("ØRE ÆBLE ŒUVRE ĐAK") == "ore aeble oeuvre dak"


def test_fold_is_idempotent():
    once = fold("Gdzie jest moja PACZKA? Łódź")
    assert fold(once) == once


# --- words ------------------------------------------------------------------------------


def test_words_are_folded_tokens_without_punctuation():
    assert words("Jak zwrócić towar? Nr zamówienia: 123!") == ["jak", "zwrocic", "towar", "nr", "zamowienia", "123"]


def test_words_split_on_underscores_dashes_and_slashes():
    assert words("kod_rabatowy e-mail a/b") == ["kod", "rabatowy", "e", "mail", "a", "b"]


def test_words_keep_letters_and_digits_together():
    assert words("BLIK2024 ok") == ["blik2024", "ok"]


@pytest.mark.parametrize("text", ["", "   ", "?!...", "__"])
def test_words_of_text_without_words(text):
    assert words(text) == []


# --- detect_language ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Jak zwrócić towar?",
        "Gdzie jest moja przesyłka",
        "żółw",  # one Polish letter is enough
        "Dzień dobry",
    ],
)
def test_polish_with_diacritics(text):
    assert detect_language(text, default="en") == "pl"


@pytest.mark.parametrize(
    "text",
    [
        "jak zwrocic towar",
        "gdzie jest moja paczka",
        "czy moge zaplacic BLIKiem",
        "chce porozmawiac z konsultantem",
    ],
)
def test_polish_without_diacritics(text):
    assert detect_language(text, default="en") == "pl"


@pytest.mark.parametrize(
    "text",
    [
        "how do I return an item",
        "Where is my parcel?",
        "I want to talk to a human",
        "can I pay by card",
    ],
)
def test_english(text):
    assert detect_language(text, default="pl") == "en"


@pytest.mark.parametrize("text", ["ok", "BLIK?", "", "123", "?!", "a i to do"])
@pytest.mark.parametrize("default", ["pl", "en"])
def test_ambiguous_text_gives_the_default(text, default):
    assert detect_language(text, default=default) == default


def test_default_is_polish():
    assert detect_language("ok") == "pl"


def test_polish_letters_in_upper_case_count():
    assert detect_language("ŁÓDŹ", default="en") == "pl"


def test_more_polish_words_than_english_wins():
    # "order" is English, "jak" and "zamowienie" Polish
    assert detect_language("jak zamowienie order", default="en") == "pl"


def test_more_english_words_than_polish_wins():
    # "jak" is Polish, "how", "is", "my" English
    assert detect_language("how is my jak", default="pl") == "en"


# -- putting back the diacritics a customer left out ----------------------------------------

FAQ_WORDS = Diacritics(
    [
        "Jak zwrócić towar?",
        "Zwrot pieniędzy trwa do 14 dni, że tak powiem.",
        "Odeślij paczkę ze zwrotem; płatność kartą.",
        "Łóżko i materac",
    ]
)


def test_words_the_base_writes_with_diacritics_get_them_back():
    assert FAQ_WORDS.restore("jak zwrocic towar") == "jak zwrócić towar"
    assert FAQ_WORDS.restore("kiedy zwrot pieniedzy?") == "kiedy zwrot pieniędzy?"
    assert FAQ_WORDS.restore("Lozko za male") == "Łóżko za male"  # a capital stays a capital


def test_a_word_the_base_also_writes_without_them_stays_as_typed():
    # "ze" (with) and "że" (that) are both in the base: no guessing
    assert FAQ_WORDS.restore("paczka ze zwrotem") == "paczka ze zwrotem"


def test_unknown_words_typos_and_digits_stay():
    assert FAQ_WORDS.restore("zwrucic 2 kurtki po 14 dniach") == "zwrucic 2 kurtki po 14 dniach"


def test_a_message_with_diacritics_or_in_english_is_left_alone():
    assert FAQ_WORDS.restore("jak zwrócić towar, platnosc") == "jak zwrócić towar, platnosc"
    assert FAQ_WORDS.restore("how do I pay for the paczke") == "how do I pay for the paczke"


def test_an_empty_base_restores_nothing():
    assert Diacritics([]).restore("jak zwrocic towar") == "jak zwrocic towar"


def test_a_text_left_out_lends_none_of_its_words():
    """Calibration asks a phrasing typed without diacritics with the phrasing held out:
    the words only it has are unknown then, the others are still restored."""
    assert FAQ_WORDS.restore("jak zwrocic towar", left_out="Jak zwrócić towar?") == "jak zwrocic towar"
    assert FAQ_WORDS.restore("zwrot pieniedzy", left_out="Jak zwrócić towar?") == "zwrot pieniędzy"
