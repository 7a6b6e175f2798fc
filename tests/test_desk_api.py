"""The desk's JSON API and event stream, through Flask's test client on SQLite and
PostgreSQL, with a hub whose bot is down: every customer's conversation reaches the queue
at once, and agents work on it."""

from __future__ import annotations

import json
import queue as queues
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from handoff.desk import events as desk_events
from knowledge.drafts import DEFAULT_DRAFTS_DIR
from knowledge.entries import parse_file
from knowledge.loader import faq_files
from tests.conftest import ROOT, SAMPLE_KB
from tests.desk_client import api_post, logged_in, make_desk_app
from tests.stand_in import JsonHandler, StandIn
from tests.test_hub_api import NEUTRAL, queued, read, say, start

QUEUE_ITEM = {
    "id", "status", "position", "channel", "language", "reason", "queued_at", "waiting_seconds",
    "assigned_to", "last_customer_message", "ticket", "contact_email", "assigned_to_me",
}  # fmt: skip


@pytest.fixture
def app(database_url, tmp_path):
    application = make_desk_app(database_url, tmp_path)
    yield application
    application.extensions["faqbot"].db.dispose()


@pytest.fixture
def customer(app):
    return app.test_client()


@pytest.fixture
def ala(app):
    return logged_in(app, "Ala")


@pytest.fixture
def ola(app):
    return logged_in(app, "Ola")


def get(client, path: str, status: int = 200):
    response = client.get(f"/desk/api{path}")
    assert response.status_code == status, (path, response.status_code, response.get_data(as_text=True))
    return response.get_json()


def post(client, path: str, body=None, status: int = 200):
    response = api_post(client, path, body)
    assert response.status_code == status, (path, response.status_code, response.get_data(as_text=True))
    return response.get_json()


def desk_queue(client) -> list[dict]:
    return get(client, "/queue")["conversations"]


# -- the agent ------------------------------------------------------------------------------


def test_me_and_the_desk_language(ala):
    assert get(ala, "/me") == {"id": get(ala, "/me")["id"], "name": "Ala", "role": "agent", "language": "pl"}
    assert post(ala, "/me", {"language": "en"})["language"] == "en"
    assert get(ala, "/me")["language"] == "en"
    for wrong in ("de", 5, None):
        assert set(post(ala, "/me", {"language": wrong}, status=400)) == {"error"}


def test_agents_for_a_transfer_with_who_is_online(app, ala, ola):
    app.extensions["faqbot"].accounts.create("Api")  # never logged in to the desk
    app.extensions["faqbot"].accounts.create("Gone")
    app.extensions["faqbot"].accounts.deactivate("Gone")

    agents = {a["name"]: a for a in get(ala, "/agents")["agents"]}

    assert set(agents) == {"Ala", "Ola", "Api"}
    assert agents["Ola"]["online"] is True and agents["Api"]["online"] is False
    assert set(agents["Ola"]) == {"id", "name", "role", "online"}


def test_a_request_writes_presence_at_most_every_15_seconds(app, ala):
    accounts = app.extensions["faqbot"].accounts
    agent_id = get(ala, "/me")["id"]
    first = accounts.get(agent_id).last_seen_at
    get(ala, "/queue")
    assert accounts.get(agent_id).last_seen_at == first

    with app.extensions["faqbot"].db.transaction() as session:
        from handoff.models import Agent

        session.get(Agent, agent_id).last_seen_at = None
    get(ala, "/queue")
    assert accounts.get(agent_id).last_seen_at is not None


# -- the queue ------------------------------------------------------------------------------------


def test_the_queue_waiting_oldest_first_with_what_the_agent_needs(customer, ala, ola):
    first, _ = queued(customer, "pl", "Gdzie jest moja paczka?")
    second, _ = queued(customer, "en")
    third, _ = queued(customer)
    start(customer)  # with the bot: not in the queue
    post(ola, f"/conversations/{first}/claim")

    items = desk_queue(ala)

    assert [(i["id"], i["status"], i["position"], i["assigned_to"]) for i in items] == [
        (second, "queued", 1, None),
        (third, "queued", 2, None),
        (first, "assigned", None, "Ola"),
    ]
    assert all(set(i) == QUEUE_ITEM for i in items)
    assert [i["language"] for i in items] == ["en", "pl", "pl"]
    assert {i["channel"] for i in items} == {"web"} and {i["reason"] for i in items} == {"bot_unavailable"}
    assert items[2]["last_customer_message"] == "Gdzie jest moja paczka?"
    assert items[0]["ticket"] is False and items[0]["contact_email"] is None
    assert all(isinstance(i["waiting_seconds"], int) for i in items)
    assert [i["assigned_to_me"] for i in items] == [False, False, False]
    assert [i["assigned_to_me"] for i in desk_queue(ola)] == [False, False, True]


