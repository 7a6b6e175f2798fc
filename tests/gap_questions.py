"""Questions in a few clear topics, each asked in several ways (Polish and English, without
diacritics, with typos), and questions like no other: knowledge/gaps.py's threshold was
calibrated on these, so tests/test_gaps.py measures the grouping on other questions and
only guards these against a regression."""

from __future__ import annotations

GAP_TOPICS: dict[str, list[tuple[str, str]]] = {
    "gift-cards": [
        ("pl", "Czy mogę kupić kartę podarunkową?"),
        ("pl", "czy macie karty podarunkowe"),
        ("pl", "jak kupic bon podarunkowy"),
        ("pl", "Sprzedajecie vouchery na prezent?"),
        ("en", "Do you sell gift cards?"),
        ("en", "can i buy a gift vouchr"),
    ],
    "company-invoice": [
        ("pl", "Jak dostać fakturę VAT na firmę?"),
        ("pl", "potrzebuje faktury na firme z NIP"),
        ("pl", "czy wystawiacie faktury vat"),
        ("pl", "fakture na firme prosze"),
        ("en", "Can I get a VAT invoice for my company?"),
    ],
    "parcel-locker": [
        ("pl", "Czy mogę odebrać zamówienie w paczkomacie?"),
        ("pl", "wysylka do paczkomatu inpost"),
        ("pl", "dostawa do paczkomatu jest mozliwa?"),
        ("pl", "czy wysylacie do paczkomatow"),
        ("en", "Can you ship to an InPost parcel locker?"),
    ],
    "cancel-order": [
        ("pl", "Jak anulować zamówienie?"),
        ("pl", "chce anulowac zamowienie ktore zlozylem wczoraj"),
        ("pl", "czy moge zrezygnowac z zamowienia przed wysylka"),
        ("en", "How do I cancel my order?"),
        ("en", "cancel my ordr please"),
    ],
    "physical-store": [
        ("pl", "Gdzie jest wasz sklep stacjonarny?"),
        ("pl", "czy macie sklep stacjonarny w Krakowie"),
        ("pl", "adres sklepu stacjonarnego"),
        ("en", "Do you have a physical store?"),
        ("en", "is there a shop i can visit in person"),
    ],
    "discount-code": [
        ("pl", "Kod rabatowy nie działa"),
        ("pl", "moj kod rabatowy nie dziala przy platnosci"),
        ("pl", "kod promocyjny jest odrzucany"),
        ("en", "My discount code doesn't work"),
        ("en", "the promo code is not acepted at checkout"),
    ],
}

GAP_SINGLETONS: list[tuple[str, str]] = [
    ("pl", "Czy sprzedajecie rowery elektryczne?"),
    ("pl", "jaka bedzie jutro pogoda"),
    ("pl", "Czy mogę zapłacić kryptowalutą?"),
    ("en", "Do you ship to Norway?"),
    ("en", "What is the warranty on headphones?"),
]


def gap_questions() -> list[tuple[str, str, str | None]]:
    """(language, text, topic) of every demo gap question; topic None for the singletons."""
    asked = [(language, text, topic) for topic, items in GAP_TOPICS.items() for language, text in items]
    return asked + [(language, text, None) for language, text in GAP_SINGLETONS]
