"""Text helpers shared by lexical matching and language detection.

Customers type fast, without diacritics, with typos: matching happens on text folded
to lower-case ASCII, and language is guessed from a handful of function words, which
is cheap enough to run on every message.
"""

from __future__ import annotations

import re
import unicodedata

# Letters NFKD does not decompose into a base letter plus a mark.
_FOLD_EXTRA = str.maketrans({"ł": "l", "ß": "ss", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe"})  # after lower()
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_POLISH_LETTERS = set("ąćęłńóśźż")

# Frequent words that exist in one language only (folded). Words spelled the same in
# both (a, i, to, do, on, no) are deliberately absent.
_POLISH_WORDS = frozenset(
    """
    jak jaki jaka jakie jakiej czy nie mam moge mozna mozemy jest sa sie na w z ze za ile kiedy
    gdzie co czego dlaczego czemu prosze dzien dobry dziekuje dzieki czesc witam hej
    mi mnie moje moja moj moim mojego moich jestem bylo byl byla przez po od dla oraz ale tak juz
    jeszcze tylko bardzo zamowienie zamowienia zamowic zamowilem zamowilam paczka paczki paczke
    dostawa dostawy zwrot zwrotu zwrocic oddac reklamacja reklamacje faktura fakture faktury
    platnosc platnosci zaplacic kod rabat rabatowy konto konta haslo konsultant konsultanta
    czlowiek czlowiekiem rozmawiac porozmawiac chce chcialbym chcialabym potrzebuje pomoc pomocy
    kurier kuriera sklep sklepu towar towaru kiedys ktory ktora ktore kto ten ta te tego tej
    pan pani panstwa wam was mozecie dostane dostac wyslac wysylka wysylki dni dnia
    """.split()
)
_ENGLISH_WORDS = frozenset(
    """
    the an how what when where why which who can could would should does did is are was were
    my me you your yours it its of in for with from this that these those there their
    order orders delivery deliver shipping ship return refund money please hello hi hey
    thanks thank want need talk speak human agent person invoice payment pay card code
    discount account password help get got have has will shop store parcel package track
    tracking cancel change long much many cost costs time days day there not dont cant
    """.split()
)


def fold(text: str) -> str:
    """Lower-case ASCII: `Zwrócić` and `zwrocic` become the same string."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_FOLD_EXTRA))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Folded word tokens (letters and digits)."""
    return _WORD.findall(fold(text))


def detect_language(text: str, default: str = "pl") -> str:
    """Guess "pl" or "en"; `default` when the text does not say (e.g. "ok", "BLIK?")."""
    if _POLISH_LETTERS & set(text.lower()):
        return "pl"
    tokens = words(text)
    polish = sum(t in _POLISH_WORDS for t in tokens)
    english = sum(t in _ENGLISH_WORDS for t in tokens)
    if polish > english:
        return "pl"
    if english > polish:
        return "en"
    return default