# -- a conversation ---------------------------------------------------------------------------------


def test_a_conversation_with_transcript_context_summary_and_notes(ala, customer):
    conversation_id, _ = queued(customer, "pl", "Czy mogę zwrócić buty?")

    view = get(ala, f"/conversations/{conversation_id}")

    assert view["id"] == conversation_id and view["status"] == "queued"
    assert [m["role"] for m in view["messages"]][:1] == ["customer"]
    assert view["messages"][0]["text"] == "Czy mogę zwrócić buty?"
    assert {"seq", "role", "text", "buttons", "source", "created_at", "author"} <= set(view["messages"][0])
    assert view["context"]["reason"] == "bot_unavailable"
    assert view["context"]["customer"]["messages"] == 1
    assert (view["notes"], view["earlier_conversations"], view["ticket"], view["contact_email"]) == (
        [],
        [],
        False,
        None,
    )
    assert view["summary"] == ["Bot nie zdążył niczego zrozumieć ani wyszukać."]  # Rasa was down

    post(ala, "/me", {"language": "en"})
    assert get(ala, f"/conversations/{conversation_id}")["summary"] == [
        "The bot did not get to understand or look up anything."
    ]


def test_unknown_conversations_are_404(ala):
    for path in ("/conversations/nope", "/conversations/nope/messages", "/conversations/nope/suggestions"):
        assert set(get(ala, path, status=404)) == {"error"}
    assert set(post(ala, "/conversations/nope/claim", status=404)) == {"error"}


# -- claiming, replying, notes ---------------------------------------------------------------------------


