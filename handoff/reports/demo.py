"""A generated history of conversations, for a demo of the reports and the desk (`faqbot
demo seed`, `make run DEMO=1`) and for the report's benchmark (scripts/bench_report.py).

It is written through the hub's own tables with the facts the hub writes live
(handoff/reports/facts.py), so the reports read it exactly as they read real traffic:
- customers in Polish and English, on the web widget and Messenger, some coming back
  within 72 hours;
- FAQ answers from the real knowledge base (ids, titles, phrasings, answers of
  data/faq), some clarified, some that did not help;
- hand-overs with their reasons, waits, demo agents (no password: they cannot log in),
  tickets out of hours, a few conversations still waiting;
- ratings with comments, for the bot and the agents, and some NPS answers;
- questions the FAQ does not answer, in a few clear groups in both languages.

Rows are bulk-inserted (SQLAlchemy Core `insert` with many parameter sets), so 100,000
conversations take seconds, not an ORM flush per row.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from knowledge.entries import Entry
from knowledge.loader import EntryLoader

from ..db import Database
from ..models import Agent, Conversation, Customer, Handoff, Message, Rating
from ..security import digest, new_token
from .facts import FOLLOW_UP_HOURS

DEMO_AGENTS = ("Ola", "Kasia", "Tomek", "Ewa")
CHUNK = 5000  # rows per INSERT batch

# Questions the sample FAQ does not answer, in groups a reader recognises at a glance.
GAP_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "gift-wrap": {
        "pl": (
            "czy mozecie zapakowac na prezent",
            "pakowanie prezentowe jest dostępne?",
            "czy da sie zamowic z opakowaniem na prezent",
            "zapakujecie mi to ładnie na prezent?",
            "opakowanie prezentowe ile kosztuje",
        ),
        "en": ("can you gift wrap my order", "do you offer gift wrapping?", "is gift packaging available"),
    },
    "crypto": {
        "pl": (
            "czy moge zaplacic bitcoinem",
            "płatność kryptowalutą możliwa?",
            "przyjmujecie krypto?",
            "czy akceptujecie ethereum",
        ),
        "en": ("can I pay with bitcoin", "do you accept crypto?", "crypto payment possible?"),
    },
    "jobs": {
        "pl": (
            "czy szukacie pracownikow",
            "jak aplikowac do pracy w sklepie",
            "macie jakies oferty pracy?",
            "praca w waszym salonie",
        ),
        "en": ("are you hiring?", "how do I apply for a job", "job openings at your store"),
    },
    "eco-packaging": {
        "pl": (
            "czy pakujecie bez plastiku",
            "ekologiczne opakowania macie?",
            "czy mozna zamowic bez folii",
        ),
        "en": ("do you use plastic-free packaging", "eco friendly packaging option?"),
    },
}

# Asked once each: no group, as in real traffic.
GAP_GROUPS["one-offs"] = {
    "pl": ("jaka bedzie jutro pogoda", "czy sprzedajecie rowery elektryczne", "ile kosztuje parking pod salonem"),
    "en": ("what's the weather tomorrow", "do you sell e-bikes"),
}

# Too vague for the bot to be sure (a weak clarification, a "low confidence" gap): what
# customers write before they say what they mean.
VAGUE = {
    "pl": ("mam pytanie odnośnie zamówienia", "chodzi mi o zamówienie", "pytanie w sprawie paczki", "sprawa z paczką"),
    "en": ("a question about my order", "it's about my parcel"),
}

HUMAN = {"pl": ("chcę rozmawiać z konsultantem", "poproszę człowieka", "konsultant"), "en": ("talk to a human",)}
NOT_HELPED = {"pl": ("to nie pomogło", "nie o to mi chodziło"), "en": ("that didn't help",)}
THANKS = {"pl": ("dzięki!", "dziękuję", "ok, dzięki"), "en": ("thanks!", "thank you")}
BOT_TEXT = {
    "thanks": {"pl": "Cieszę się, że mogłem pomóc!", "en": "Glad I could help!"},
    "clarify": {"pl": "Nie jestem pewien, o co chodzi. Czy o któreś z tych?", "en": "Did you mean one of these?"},
    "fallback": {
        "pl": "Niestety nie znam odpowiedzi na to pytanie. Mogę połączyć z konsultantem.",
        "en": "Sorry, I don't know the answer to that. I can connect you with a consultant.",
    },
    "handoff": {"pl": "Już łączę z konsultantem.", "en": "I'm connecting you with a consultant."},
    "misses": {
        "pl": "Nie udało mi się pomóc, przekazuję rozmowę konsultantowi.",
        "en": "I couldn't help, so I'm passing you to a consultant.",
    },
    "frustration": {
        "pl": "Przepraszam, że nie pomogłem. Przekazuję rozmowę konsultantowi.",
        "en": "Sorry I didn't help. A consultant will take over.",
    },
    "queued": {"pl": "Jesteś pierwszy w kolejce.", "en": "You are first in the queue."},
    "resolved": {"pl": "Konsultant zakończył rozmowę.", "en": "The consultant has closed the conversation."},
    "ask_rating": {"pl": "Jak oceniasz pomoc? (1-5)", "en": "How would you rate the help? (1-5)"},
    "rated": {"pl": "Dziękujemy za ocenę!", "en": "Thank you for rating!"},
}
AGENT_TEXT = {
    "pl": (
        "Dzień dobry, tu {name}. Już sprawdzam.",
        "Sprawdziłam/em – wszystko jest w porządku, paczka jest w drodze.",
    ),
    "en": ("Hello, {name} here. Let me check.", "I've checked: everything is fine, your parcel is on its way."),
}
COMMENTS = {
    "good": {
        "pl": ("Szybko i konkretnie, dziękuję!", "Bardzo miła obsługa", "Super, wszystko jasne"),
        "en": ("Quick and helpful, thanks!", "Great service"),
    },
    "bad": {
        "pl": ("Długo czekałem na odpowiedź", "Nadal nie wiem, co z moją paczką", "Bot nie rozumie pytań"),
        "en": ("Waited far too long", "Still no answer to my question"),
    },
}
SCENARIOS = (  # (name, weight)
    ("answer", 52),
    ("clarify", 9),
    ("gap", 8),
    ("human", 11),
    ("not_helped", 7),
    ("misses", 6),
    ("repeat", 4),
    ("thanks_only", 3),
)
RATE_BUTTONS = [{"title": str(n), "payload": f'/rate{{"score": {n}}}'} for n in range(1, 6)]


class DemoError(Exception):
    """The database is not one to fill with demo data."""


class NotEmpty(DemoError):
    """The database already has conversations."""


@dataclass
class Rows:
    customers: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)


def load_entries(kb_dir: Path | None = None) -> list[Entry]:
    """The FAQ's entries (no model needed: only the markdown is read)."""
    from knowledge.settings import Settings

    result = EntryLoader(kb_dir or Settings.from_env().kb_dir).load()
    if not result.entries:
        raise DemoError("the knowledge base has no entries to answer from")
    return result.entries


