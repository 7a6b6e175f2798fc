"""Signs that a customer is losing patience, in Polish and English: shouting (a message
mostly in capitals, or "!!!") and swearing. Such a customer goes to a person (handoff
reason `frustration`) instead of getting one more automatic answer.

Plain functions on the text, no Rasa: cheap on every message, and testable alone.
Words are compared folded to ASCII (`knowledge.text.fold`), so "gówno" and "gowno", or
"KURWA" and "kurwa", are the same word.
"""

from __future__ import annotations

import re

from knowledge.text import fold

# Shouting: at least this many letters, most of them capitals, over at least two words
# ("OK", "BLIK", "PDF" or "DHL?" alone are not shouting).
SHOUT_MIN_LETTERS = 8
SHOUT_MIN_WORDS = 2
SHOUT_UPPER_SHARE = 0.7
_EXCLAMATIONS = re.compile(r"!{3,}|[!?]*![!?]*\?[!?]*!|\?!\?|!\?!")  # "!!!", "?!?", "!?!"
_WORD = re.compile(r"[^\W\d_]+")

# Swearing. Stems found anywhere in a folded word (they occur in no innocent word):
# every inflection and prefix of "kurwa", "pierdolić", "jebać", "chuj"...
_STEMS = tuple(
    "kurw pierdol pierdziel spierdal jeban jebac jebie zajeb wyjeb pojeb odjeb chuj pizd "
    "fuck shit motherf bullsh".split()
)
# Words matched from their start (the stem alone could begin an innocent word).
_PREFIXES = tuple("huj gowni gowno debil kretyn idiot cholern bitch bastard asshole dickhead moron".split())
# Words matched whole.
_WORDS = frozenset("dupa dupy dupe dupie dupek dupku cipa cipy cipo cholera crap crappy wtf damn damned stfu".split())


def is_shouting(text: str) -> bool:
    """Mostly capitals over several words, or a run of exclamation marks."""
    if _EXCLAMATIONS.search(text):
        return True
    words = _WORD.findall(text)
    letters = "".join(words)
    if len(words) < SHOUT_MIN_WORDS or len(letters) < SHOUT_MIN_LETTERS:
        return False
    upper = sum(1 for c in letters if c.isupper())
    return upper / len(letters) >= SHOUT_UPPER_SHARE


def is_swearing(text: str) -> bool:
    """A swear word or an insult, in any inflection we know of."""
    for word in _WORD.findall(fold(text)):
        if word in _WORDS or word.startswith(_PREFIXES) or any(stem in word for stem in _STEMS):
            return True
    return False


def frustration_signal(text: str) -> str | None:
    """ "shouting" or "swearing" if the text shows either (swearing first: it says more), else None."""
    if is_swearing(text):
        return "swearing"
    if is_shouting(text):
        return "shouting"
    return None