def test_two_agents_never_claim_the_same_conversation(ala, ola, customer):
    conversation_id, _ = queued(customer)
    results: list[int] = []
    barrier = threading.Barrier(2)

    def claim(client):
        barrier.wait()
        results.append(api_post(client, f"/conversations/{conversation_id}/claim").status_code)

    threads = [threading.Thread(target=claim, args=(c,)) for c in (ala, ola)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == [200, 409]
    owner = get(ala, f"/conversations/{conversation_id}")["assigned_to"]
    loser = ola if owner == "Ala" else ala
    assert set(post(loser, f"/conversations/{conversation_id}/claim", status=409)) == {"error"}


def test_replies_go_both_ways(ala, customer):
    conversation_id, token = queued(customer)

    reply = post(ala, f"/conversations/{conversation_id}/messages", {"text": "Dzień dobry, tu Ala."}, status=201)

    message = reply["message"]
    assert (message["role"], message["text"], message["author"]) == ("agent", "Dzień dobry, tu Ala.", "Ala")
    seen = read(customer, conversation_id, token).get_json()
    assert seen["status"] == "assigned" and seen["messages"][-1]["text"] == "Dzień dobry, tu Ala."

    say(customer, conversation_id, token, "Dziękuję, czekam")
    news = get(ala, f"/conversations/{conversation_id}/messages?after={message['seq']}")
    assert news["status"] == "assigned"
    assert [(m["role"], m["text"]) for m in news["messages"]] == [("customer", "Dziękuję, czekam")]
    assert set(post(ala, f"/conversations/{conversation_id}/messages", {"text": "  "}, status=400)) == {"error"}
    assert get(ala, f"/conversations/{conversation_id}/messages?after=x", status=400)


def test_notes_are_for_agents_only(ala, ola, customer):
    conversation_id, token = queued(customer)

    note = post(
        ala, f"/conversations/{conversation_id}/notes", {"text": "Klient VIP, sprawdzić zamówienie"}, status=201
    )

    assert set(note["note"]) == {"id", "author", "text", "created_at"}
    assert note["note"]["author"] == "Ala"
    assert [n["text"] for n in get(ola, f"/conversations/{conversation_id}")["notes"]] == [
        "Klient VIP, sprawdzić zamówienie"
    ]
    customer_view = read(customer, conversation_id, token).get_data(as_text=True)
    assert "VIP" not in customer_view
    assert "VIP" not in json.dumps(get(ala, f"/conversations/{conversation_id}/messages"))


# -- handing on -------------------------------------------------------------------------------------------


def test_release_puts_the_conversation_back_in_its_place(ala, ola, customer):
    first, _ = queued(customer)
    second, _ = queued(customer)
    post(ala, f"/conversations/{first}/claim")
    assert [i["id"] for i in desk_queue(ala) if i["status"] == "queued"] == [second]

    assert set(post(ola, f"/conversations/{first}/release", status=409)) == {"error"}  # not Ola's
    view = post(ala, f"/conversations/{first}/release")

    assert (view["status"], view["assigned_to"]) == ("queued", None)
    assert [(i["id"], i["position"]) for i in desk_queue(ola)] == [(first, 1), (second, 2)]
    post(ola, f"/conversations/{first}/claim")  # anyone may take it now


def test_transfer_to_another_agent(app, ala, ola, customer):
    conversation_id, token = queued(customer)
    post(ala, f"/conversations/{conversation_id}/claim")
    ola_id = get(ola, "/me")["id"]

    view = post(ala, f"/conversations/{conversation_id}/transfer", {"agent_id": ola_id})

    assert (view["status"], view["assigned_to"]) == ("assigned", "Ola")
    assert set(post(ala, f"/conversations/{conversation_id}/resolve", status=409)) == {"error"}
    post(ola, f"/conversations/{conversation_id}/messages", {"text": "Tu Ola, przejmuję."}, status=201)
    assert read(customer, conversation_id, token).get_json()["messages"][-1]["text"] == "Tu Ola, przejmuję."
    assert set(post(ala, f"/conversations/{conversation_id}/transfer", {"agent_id": ola_id}, status=409)) == {"error"}

    gone = app.extensions["faqbot"].accounts.create("Gone").account.id
    app.extensions["faqbot"].accounts.deactivate("Gone")
    for target in (gone, 999999, "Ola", None, True):
        assert set(post(ola, f"/conversations/{conversation_id}/transfer", {"agent_id": target}, status=400)) == {
            "error"
        }
    assert get(ola, f"/conversations/{conversation_id}")["assigned_to"] == "Ola"


def test_a_supervisor_may_hand_on_anyones_conversation(app, ala, customer):
    boss = logged_in(app, "Szefowa", role="supervisor")
    conversation_id, _ = queued(customer)
    post(ala, f"/conversations/{conversation_id}/claim")
    assert post(boss, f"/conversations/{conversation_id}/release")["status"] == "queued"


def test_resolve_hands_back_to_the_bot_then_calls_on_resolved(app, ala, customer):
    conversation_id, token = queued(customer)
    post(ala, f"/conversations/{conversation_id}/claim")
    desk = app.extensions["faqbot"].desk
    calls = []

    def on_resolved(resolved_id: str, agent_id: int) -> None:  # runs after the commit: sees the new state
        with desk.db.transaction() as session:
            from handoff.models import Conversation

            calls.append((resolved_id, agent_id, session.get(Conversation, resolved_id).status))

    desk.on_resolved = on_resolved
    view = post(ala, f"/conversations/{conversation_id}/resolve")

    assert view["status"] == "resolved"
    assert calls == [(conversation_id, get(ala, "/me")["id"], "resolved")]
    assert conversation_id not in [i["id"] for i in desk_queue(ala)]
    assert read(customer, conversation_id, token).get_json()["status"] == "resolved"


def test_a_failing_on_resolved_does_not_fail_the_resolve(app, ala, customer):
    conversation_id, _ = queued(customer)
    post(ala, f"/conversations/{conversation_id}/claim")
    app.extensions["faqbot"].desk.on_resolved = lambda *_: 1 / 0
    assert post(ala, f"/conversations/{conversation_id}/resolve")["status"] == "resolved"


# -- FAQ drafts ---------------------------------------------------------------------------------------------


def test_save_as_faq_draft_writes_a_valid_file_that_is_never_overwritten(app, ala, customer, tmp_path):
    conversation_id, _ = queued(customer, "pl", "Czy mogę zwrócić buty po 30 dniach?")
    body = {"question": "Czy mogę zwrócić buty po 30 dniach?", "answer": "Tak, do **60 dni** od zakupu."}

    first = post(ala, f"/conversations/{conversation_id}/drafts", body, status=201)["path"]
    second = post(ala, f"/conversations/{conversation_id}/drafts", {**body, "title": "Zwrot po 30 dniach"}, status=201)

    drafts = tmp_path / "faq-drafts"
    assert sorted(drafts.iterdir()) == sorted([Path(first), Path(second["path"])])  # outside the project: absolute
    assert Path(first).name.startswith("czy-moge-zwrocic-buty-po-30-dniach-")
    assert Path(second["path"]).name.startswith("zwrot-po-30-dniach-")
    entry, problems = parse_file(Path(first), drafts, "pl")
    assert problems == []
    assert (entry.id, entry.language, entry.title) == (Path(first).stem, "pl", body["question"])
    assert (entry.questions, entry.answer) == ((body["question"],), body["answer"])
    assert conversation_id in Path(first).read_text()

    assert set(post(ala, f"/conversations/{conversation_id}/drafts", {"question": "x"}, status=400)) == {"error"}
    bad = {"question": "Pytanie?", "answer": "Zdanie.\n# Drugi nagłówek"}
    assert "heading" in post(ala, f"/conversations/{conversation_id}/drafts", bad, status=400)["error"]
    assert len(list(drafts.iterdir())) == 2


def test_faqbot_kb_validate_checks_the_drafts(app, ala, customer, tmp_path):
    conversation_id, _ = queued(customer)
    post(ala, f"/conversations/{conversation_id}/drafts", {"question": "Czy jest BLIK?", "answer": "Tak."}, status=201)
    drafts = tmp_path / "faq-drafts"

    ok = validate(drafts)
    (drafts / "zepsuty.md").write_text("---\nid: x\nkolor: red\n---\n# Pytanie?\n\nOdpowiedź.\n", encoding="utf-8")
    (drafts / "zajety.md").write_text("---\nid: returns-how\n---\n# Jak oddać?\n\nTak.\n", encoding="utf-8")
    broken = validate(drafts)

    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "drafts: 1 file(s)" in ok.stdout and "0 error(s)" in ok.stdout
    assert broken.returncode == 1
    assert f"{drafts}/zepsuty.md:3: (draft) unknown key 'kolor'" in broken.stdout
    assert f"{drafts}/zajety.md:2: warning: (draft) id 'returns-how' (pl) is already used by" in broken.stdout
    assert "drafts: 3 file(s)" in broken.stdout and "1 error(s), 1 warning(s)" in broken.stdout


def validate(drafts: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "handoff.cli", "kb", "validate", "--quick", "--drafts", str(drafts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_index_never_reads_the_drafts_folder():
    """The knowledge base reads data/faq (every *.md under it); drafts live beside it."""
    assert not DEFAULT_DRAFTS_DIR.resolve().is_relative_to(SAMPLE_KB.resolve())
    assert not any(path.is_relative_to(DEFAULT_DRAFTS_DIR) for path in faq_files(SAMPLE_KB))


def test_a_drafts_folder_inside_the_faq_is_refused(database_url, tmp_path):
    with pytest.raises(ValueError, match="inside the FAQ folder"):
        make_desk_app(database_url, tmp_path, drafts_dir=str(SAMPLE_KB / "drafts"))


def test_a_live_knowledge_base_does_not_serve_drafts(tmp_path, embedder):
    """A draft saved beside the FAQ folder, as the desk saves them: the live index does
    not see it, not even after a reload."""
    import shutil

    from handoff.desk.drafts import write_draft
    from knowledge.live import LiveKnowledgeBase
    from knowledge.settings import Settings

    kb_dir = tmp_path / "faq"
    shutil.copytree(SAMPLE_KB / "zwroty", kb_dir)
    question = "Czy zwracacie pieniądze za bilety na koncert smoków?"
    draft = write_draft(
        tmp_path / "faq-drafts",
        question=question,
        answer="Nie.",
        title=None,
        language="pl",
        conversation_id="c",
        author="Ala",
    )
    settings = Settings(kb_dir=kb_dir, cache_path=Settings().cache_path, last_good_dir=None)
    kb = LiveKnowledgeBase(settings, embedder=embedder)

    assert draft.stem not in kb.current
    assert kb.reload() is False
    assert draft.stem not in {hit.id for hit in kb.current.search(question, 10)}


# -- agent assist -------------------------------------------------------------------------------------------


def test_suggestions_are_empty_when_the_action_server_is_down(ala, customer):
    conversation_id, _ = queued(customer, "pl", "jak zwrócić towar")
    started = time.monotonic()
    assert get(ala, f"/conversations/{conversation_id}/suggestions") == {"suggestions": []}
    assert time.monotonic() - started < 5


class FakeActionServer(StandIn):
    """Answers /search like bot/server.py, and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[dict] = []
        server = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                server.asked.append({"path": self.route, **{k: v[0] for k, v in self.query.items()}})
                body = {
                    "results": [
                        {
                            "id": "returns-how",
                            "title": "Jak zwrócić?",
                            "answer": "Tak.",
                            "score": 0.8,
                            "language": "pl",
                        },
                        {"id": "x", "title": "X", "answer": "Y", "score": 0.1, "language": "pl", "extra": 1},
                    ]
                }
                self.reply(200, body)

        super().__init__(Handler)


def test_suggestions_look_up_the_customers_last_message(database_url, tmp_path):
    server = FakeActionServer()
    app = make_desk_app(database_url, tmp_path, actions_url=server.url)
    try:
        agent, customer = logged_in(app, "Ala"), app.test_client()
        conversation_id, token = queued(customer, "pl", "jak zwrócić buty")

        suggestions = get(agent, f"/conversations/{conversation_id}/suggestions")["suggestions"]

        assert suggestions[0] == {
            "id": "returns-how",
            "title": "Jak zwrócić?",
            "answer": "Tak.",
            "score": 0.8,
            "language": "pl",
        }
        assert set(suggestions[1]) == {"id", "title", "answer", "score", "language"}
        assert server.asked[-1] == {"path": "/search", "q": "jak zwrócić buty", "k": "3", "language": "pl"}
        get(agent, f"/conversations/{conversation_id}/suggestions?q=reklamacja")
        assert server.asked[-1]["q"] == "reklamacja" and "language" not in server.asked[-1]
    finally:
        server.close()
        app.extensions["faqbot"].db.dispose()


# -- the event stream ------------------------------------------------------------------------------------------


class StreamReader:
    """Reads a streaming response in a thread; `next_event` waits for one with a timeout."""

    def __init__(self, response) -> None:
        self.response = response
        self.chunks: queues.Queue[str | None] = queues.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for chunk in self.response.response:
                self.chunks.put(chunk.decode() if isinstance(chunk, bytes) else chunk)
        finally:
            self.chunks.put(None)

    def next_event(self, name: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                chunk = self.chunks.get(timeout=left)
            except queues.Empty:
                break
            assert chunk is not None, f"the stream ended before an '{name}' event"
            if chunk.startswith(f"event: {name}\n"):
                return json.loads(chunk.split("data: ", 1)[1])
        raise AssertionError(f"no '{name}' event within {timeout} s")

    def ended(self, timeout: float = 10) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()


def open_stream(client, query: str = "") -> StreamReader:
    response = client.get(f"/desk/api/events{query}", buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache" and response.headers["X-Accel-Buffering"] == "no"
    return StreamReader(response)


def test_the_stream_tells_the_desk_when_the_queue_changes(app, ala, customer):
    stream = open_stream(ala)

    conversation_id, _ = queued(customer)

    assert stream.next_event("queue") == {"conversation": conversation_id}
    post(ala, f"/conversations/{conversation_id}/claim")
    assert stream.next_event("queue") == {"conversation": conversation_id}
    app.extensions["faqbot"].shutdown()  # a graceful stop ends every stream
    assert stream.ended()


def test_the_stream_follows_the_open_conversation(app, ala, ola, customer):
    conversation_id, token = queued(customer)
    other, other_token = queued(customer)
    stream = open_stream(ala, f"?conversation={conversation_id}")

    say(customer, other, other_token, NEUTRAL)  # not followed: no messages event for it
    say(customer, conversation_id, token, "Halo?")
    assert stream.next_event("messages") == {"conversation": conversation_id}
    post(ola, f"/conversations/{conversation_id}/notes", {"text": "notatka"}, status=201)
    assert stream.next_event("notes") == {"conversation": conversation_id}
    app.extensions["faqbot"].shutdown()
    assert stream.ended()


def test_the_stream_keeps_alive_writes_presence_and_ends_with_the_session(app, ala, monkeypatch):
    monkeypatch.setattr(desk_events, "KEEP_ALIVE", 0.1)
    monkeypatch.setattr(desk_events, "PRESENCE_INTERVAL", 0.2)
    accounts = app.extensions["faqbot"].accounts
    agent_id = get(ala, "/me")["id"]
    with app.extensions["faqbot"].db.transaction() as session:
        from handoff.models import Agent

        session.get(Agent, agent_id).last_seen_at = None

    stream = open_stream(ala)
    deadline = time.monotonic() + 10
    keep_alive = False
    while time.monotonic() < deadline and not keep_alive:
        keep_alive = stream.chunks.get(timeout=10) == ": keep-alive\n\n"
    assert keep_alive
    assert accounts.get(agent_id).last_seen_at is not None

    accounts.deactivate("Ala")
    assert stream.ended()


def test_the_stream_needs_a_session(app, customer):
    response = customer.get("/desk/api/events")
    assert response.status_code == 401 and response.mimetype == "application/json"
    assert app.extensions["faqbot"].pubsub.subscriber_count() == 0


def test_the_summary_says_what_the_bot_understood_and_tried_in_words():
    from handoff.desk.summary import summarize

    candidates = [
        {"id": "returns-how", "title": "Jak zwrócić towar?", "score": 0.412},
        {"id": "returns-cost", "title": "Ile kosztuje zwrot?", "score": 0.381},
        {"id": "returns-gift", "title": "Zwrot prezentu", "score": 0.301},
        {"id": "x", "title": "X", "score": 0.1},
    ]
    context = {
        "reason": "repeated_misses",
        "understood": [
            {"seq": 1, "text": "jak oddac buty", "intent": "ask_question", "confidence": 0.871},
            {"seq": 3, "text": "chce czlowieka", "intent": "request_human", "confidence": 0.55},
        ],
        "retrieval": [
            {
                "seq": 2,
                "query": "jak oddac buty",
                "decision": "clarify",
                "candidates": candidates,
                "thresholds": {"answer": 0.6, "margin": 0.05, "clarify": 0.3},
            },
            {"seq": 4, "query": "???", "decision": "fallback", "candidates": []},
        ],
    }

    assert summarize(context, "en") == [
        "Bot understood “jak oddac buty” as: a question (87%)",
        "Tried for “jak oddac buty”: 'Jak zwrócić towar?' 0.41, 'Ile kosztuje zwrot?' 0.38, 'Zwrot prezentu' 0.30"
        " — not sure, offered 3 options",
        "Bot understood “chce czlowieka” as: a request for a person (55%)",
        "Tried for “???”: found nothing",
    ]
    assert summarize(context, "pl")[1] == (
        "Szukał dla „jak oddac buty”: 'Jak zwrócić towar?' 0,41, 'Ile kosztuje zwrot?' 0,38, 'Zwrot prezentu' 0,30"
        " — nie był pewien, zaproponował 3 odpowiedzi"
    )
    assert summarize({"reason": "bot_unavailable", "understood": [], "retrieval": []}, "en") == [
        "The bot did not get to understand or look up anything.",
    ]


def test_the_summary_says_when_the_classifier_doubted_a_high_score():
    """A choice offered although the first entry scored above the answer threshold: the
    entry classifier was not sure of it, and the agent is told so, not left to wonder."""
    from handoff.desk.summary import summarize

    item = {
        "seq": 1,
        "query": "zmienic platnosc z przelewu na blik",
        "decision": "clarify",
        "candidates": [
            {"id": "payment-failed", "title": "Płatność się nie udała", "score": 0.91},
            {"id": "order-change", "title": "Zmiana zamówienia", "score": 0.78},
        ],
        "confidence": 0.14,
        "thresholds": {"answer": 0.82, "margin": 0.12, "clarify": 0.68, "confident": 0.2},
    }
    said = summarize({"retrieval": [item]}, "en")[0]
    assert said.endswith("— the first scored high, but the bot was only 14% sure of it, offered 2 options"), said
    assert "pewien tylko w 14%" in summarize({"retrieval": [item]}, "pl")[0]
    for calmer in ({"confidence": 0.5}, {"candidates": [{"id": "a", "title": "A", "score": 0.7}] * 2}):
        assert summarize({"retrieval": [item | calmer]}, "en")[0].endswith("not sure, offered 2 options")
    older = {k: v for k, v in item.items() if k != "confidence"}  # recorded before the classifier
    assert summarize({"retrieval": [older]}, "en")[0].endswith("not sure, offered 2 options")
