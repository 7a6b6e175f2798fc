"""What a customer (or an agent) typed: cleaned before it is stored, and made safe before
it is sent to Rasa.

Two separate concerns, two functions:

- `clean(text)` runs once, on input (`handoff.api.validation.message_text`). It removes what
  nobody can see or mean (control characters, zero-width spaces) and returns "" when
  nothing visible is left, which the API refuses like an empty message.
- `for_rasa(text)` runs on free text just before it goes to Rasa (never on the payload of a
  button the bot offered, which is meant to act as an intent). It keeps Rasa's intent
  syntax (`/intent{...}`) out of the customer's reach.
"""

from __future__ import annotations

import re
import unicodedata

# Rasa 3.6 (rasa/shared/core/training_data/story_reader/yaml_story_reader.py,
# `unpack_regex_message`) takes `text.strip()` and, if it starts with "/"
# (INTENT_MESSAGE_PREFIX), reads it as `/<intent>@<confidence>{entities}`, with no NLU at all.
# `str.strip()` and `\s` below agree on what whitespace is (both use Py_UNICODE_ISSPACE).
_LEADING_SLASHES = re.compile(r"^[\s/]+")

# Kept although they are control characters: they shape a message, customers type them.
_KEPT_CONTROLS = frozenset("\n\t")
# Format characters with no meaning inside chat text: the zero-width space (a line-break
# hint), the word joiner (a no-break hint) and U+FEFF (a byte-order mark or the old
# zero-width no-break space). The zero-width (non-)joiners U+200C/U+200D are removed only
# at the edges: inside text they shape emoji sequences and Persian or Indic words.
_REMOVED_FORMAT = frozenset("\u200b\u2060\ufeff")
_NEWLINES = re.compile(r"\r\n?")
# A terminal escape sequence (colours, cursor moves: ESC [ parameters final-byte) is one
# control: removing only its ESC would leave "[31m" in the text.
_ANSI_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_EDGES = re.compile(r"^[\s\u200c\u200d]+|[\s\u200c\u200d]+$")


def for_rasa(text: str) -> str:
    """The customer's free text as Rasa must receive it: never read as an intent.

    Rasa 3.6 strips the message and, if it then starts with "/", takes it as
    `/<intent>{entities}`: `/restart` would restart the conversation, `/session_start`
    would start a new session (no reply: it looks like an outage), `/request_human`
    would hand over in English whatever the chat's language.

    Dropping the leading slashes (and the whitespace around them, since Rasa strips
    whitespace first) is the smallest change that rules this out and keeps the meaning:
    Rasa's WhitespaceTokenizer discards a leading "/" anyway and retrieval's lexical match
    only sees words, so NLU and the FAQ get the same tokens as before ("restart"). A
    prefixed invisible character would work too, but would reach the action server and
    the embedding model as noise. Text made of slashes only becomes a single "/", which
    Rasa's pattern ("/" and at least one more character) cannot unpack. Text that does
    not start with "/" is returned unchanged.
    """
    if not text.strip().startswith("/"):
        return text
    return _LEADING_SLASHES.sub("", text) or "/"


def clean(text: str) -> str:
    """`text` without what cannot be seen or meant; "" if nothing visible is left.

    - Line breaks are normalised to "\\n" (a Windows textarea sends "\\r\\n").
    - Control characters other than newline and tab (ESC and whole terminal escape
      sequences, backspace, DEL, C1 controls...) are removed rather than refused: they
      arrive with pasted text (terminal colours, PDFs), the customer cannot see them, and
      refusing would leave them no way to fix their message. They are never part of what
      the customer means.
    - Zero-width spaces, word joiners and byte-order marks are removed; whitespace and
      zero-width (non-)joiners are trimmed from both ends.
    - A text with nothing visible left (only whitespace, control and format characters)
      becomes "", so the API refuses it like an empty message instead of echoing a blank.

    NUL would be removed like any control, but the API refuses it first (see
    `message_text`): no keyboard or paste produces it, so it means a broken client.
    """
    text = _ANSI_SEQUENCE.sub("", _NEWLINES.sub("\n", text))
    kept = "".join(c for c in text if not _removed(c))
    if all(_invisible(c) for c in kept):
        return ""
    return _EDGES.sub("", kept)


def _removed(char: str) -> bool:
    if char in _KEPT_CONTROLS:
        return False
    return char in _REMOVED_FORMAT or unicodedata.category(char) == "Cc"


def _invisible(char: str) -> bool:
    """Whitespace, a control or a format character (zero-width, bidi mark, soft hyphen)."""
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf")