def seed(
    db: Database,
    conversations: int = 600,
    days: int = 30,
    force: bool = False,
    now: datetime | None = None,
    rng_seed: int | None = 7,
) -> str:
    """Fill `db` with a history of `conversations` over the last `days`. Refuses a
    database that already has conversations unless `force`: demo rows must never mix
    with a shop's real ones by accident."""
    if conversations < 1 or days < 1:
        raise DemoError("--conversations and --days must be at least 1")
    with db.transaction() as session:
        existing = session.scalar(select(func.count()).select_from(Conversation))
    if existing and not force:
        raise NotEmpty(f"the database already has {existing} conversations (use --force to add demo ones anyway)")
    agents = ensure_agents(db)
    rows = generate(conversations, days, load_entries(), agents, now or datetime.now(UTC), random.Random(rng_seed))
    insert_rows(db, rows)
    return (
        f"demo history: {len(rows.conversations)} conversations, {len(rows.messages)} messages, "
        f"{len(rows.handoffs)} hand-overs, {len(rows.ratings)} ratings over {days} days; "
        f"demo agents {', '.join(agents)} (no password: `faqbot agent set-password NAME` to log in as one)"
    )


def ensure_agents(db: Database, names: tuple[str, ...] = DEMO_AGENTS) -> dict[str, int]:
    """The demo agents' ids, created without a password (they cannot log in)."""
    with db.transaction() as session:
        known = dict(session.execute(select(Agent.name, Agent.id).where(Agent.name.in_(names))).all())
        for name in names:
            if name not in known:
                agent = Agent(name=name, token_hash=digest(new_token()), password_hash=None, role="agent")
                session.add(agent)
                session.flush()
                known[name] = agent.id
    return known


