"""Text helpers shared by lexical matching and language detection.

Customers type fast, without diacritics, with typos: matching happens on text folded
to lower-case ASCII, and language is guessed from a handful of function words, which
is cheap enough to run on every message.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import lru_cache

# Letters NFKD does not decompose into a base letter plus a mark.
_FOLD_EXTRA = str.maketrans({"ł": "l", "ß": "ss", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe"})  # after lower()
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)
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


def _split(text: str) -> tuple[str, ...]:
    """A text's words, lower-case, interned: a knowledge base says the same words many times."""
    return tuple(sys.intern(word) for word in _LETTERS.findall(text.lower()))


@lru_cache(maxsize=200_000)
def _fold_word(word: str) -> str:
    """`fold` of one word, remembered: a knowledge base says the same words many times."""
    return fold(word)


class Diacritics:
    """Puts back the diacritics a customer left out, from the knowledge base's own words.

    Most Polish customers type without diacritics, and the embedding model reads
    "zwrocic" as another word than "zwrócić": on the sample shop's questions typed that
    way, the nearest phrasing was the right entry's for 57% of them as typed and 84%
    with the diacritics put back. The lexical channels fold both sides and need nothing.

    A word is restored only to a form the knowledge base uses, and only when that is
    the one way it is written there: a word the base also writes without diacritics
    ("ze" beside "że") stays as typed. A message with a Polish letter in it was typed
    with diacritics and is left alone, and so is one in English."""

    def __init__(self, texts: Iterable[str], previous: Diacritics | None = None) -> None:
        """`previous`: the index's last vocabulary, whose texts are not split again."""
        known = previous.words if previous is not None else {}
        self.words: dict[str, tuple[str, ...]] = {}  # each text's words, lower-case, interned
        self._forms: defaultdict[str, Counter[str]] = defaultdict(Counter)  # folded -> forms, with counts
        for text in texts:
            words = self.words.get(text)
            if words is None:
                words = known.get(text) or _split(text)
                self.words[text] = words
            for word in words:
                self._forms[_fold_word(word)][word] += 1

    def restore(self, text: str, left_out: str | None = None) -> str:
        """`text` with each word the knowledge base writes with diacritics written so.
        `left_out`: a text of the base to read the base as if without it (calibration
        asks a phrasing typed without diacritics with the phrasing itself held out)."""
        if not self._forms or _POLISH_LETTERS & set(text.lower()) or detect_language(text) == "en":
            return text
        without = Counter(_split(left_out)) if left_out else Counter()

        def restored(match: re.Match[str]) -> str:
            word = match.group(0)
            if not word.isascii():
                return word
            folded = word.lower()
            forms = [(n - without[form], form) for form, n in self._forms.get(folded, {}).items()]
            forms = [(n, form) for n, form in forms if n > 0]
            if not forms or any(form.isascii() for _, form in forms):
                return word
            form = max(forms)[1]
            return form[0].upper() + form[1:] if word[0].isupper() else form

        return _LETTERS.sub(restored, text)
