"""Does a message read as a question? Used right after a rating, where the next message
is a comment unless the customer has moved on to a new question.

A question mark, or a question word first ("jak zwrócić towar", "can I pay by card"):
cheap and predictable. A comment phrased as a question ("czy możecie szybciej
odpowiadać?") is answered as a question, which costs the customer nothing.
"""

from __future__ import annotations

from knowledge.text import words

QUESTION_WORDS = frozenset(
    """
    jak jaki jaka jakie jakiej jakim kiedy gdzie czy ile co czego dlaczego czemu ktory ktora ktore kto skad dokad
    how what when where why who which whose can could do does did is are will would should may
    """.split()
)


def looks_like_question(text: str) -> bool:
    tokens = words(text)
    return text.rstrip().endswith("?") or bool(tokens and tokens[0] in QUESTION_WORDS)