def insert_rows(db: Database, rows: Rows) -> None:
    """One transaction, batched multi-row INSERTs, parents before children."""
    with db.transaction() as session:
        for table, items in (
            (Customer.__table__, rows.customers),
            (Conversation.__table__, rows.conversations),
            (Message.__table__, rows.messages),
            (Handoff.__table__, rows.handoffs),
            (Rating.__table__, rows.ratings),
        ):
            for start in range(0, len(items), CHUNK):
                session.execute(insert(table), items[start : start + CHUNK])


def generate(
    count: int, days: int, entries: list[Entry], agents: dict[str, int], now: datetime, rng: random.Random
) -> Rows:
    """`count` conversations over the `days` before `now`."""
    return History(entries, agents, now, rng).generate(count, now - timedelta(days=days), now)


class History:
    """Draws conversations one by one; each scenario writes the rows the hub would."""

    def __init__(self, entries: list[Entry], agents: dict[str, int], now: datetime, rng: random.Random) -> None:
        self.rng = rng
        self.now = now
        self.rows = Rows()
        self.agents = list(agents.values())
        self.names = {agent_id: name for name, agent_id in agents.items()}
        # Some agents are quicker, some better rated: the per-agent tables differ.
        self.agent_skill = {a: (0.6 + 0.3 * i, 0.08 * i) for i, a in enumerate(self.agents)}
        self.by_language: dict[str, list[Entry]] = {}
        for entry in sorted(entries, key=lambda e: (e.language, e.id)):
            self.by_language.setdefault(entry.language, []).append(entry)
        # Popularity: a few entries take most questions, as in any FAQ.
        self.weights = {
            lang: [1 / (rank + 1) ** 0.9 for rank in range(len(items))] for lang, items in self.by_language.items()
        }
        for items in self.by_language.values():
            rng.shuffle(items)
        self.gap_topics = GAP_GROUPS

    # -- the whole history ----------------------------------------------------------

    def generate(self, count: int, start: datetime, end: datetime) -> Rows:
        """`count` conversations started between `start` and `end` (at most `now`)."""
        recent_customers: list[tuple[str, datetime]] = []
        moments = sorted(self._moment(start, min(end, self.now)) for _ in range(count))
        for at in moments:
            customer_id = self._customer(recent_customers, at)
            self.conversation(at, customer_id)
        self._mark_follow_ups()
        return self.rows

    def _moment(self, start: datetime, end: datetime) -> datetime:
        """Busier in the day and evening than at night."""
        day = start + timedelta(days=self.rng.randrange(max(1, (end - start).days)))
        hour = self.rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 10, 11, 11, 10,
                                                      10, 11, 12, 11, 8, 5, 2])[0]  # fmt: skip
        at = day.replace(hour=hour, minute=self.rng.randrange(60), second=self.rng.randrange(60))
        return min(at, end - timedelta(minutes=self.rng.randrange(5, 600)))

    def _customer(self, recent: list[tuple[str, datetime]], at: datetime) -> str:
        """A returning customer for about one conversation in six."""
        recent[:] = [(c, t) for c, t in recent[-200:] if at - t < timedelta(hours=FOLLOW_UP_HOURS * 2)]
        if recent and self.rng.random() < 0.17:
            return self.rng.choice(recent)[0]
        customer_id = self._uuid()
        self.rows.customers.append({"id": customer_id, "created_at": at})
        recent.append((customer_id, at))
        return customer_id

    def _mark_follow_ups(self) -> None:
        last: dict[str, dict[str, Any]] = {}
        for conversation in self.rows.conversations:  # in time order
            earlier = last.get(conversation["customer_id"])
            if earlier and conversation["created_at"] - earlier["created_at"] <= timedelta(hours=FOLLOW_UP_HOURS):
                earlier["followed_up"] = True
            last[conversation["customer_id"]] = conversation

    # -- one conversation -----------------------------------------------------------------

    def conversation(self, at: datetime, customer_id: str) -> None:
        language = "en" if self.rng.random() < 0.22 and "en" in self.by_language else "pl"
        conversation = {
            "id": self._uuid(),
            "token_hash": digest(self._uuid()),
            "channel": "messenger" if self.rng.random() < 0.3 else "web",
            "language": language,
            "status": "bot",
            "agent_id": None,
            "customer_id": customer_id,
            "last_seq": 0,
            "delivered_seq": 0,
            "queued_at": None,
            "ticket": False,
            "contact_email": None,
            "handed_over": False,
            "followed_up": False,
            "created_at": at,
            "updated_at": at,
        }
        self.rows.conversations.append(conversation)
        self.clock = at
        scenario = self.rng.choices([s for s, _ in SCENARIOS], weights=[w for _, w in SCENARIOS])[0]
        getattr(self, f"_{scenario}")(conversation, language)
        conversation["updated_at"] = self.clock

    def _answer(self, c: dict[str, Any], lang: str) -> None:
        self._answered(c, lang)
        if self.rng.random() < 0.35:
            self._say(c, "customer", self.rng.choice(THANKS[lang]))
            self._bot(c, BOT_TEXT["thanks"][lang], reply_ms=self._ms(25))
        if self.rng.random() < 0.3:  # the bot's own survey
            self._rating(c, lang, None)

    def _thanks_only(self, c: dict[str, Any], lang: str) -> None:
        self._say(c, "customer", self.rng.choice(THANKS[lang]))
        self._bot(c, BOT_TEXT["thanks"][lang], reply_ms=self._ms(25))

    def _clarify(self, c: dict[str, Any], lang: str) -> None:
        entry = self._entry(lang)
        if self.rng.random() < 0.5:  # weak: a vague message, a gap in the reports
            self._say(c, "customer", self.rng.choice(VAGUE[lang]), gap="low_confidence")
        else:  # a close call between entries: one word of the title, not a gap
            self._say(c, "customer", entry.title.split()[-1].strip("?").lower())
        self._bot(c, BOT_TEXT["clarify"][lang], decision="clarify", reply_ms=self._ms(90))
        if self.rng.random() < 0.8:
            self._say(c, "customer", entry.title)
            self._bot(c, entry.answer, decision="chosen", faq_id=entry.id, source=_source(entry), reply_ms=self._ms(20))

    def _gap(self, c: dict[str, Any], lang: str) -> None:
        self._say(c, "customer", self._gap_question(lang), gap="fallback")
        self._bot(c, BOT_TEXT["fallback"][lang], decision="fallback", reply_ms=self._ms(85))
        if self.rng.random() < 0.3:
            self._say(c, "customer", self.rng.choice(HUMAN[lang]))
            self._hand_over(c, lang, "customer_request", BOT_TEXT["handoff"][lang])

    def _human(self, c: dict[str, Any], lang: str) -> None:
        if self.rng.random() < 0.4:
            self._answered(c, lang, outcome="handoff")
        self._say(c, "customer", self.rng.choice(HUMAN[lang]))
        self._hand_over(c, lang, "customer_request", BOT_TEXT["handoff"][lang])

    def _not_helped(self, c: dict[str, Any], lang: str) -> None:
        self._answered(c, lang, outcome="not_helpful")
        self._say(c, "customer", self.rng.choice(NOT_HELPED[lang]))
        self._hand_over(c, lang, "frustration", BOT_TEXT["frustration"][lang])

    def _misses(self, c: dict[str, Any], lang: str) -> None:
        self._say(c, "customer", self._gap_question(lang), gap="fallback")
        self._bot(c, BOT_TEXT["fallback"][lang], decision="fallback", reply_ms=self._ms(85))
        self._say(c, "customer", self._gap_question(lang), gap="handoff")
        self._hand_over(c, lang, "repeated_misses", BOT_TEXT["misses"][lang])

    def _repeat(self, c: dict[str, Any], lang: str) -> None:
        entry = self._answered(c, lang, outcome="repeat")
        self._say(c, "customer", self.rng.choice(entry.phrasings), gap="handoff")
        self._hand_over(c, lang, "frustration", BOT_TEXT["frustration"][lang])

    # -- pieces --------------------------------------------------------------------------

    def _answered(self, c: dict[str, Any], lang: str, outcome: str | None = None) -> Entry:
        entry = self._entry(lang)
        self._say(c, "customer", self._asked(entry))
        self._bot(
            c,
            entry.answer,
            decision="answer",
            faq_id=entry.id,
            source=_source(entry),
            reply_ms=self._ms(80),
            outcome=outcome,
        )
        return entry

    def _hand_over(self, c: dict[str, Any], lang: str, reason: str, text: str) -> None:
        self._bot(c, text, decision="handoff", reply_ms=self._ms(60))
        queued = self.clock
        night = queued.hour < 7 or queued.hour >= 22
        c.update(handed_over=True, queued_at=queued, status="queued")
        handoff: dict[str, Any] = {
            "conversation_id": c["id"],
            "reason": "out_of_hours" if night else reason,
            "created_at": queued,
            "claimed_at": None,
            "claimed_by": None,
            "resolved_at": None,
            "resolved_by": None,
            "first_response_at": None,
        }
        self.rows.handoffs.append(handoff)
        if night:
            c.update(ticket=True, contact_email=f"klient{self.rng.randrange(10_000)}@example.com")
            self._say(c, "system", "Poza godzinami pracy: odpowiemy mailowo." if lang == "pl" else "Out of hours.")
        else:
            self._say(c, "system", BOT_TEXT["queued"][lang])
        agent = self.rng.choice(self.agents)
        speed, _ = self.agent_skill[agent]
        wait = (8 * 3600 + self.rng.uniform(0, 3600)) if night else self.rng.lognormvariate(4.4, 0.8) * speed
        if queued + timedelta(seconds=wait) > self.now:
            return  # still waiting
        self.clock = queued + timedelta(seconds=wait)
        handoff.update(claimed_at=self.clock, claimed_by=agent)
        c.update(status="assigned", agent_id=agent)
        self.clock += timedelta(seconds=self.rng.uniform(10, 70) * speed)
        handoff["first_response_at"] = self.clock
        self._say(c, "agent", AGENT_TEXT[lang][0].format(name=self.names[agent]), agent_id=agent)
        self.clock += timedelta(seconds=self.rng.uniform(30, 120))
        self._say(c, "customer", "ok")
        handled = timedelta(seconds=self.rng.lognormvariate(5.6, 0.6) * speed)
        if self.clock + handled > self.now:
            return  # still with the agent
        self.clock += handled
        self._say(c, "agent", AGENT_TEXT[lang][1], agent_id=agent)
        handoff.update(resolved_at=self.clock, resolved_by=agent)
        c.update(status="resolved", agent_id=None)
        self._say(c, "system", BOT_TEXT["resolved"][lang])
        if self.rng.random() < 0.9:
            self._rating(c, lang, agent)

    def _rating(self, c: dict[str, Any], lang: str, agent: int | None) -> None:
        self._bot(c, BOT_TEXT["ask_rating"][lang], decision="ask_rating", buttons=RATE_BUTTONS, agent_id=agent)
        if self.rng.random() > 0.62:
            return  # asked, not answered
        penalty = self.agent_skill[agent][1] if agent is not None else 0.1
        weights = [0.04 + penalty / 3, 0.05 + penalty / 3, 0.12 + penalty / 3, 0.34, 0.45 - penalty]
        score = self.rng.choices(range(1, 6), weights=weights)[0]
        self.clock += timedelta(seconds=self.rng.uniform(3, 40))
        self._say(c, "customer", str(score))
        self._bot(c, BOT_TEXT["rated"][lang], reply_ms=self._ms(20))
        comment = None
        if self.rng.random() < 0.3:
            comment = self.rng.choice(COMMENTS["good" if score >= 4 else "bad"][lang])
            self._say(c, "customer", comment)
        nps = None
        if c["created_at"] > self.now - timedelta(days=20) and self.rng.random() < 0.5:  # NPS on since 20 days
            nps = max(0, min(10, score * 2 + self.rng.choice((-1, 0, 0, 1, 1))))
        self.rows.ratings.append(
            {
                "conversation_id": c["id"],
                "agent_id": agent,
                "score": score,
                "nps": nps,
                "comment": comment,
                "created_at": self.clock,
            }
        )

    def _say(self, c: dict[str, Any], role: str, text: str, **values: Any) -> dict[str, Any]:
        self.clock += timedelta(seconds=self.rng.uniform(4, 40) if role == "customer" else 1)
        return self._message(c, role, text, **values)

    def _bot(self, c: dict[str, Any], text: str, reply_ms: int | None = None, **values: Any) -> dict[str, Any]:
        self.clock += timedelta(milliseconds=reply_ms or 50)
        return self._message(c, "bot", text, reply_ms=reply_ms, **values)

    def _message(self, c: dict[str, Any], role: str, text: str, **values: Any) -> dict[str, Any]:
        c["last_seq"] += 1
        c["delivered_seq"] = c["last_seq"]
        message = {
            "conversation_id": c["id"],
            "seq": c["last_seq"],
            "role": role,
            "text": text,
            "payload": None,
            "buttons": values.pop("buttons", None),
            "source": values.pop("source", None),
            "meta": {"language": c["language"]} if role == "customer" else None,
            "agent_id": values.pop("agent_id", None),
            "external_id": None,
            "reply_ms": values.pop("reply_ms", None),
            "decision": values.pop("decision", None),
            "faq_id": values.pop("faq_id", None),
            "outcome": values.pop("outcome", None),
            "gap": values.pop("gap", None),
            "created_at": min(self.clock, self.now),
        }
        assert not values, values
        self.rows.messages.append(message)
        return message

    def _entry(self, lang: str) -> Entry:
        items = self.by_language.get(lang) or self.by_language["pl"]
        return self.rng.choices(items, weights=self.weights.get(lang) or self.weights["pl"])[0]

    def _asked(self, entry: Entry) -> str:
        """A phrasing as customers type it: often lower case, sometimes without the question mark."""
        text = self.rng.choice(entry.phrasings)
        return text.lower().rstrip("?") if self.rng.random() < 0.6 else text

    def _gap_question(self, lang: str) -> str:
        """Groups of different sizes (the first topics are asked most), a few one-offs."""
        topics = self.gap_topics
        group = self.rng.choices(list(topics), weights=[1 / (rank + 1) for rank in range(len(topics))])[0]
        phrasings = topics[group].get(lang) or next(iter(topics[group].values()))
        return self.rng.choice(phrasings)

    def _ms(self, median: float) -> int:
        return max(5, round(self.rng.lognormvariate(0, 0.35) * median))

    def _uuid(self) -> str:
        """Random whatever the seed: a second demo (--force) must not collide with the first."""
        return str(uuid.uuid4())


def _source(entry: Entry) -> dict[str, str]:
    return {"id": entry.id, "title": entry.title, "language": entry.language, "path": entry.path}
