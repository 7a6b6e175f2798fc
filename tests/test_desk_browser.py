"""The agent desk in a real browser (Debian's chromium via Playwright) against a real hub:
gunicorn with the gevent worker, SQLite, the bot absent (every customer message goes
straight to the agents' queue), and a stand-in action server for agent assist.

Agents are created with the command line, customers talk through the customer API, and
the desk is used as an agent uses it: by clicking and typing. Nothing reloads a page to
see news: the desk must show it live. The screenshots in docs/screenshots are taken here.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from scripts import bench_desk
from scripts.bench_longpoll import running_hub

from .browser import new_context
from .conftest import ROOT, SAMPLE_KB
from .stand_in import JsonHandler, StandIn

PASSWORD = "spokojny-dzien-2024"
AGENTS = ("Ola", "Piotr")
SCREENSHOTS = ROOT / "docs" / "screenshots"
SUGGESTED = ("sledzenie/tracking-parcel-late.md", "sledzenie/tracking-parcel.md")
HOSTILE = '<img src=x onerror="window.__x=1">'  # what a careless (or hostile) writer might type


# -- the hub, its agents and customers -------------------------------------------------------


@dataclass
class Hub:
    url: str
    database_url: str
    drafts: Path


def _faq_entries(paths: tuple[str, ...]) -> list[dict]:
    from knowledge.entries import parse_file

    entries = []
    for index, path in enumerate(paths):
        entry, _ = parse_file(SAMPLE_KB / path, SAMPLE_KB, "pl")
        score = round(0.82 - 0.17 * index, 4)
        entries.append({"id": entry.id, "title": entry.title, "answer": entry.answer, "score": score, "language": "pl"})
    return entries


@contextlib.contextmanager
def stand_in_action_server() -> Iterator[str]:
    """Answers `/search` (agent assist) with two real FAQ entries, whatever the question
    (first an entry with markup in it, for a question with markup), and `/status` like an
    action server with its knowledge base loaded."""
    results = _faq_entries(SUGGESTED)
    hostile = {"id": "x", "title": f"Edytor {HOSTILE}", "answer": f"<b>{HOSTILE}</b>", "score": 0.9, "language": "pl"}

    class Handler(JsonHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            if self.route == "/search":
                found = [hostile, *results] if "<" in self.query.get("q", [""])[0] else results
                self.reply(200, {"results": found[: int(self.query.get("k", ["3"])[0])]})
            elif self.route == "/status":
                self.reply(200, {"status": "ok"})
            else:
                self.reply(404, {"error": "not found"})

    with StandIn(Handler) as actions:
        yield actions.url


def create_agent(name: str, database_url: str) -> None:
    bench_desk.create_agent(name, database_url, PASSWORD)


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[Hub]:
    folder = tmp_path_factory.mktemp("desk-browser")
    with stand_in_action_server() as actions_url:
        env = {
            "BOT_START_MAX": "0",
            "BOT_WAIT_MAX": "0",
            "ACTIONS_URL": actions_url,
            "FAQBOT_SECRET_KEY": secrets.token_hex(32),
            "FAQBOT_DRAFTS_DIR": str(folder / "drafts"),
            "PRESENCE_TIMEOUT": "3600",  # agents count as online all along: no tickets here
            "BUSINESS_HOURS": "",
        }
        with running_hub(folder, env) as (url, _process):
            database_url = f"sqlite:///{folder / 'hub.db'}"
            for name in AGENTS:
                create_agent(name, database_url)
            log_in_over_http(url, AGENTS[0])  # an agent is online: escalations are live, not tickets
            yield Hub(url, database_url, folder / "drafts")


def log_in_over_http(url: str, name: str) -> requests.Session:
    return bench_desk.log_in(url, name, PASSWORD)


class Customer:
    """A website visitor, through the customer API."""

    def __init__(self, url: str, language: str = "pl") -> None:
        self.url = url
        body = requests.post(f"{url}/api/conversations", json={"language": language}, timeout=10).json()
        self.id, self.token = body["id"], body["token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def say(self, text: str) -> dict:
        response = requests.post(
            f"{self.url}/api/conversations/{self.id}/messages", json={"text": text}, headers=self.headers, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()

    def messages(self) -> list[dict]:
        response = requests.get(f"{self.url}/api/conversations/{self.id}/messages?after=0", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()["messages"]

    def wait_for(self, predicate, timeout: float = 10) -> list[dict]:
        """The customer's view once `predicate(messages)` holds (the customer API long-polls;
        here plain reads until then)."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.messages()
            if predicate(messages) or time.monotonic() > deadline:
                return messages
            time.sleep(0.2)


def queued_customer(hub: Hub, text: str, language: str = "pl") -> Customer:
    customer = Customer(hub.url, language)
    assert customer.say(text)["status"] == "queued"
    return customer


# -- the browser ----------------------------------------------------------------------------


@pytest.fixture
def agent_page(browser, hub, problems):
    """`agent_page(name)`: a logged-in desk of its own (own cookies) for `name`."""
    contexts = []

    def open_desk(name: str = "Ola", path: str = "/desk", locale: str = "pl-PL") -> Page:
        context = new_context(browser, hub.url, locale)
        contexts.append(context)
        page = problems.watch(context.new_page())
        log_in(page, name, next_path=path)
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        return page

    yield open_desk
    for context in contexts:
        context.close()


def log_in(page: Page, name: str, password: str = PASSWORD, next_path: str = "/desk") -> None:
    page.goto(f"/desk/login?next={next_path}&lang=pl")
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("form.login-form button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def queue_item(page: Page, conversation_id: str):
    return page.locator(f'.queue-item[data-id="{conversation_id}"]')


def open_from_queue(page: Page, conversation_id: str) -> None:
    queue_item(page, conversation_id).locator("a").click()
    page.wait_for_url(f"**/desk/c/{conversation_id}")
    expect(page.locator("#conversation-view")).to_be_visible()


def mark_page(page: Page) -> None:
    """A flag that only survives while the page is not reloaded."""
    page.evaluate("window.__notReloaded = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__notReloaded") is True


def post_from_page(page: Page, path: str, body: dict | None = None, csrf: bool = True) -> tuple[int, dict]:
    """A POST from inside the desk page, as its script would send it (or without the token)."""
    return tuple(
        page.evaluate(
            """async ([path, body, csrf]) => {
                const headers = {"Content-Type": "application/json"};
                if (csrf) headers["X-CSRFToken"] = document.querySelector('meta[name="csrf-token"]').content;
                const response = await fetch(path, {method: "POST", headers, body: JSON.stringify(body || {})});
                return [response.status, await response.json()];
            }""",
            [path, body, csrf],
        )
    )


# -- the texts ------------------------------------------------------------------------------

DESK = ROOT / "handoff" / "desk"
# Keys the script builds from data (`reason_${reason}`...): each known value must have its text.
DYNAMIC = {
    "reason_": ("customer_request", "repeated_misses", "bot_unavailable", "frustration", "out_of_hours"),
    "reason_short_": ("customer_request", "repeated_misses", "bot_unavailable", "frustration", "out_of_hours"),
    "status_": ("bot", "queued", "resolved", "assigned_you", "assigned_other"),
    "role_": ("agent", "supervisor"),
    "language_": ("pl", "en"),
    "language_name_": ("pl", "en"),
    "channel_": ("web",),
}


def test_every_text_of_the_desk_exists_in_polish_and_english():
    import string

    from handoff.desk.texts import TEXTS

    def fields(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    for key, variants in TEXTS.items():
        assert set(variants) == {"pl", "en"} and all(v.strip() for v in variants.values()), key
        assert fields(variants["pl"]) == fields(variants["en"]), key

    sources = [*DESK.glob("static/*.js"), *DESK.glob("templates/desk/*.html")]
    literal = {key for path in sources for key in re.findall(r'\bt\(\s*"(\w+)"', path.read_text())}
    used = {key for key in literal if not key.endswith("_")}  # "role_" ~ role: a prefix, in DYNAMIC
    used |= {prefix + value for prefix, values in DYNAMIC.items() for value in values}
    assert used - TEXTS.keys() == set()


# -- signing in ---------------------------------------------------------------------------


def test_the_login_page_speaks_polish_and_english(browser, hub, problems):
    context = new_context(browser, hub.url)
    page = problems.watch(context.new_page())
    page.goto("/desk/login?lang=pl")
    expect(page.locator("h1")).to_have_text("Logowanie do panelu")
    expect(page.locator("label[for=login-password]")).to_have_text("Hasło")
    assert page.locator("html").get_attribute("lang") == "pl"

    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_have_text("Sign in to the desk")
    expect(page.locator("label[for=login-password]")).to_have_text("Password")
    expect(page.locator("form.login-form button")).to_have_text("Sign in")
    assert page.locator("html").get_attribute("lang") == "en"
    context.close()


def test_a_wrong_password_shows_an_error_and_keeps_the_name(browser, hub, problems):
    context = new_context(browser, hub.url)
    page = problems.watch(context.new_page())
    page.goto("/desk")
    page.wait_for_url("**/desk/login?next=/desk*")
    page.fill("#login-name", "Ola")
    page.fill("#login-password", "not-her-password")
    page.click("form.login-form button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Nieprawidłowa nazwa lub hasło.")
    expect(page.locator("#login-name")).to_have_value("Ola")
    expect(page.locator("#login-password")).to_have_value("")
    assert "/desk/login" in page.url
    context.close()


# -- the queue -------------------------------------------------------------------------------


def test_the_queue_lists_waiting_conversations_and_updates_live(agent_page, hub):
    first = queued_customer(hub, "Moja paczka nie dotarła, a minął już tydzień.")
    page = agent_page("Ola")
    item = queue_item(page, first.id)
    expect(item).to_contain_text("Moja paczka nie dotarła, a minął już tydzień.")
    expect(item.locator(".queue-reason")).to_have_text("Bot niedostępny")
    expect(item.locator("abbr.tag")).to_have_text("PL")
    expect(item).to_contain_text("czat na stronie")
    waited = item.locator(".queue-wait").inner_text()
    assert re.fullmatch(r"\d+ s", waited)
    expect(item.locator(".queue-wait")).not_to_have_text(waited)  # it ticks

    mark_page(page)
    second = queued_customer(hub, "Where is my refund?", language="en")
    expect(queue_item(page, second.id)).to_contain_text("Where is my refund?")
    expect(queue_item(page, second.id).locator("abbr.tag")).to_have_text("EN")
    waiting = page.locator("#queue-waiting .queue-item")
    ids = [waiting.nth(i).get_attribute("data-id") for i in range(waiting.count())]
    assert ids.index(first.id) < ids.index(second.id)  # oldest first
    expect(page.locator("#queue-waiting-count")).to_have_text(str(len(ids)))
    expect(page).to_have_title(f"({len(ids)}) Panel konsultanta")
    assert_not_reloaded(page)


def test_the_queue_can_be_used_with_the_keyboard(agent_page, hub):
    customer = queued_customer(hub, "Czy mogę płacić przy odbiorze?")
    page = agent_page("Ola")
    link = queue_item(page, customer.id).locator("a")
    expect(link).to_be_visible()
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/desk/c/{customer.id}")
    expect(page.locator("#conversation-heading")).to_be_focused()
    expect(page.locator("#transcript")).to_contain_text("Czy mogę płacić przy odbiorze?")
    page.keyboard.press("Tab")  # on from the heading: the first action is taking the conversation
    expect(page.locator("#claim")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#conversation-status")).to_have_text("Prowadzisz tę rozmowę.")
    expect(page.locator("#composer-text")).to_be_focused()


# -- a conversation --------------------------------------------------------------------------


def test_claiming_shows_the_transcript_the_context_and_the_summary(agent_page, hub):
    customer = queued_customer(hub, "Chcę zwrócić sofę, ale nie mam paragonu.")
    page = agent_page("Ola")
    open_from_queue(page, customer.id)
    expect(page.locator("#transcript")).to_contain_text("Chcę zwrócić sofę, ale nie mam paragonu.")
    expect(page.locator("#transcript .role-customer .entry-author").first).to_have_text("Klient")
    expect(page.locator("#context-reason")).to_have_text("Bot był niedostępny")
    expect(page.locator("#context-summary li").first).not_to_be_empty()
    expect(page.locator("#context-customer")).to_contain_text("czat na stronie")
    expect(page.locator("#context-customer")).to_contain_text("polski")
    expect(page.locator("#conversation-status")).to_have_text(
        "Klient czeka na konsultanta. Przejmij rozmowę, aby odpowiedzieć."
    )

    page.click("#claim")
    expect(page.locator("#conversation-status")).to_have_text("Prowadzisz tę rozmowę.")
    expect(page.locator("#claim")).to_be_hidden()
    expect(page.locator("#resolve")).to_be_visible()
    expect(queue_item(page, customer.id)).to_contain_text("prowadzisz Ty")
    expect(page.locator("#queue-active")).to_contain_text("Chcę zwrócić sofę")


def test_a_second_agent_sees_who_has_it_and_cannot_claim_it(agent_page, hub):
    customer = queued_customer(hub, "Pomóżcie, kurier zostawił paczkę u sąsiada.")
    piotr = agent_page("Piotr", path=f"/desk/c/{customer.id}")
    expect(piotr.locator("#claim")).to_be_visible()
    ola = agent_page("Ola", path=f"/desk/c/{customer.id}")
    ola.click("#claim")
    expect(ola.locator("#conversation-status")).to_have_text("Prowadzisz tę rozmowę.")

    # Piotr's desk follows without a reload: who has it, and no way to take it.
    expect(piotr.locator("#conversation-status")).to_have_text("Tę rozmowę prowadzi Ola.")
    expect(piotr.locator("#claim")).to_be_hidden()
    expect(queue_item(piotr, customer.id)).to_contain_text("prowadzi Ola")
    status, body = post_from_page(piotr, f"/desk/api/conversations/{customer.id}/claim")
    assert status == 409 and body["error"]


def test_a_reply_typed_in_the_desk_reaches_the_customer(agent_page, hub):
    customer = queued_customer(hub, "Czy sofa Luna jest dostępna w kolorze zielonym?")
    page = agent_page("Ola", path=f"/desk/c/{customer.id}")
    page.click("#claim")
    box = page.locator("#composer-text")
    box.fill("Dzień dobry, tu Ola.")
    box.press("Shift+Enter")
    box.press_sequentially("Sprawdzam dostępność.")
    expect(box).to_have_value("Dzień dobry, tu Ola.\nSprawdzam dostępność.")
    box.press("Enter")
    expect(box).to_have_value("")
    expect(page.locator("#transcript .role-agent").last).to_contain_text("Sprawdzam dostępność.")
    expect(page.locator("#transcript .role-agent .entry-author").last).to_have_text("Ty")

    seen = customer.wait_for(lambda messages: any(m["role"] == "agent" for m in messages))
    replies = [m["text"] for m in seen if m["role"] == "agent"]
    assert replies == ["Dzień dobry, tu Ola.\nSprawdzam dostępność."]


def test_a_new_customer_message_appears_in_the_open_desk(agent_page, hub):
    customer = queued_customer(hub, "Dzień dobry, mam pytanie o fakturę.")
    page = agent_page("Ola", path=f"/desk/c/{customer.id}")
    expect(page.locator("#transcript")).to_contain_text("mam pytanie o fakturę")
    mark_page(page)
    customer.say("Potrzebuję faktury na firmę, NIP 7781234567.")
    expect(page.locator("#transcript .role-customer").last).to_contain_text(
        "Potrzebuję faktury na firmę, NIP 7781234567."
    )
    expect(queue_item(page, customer.id)).to_contain_text("NIP 7781234567")  # the queue's preview too
    assert_not_reloaded(page)


def test_what_anyone_writes_is_shown_as_text_never_run(agent_page, hub):
    """Customers (messages), agents (notes) and FAQ editors (suggested answers)."""
    script = "<script>window.__x=1</script>"
    customer = queued_customer(hub, script)
    customer.say(HOSTILE)
    page = agent_page("Ola", path=f"/desk/c/{customer.id}")
    transcript = page.locator("#transcript")
    expect(transcript.locator(".entry-text", has_text=script)).to_have_count(1)
    expect(transcript.locator(".entry-text", has_text=HOSTILE)).to_have_count(1)
    expect(queue_item(page, customer.id)).to_contain_text(HOSTILE)
    expect(page.locator("#suggestions .suggestion").first).to_contain_text(f"Edytor {HOSTILE}")

    page.get_by_label("Notatka wewnętrzna", exact=True).check()
    page.fill("#composer-text", f"Uwaga: {HOSTILE}")
    page.press("#composer-text", "Enter")
    expect(transcript.locator(".note .entry-text")).to_have_text(f"Uwaga: {HOSTILE}")
    assert page.locator("#conversation img, #queue img, #conversation script").count() == 0
    assert page.evaluate("typeof window.__x") == "undefined"


def test_a_note_shows_in_the_desk_and_never_to_the_customer(agent_page, hub):
    customer = queued_customer(hub, "Reklamuję krzesło, pękła noga.")
    page = agent_page("Ola", path=f"/desk/c/{customer.id}")
    page.click("#claim")
    expect(page.locator("#conversation-status")).to_have_text("Prowadzisz tę rozmowę.")
    page.get_by_label("Notatka wewnętrzna", exact=True).check()
    expect(page.locator("#send")).to_have_text("Dodaj notatkę")
    page.fill("#composer-text", "Klient stały, zaproponować wymianę bez odsyłania.")
    page.press("#composer-text", "Enter")
    note = page.locator("#transcript .note")
    expect(note).to_contain_text("Klient stały, zaproponować wymianę bez odsyłania.")
    expect(note).to_contain_text("klient jej nie widzi")

    page.reload()  # and it is stored, not just drawn
    expect(page.locator("#transcript .note")).to_contain_text("zaproponować wymianę")
    texts = [m["text"] for m in customer.messages()]
    assert not any("zaproponować wymianę" in text for text in texts)


def test_suggested_answers_can_be_inserted_edited_and_sent(agent_page, hub):
    customer = queued_customer(hub, "Paczka miała być wczoraj, a status się nie zmienia.")
    page = agent_page("Ola", path=f"/desk/c/{customer.id}")
    late, _tracking = _faq_entries(SUGGESTED)
    suggestion = page.locator("#suggestions .suggestion").first
    expect(suggestion).to_contain_text(late["title"])
    expect(suggestion).to_contain_text("dopasowanie 0,82")
    suggestion.get_by_role("button", name=f"Wstaw odpowiedź: {late['title']}").click()
    box = page.locator("#composer-text")
    expect(box).to_be_focused()
    expect(box).to_have_value(late["answer"])
    box.press("Control+Home")
    box.press_sequentially("Dzień dobry! ")
    box.press("Enter")  # replying to a waiting conversation takes it
    expect(page.locator("#conversation-status")).to_have_text("Prowadzisz tę rozmowę.")
    seen = customer.wait_for(lambda messages: any(m["role"] == "agent" for m in messages))
    assert [m["text"] for m in seen if m["role"] == "agent"] == [f"Dzień dobry! {late['answer']}"]


def test_saving_a_reply_as_a_faq_draft(agent_page, hub):
    customer = queued_customer(hub, "Czy wniesiecie szafę na trzecie piętro?")
    page = agent_page("Ola", path=f"/desk/c/{customer.id}")
    page.click("#claim")
    page.fill("#composer-text", "Tak, wniesienie na dowolne piętro kosztuje 49 zł.")
    page.press("#composer-text", "Enter")
    expect(page.locator("#transcript .role-agent")).to_have_count(1)
    page.click("#save-draft")
    expect(page.locator("#composer-feedback")).to_contain_text("Zapisano szkic")
    drafts = list(hub.drafts.rglob("*.md"))
    written = [p.read_text() for p in drafts if "trzecie piętro" in p.read_text()]
    assert len(written) == 1
    assert "49 zł" in written[0]


def test_release_transfer_and_resolve(agent_page, hub):
    customer = queued_customer(hub, "Chcę zmienić adres dostawy.")
    ola = agent_page("Ola", path=f"/desk/c/{customer.id}")
    piotr = agent_page("Piotr")
    ola.click("#claim")
    expect(queue_item(piotr, customer.id)).to_contain_text("prowadzi Ola")
    ola.click("#release")
    expect(ola.locator("#conversation-status")).to_contain_text("Klient czeka na konsultanta.")
    expect(piotr.locator(f'#queue-waiting .queue-item[data-id="{customer.id}"]')).to_be_visible()

    ola.click("#claim")
    expect(ola.locator("#transfer-select option", has_text="Piotr")).to_have_count(1)
    ola.select_option("#transfer-select", label="Piotr: w panelu")
    ola.click("#transfer")
    expect(ola.locator("#conversation-status")).to_have_text("Tę rozmowę prowadzi Piotr.")
    expect(queue_item(piotr, customer.id)).to_contain_text("prowadzisz Ty")

    open_from_queue(piotr, customer.id)
    piotr.click("#resolve")
    expect(piotr.locator("#conversation-status")).to_have_text("Rozmowa zakończona. Klientowi znowu odpowiada bot.")
    expect(queue_item(piotr, customer.id)).to_have_count(0)
    expect(queue_item(ola, customer.id)).to_have_count(0)
    seen = customer.wait_for(lambda messages: messages[-1]["role"] == "system")
    assert "zakończył rozmowę" in seen[-1]["text"]


def test_the_desk_language_is_the_agents_choice(agent_page, hub):
    page = agent_page("Piotr")
    expect(page.locator("#queue-heading")).to_have_text("Kolejka")
    page.select_option("#language-select", "en")
    expect(page.locator("#queue-heading")).to_have_text("Queue")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#logout")).to_have_text("Log out")
    page.select_option("#language-select", "pl")
    expect(page.locator("#queue-heading")).to_have_text("Kolejka")


# -- security ----------------------------------------------------------------------------------


def test_logging_out_ends_the_session(agent_page, hub):
    page = agent_page("Ola")
    page.click("#logout")
    page.wait_for_url("**/desk/login")
    page.goto("/desk")
    page.wait_for_url("**/desk/login?next=/desk")
    expect(page.locator("#login-name")).to_be_visible()
    response = page.request.get("/desk/api/queue")
    assert response.status == 401


def test_a_post_without_the_csrf_token_is_refused(agent_page, hub):
    page = agent_page("Piotr")
    status, body = post_from_page(page, "/desk/api/me", {"language": "pl"}, csrf=False)
    assert status == 400 and "CSRF" in body["error"]
    status, body = post_from_page(page, "/desk/api/me", {"language": "pl"})
    assert status == 200, body


def test_the_desk_sends_a_strict_content_security_policy(agent_page, hub):
    page = agent_page("Ola")
    response = page.request.get("/desk")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.locator("script:not([src])").count() == 0
    assert page.locator("[onclick], [onload], [onerror]").count() == 0


# -- tickets (nobody answers live) -------------------------------------------------------------


def _closed_now() -> str:
    """Business hours that are not now: one hour on a day other than today."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Europe/Warsaw")).weekday()
    return f"{('mon', 'tue')[today == 0]} 08:00-09:00"


def test_a_ticket_shows_the_customers_email(browser, problems, tmp_path):
    env = {"BOT_START_MAX": "0", "BOT_WAIT_MAX": "0", "FAQBOT_SECRET_KEY": secrets.token_hex(32)}
    with running_hub(tmp_path, {**env, "BUSINESS_HOURS": _closed_now()}) as (url, _process):
        create_agent("Ola", f"sqlite:///{tmp_path / 'hub.db'}")
        customer = Customer(url)
        assert customer.say("Chcę zwrócić lampę, ale nie wiem jak.")["status"] == "queued"
        customer.say("Mój adres to anna.nowak@example.pl")
        context = new_context(browser, url)
        page = problems.watch(context.new_page())
        log_in(page, "Ola", next_path=f"/desk/c/{customer.id}")
        expect(queue_item(page, customer.id).locator(".tag-ticket")).to_have_text("Zgłoszenie")
        expect(queue_item(page, customer.id)).to_contain_text("anna.nowak@example.pl")
        banner = page.locator("#ticket-banner")
        expect(banner).to_contain_text("klient czeka na odpowiedź e-mailem na adres")
        expect(banner.get_by_role("link", name="anna.nowak@example.pl")).to_have_attribute(
            "href", "mailto:anna.nowak@example.pl"
        )
        expect(page.locator("#context-reason")).to_have_text("Poza godzinami pracy: klient czeka na e-mail")
        context.close()


# -- the screenshots in the README ----------------------------------------------------------------


def _minutes_ago(minutes: float):
    from datetime import timedelta

    from handoff.models import now

    return now() - timedelta(minutes=minutes)


def seed_conversation(url: str, database_url: str, story: dict) -> str:
    """A conversation as the bot would have left it (what it understood and tried,
    then the hand-over), written straight into the hub's database with the store's own
    functions: the pictures need history a bot-less hub cannot make."""
    from sqlalchemy import select

    from handoff import store
    from handoff.db import Database
    from handoff.models import Agent, Handoff, Message

    customer = Customer(url, story.get("language", "pl"))
    db = Database(database_url)
    start = story["waited"] + 0.5 * len(story["turns"]) + 1
    with db.transaction() as session:
        messages = store.append(session, customer.id, [store.NewMessage(**turn) for turn in story["turns"]])
        for index, message in enumerate(messages):
            message.created_at = _minutes_ago(start - 0.5 * index)
        store.enqueue(session, customer.id, story["reason"])
        conversation = store.get(session, customer.id)
        conversation.created_at = _minutes_ago(start + 0.5)
        conversation.queued_at = _minutes_ago(story["waited"])
        conversation.ticket = bool(story.get("email"))
        conversation.contact_email = story.get("email")
        if story.get("agent"):
            conversation.status = "assigned"
            conversation.agent_id = session.scalar(select(Agent.id).where(Agent.name == story["agent"]))
            handoff = session.scalar(select(Handoff).where(Handoff.conversation_id == customer.id))
            handoff.claimed_at, handoff.claimed_by = _minutes_ago(story["waited"] - 1), conversation.agent_id
        session.flush()
        assert session.scalar(select(Message.id).where(Message.conversation_id == customer.id)) is not None
    db.dispose()
    return customer.id


def _customer(text: str, intent: str | None = None, confidence: float = 0.0) -> dict:
    meta = {"nlu": {"intent": intent, "confidence": confidence, "ranking": []}} if intent else None
    return {"role": "customer", "text": text, "meta": meta}


def _bot(text: str, query: str, decision: str, candidates: list[tuple[str, str, float]], buttons=()) -> dict:
    retrieval = {
        "query": query,
        "language": "pl",
        "decision": decision,
        "candidates": [{"id": i, "title": title, "score": score} for i, title, score in candidates],
        "thresholds": {"answer": 0.62, "margin": 0.05, "clarify": 0.4},
    }
    return {
        "role": "bot",
        "text": text,
        "buttons": [{"title": b, "payload": f"/x{n}"} for n, b in enumerate(buttons)] or None,
        "meta": {"retrieval": retrieval},
    }


SOFA = {
    "reason": "repeated_misses",
    "waited": 6.2,
    "turns": [
        _customer("Dzień dobry, zamówiłam sofę Luna trzy tygodnie temu i nadal jej nie ma", "ask_question", 0.93),
        _bot(
            "Nie jestem pewien, o co dokładnie pytasz. Czy chodzi o jedno z tych pytań?",
            "Dzień dobry, zamówiłam sofę Luna trzy tygodnie temu i nadal jej nie ma",
            "clarify",
            [
                ("tracking-parcel-late", "Paczka się spóźnia – co mogę zrobić?", 0.47),
                ("delivery-large-items", "Jak wygląda dostawa mebli i dużych produktów?", 0.44),
                ("delivery-time", "Jak długo czeka się na dostawę?", 0.41),
            ],
            buttons=("Paczka się spóźnia – co mogę zrobić?", "Jak wygląda dostawa mebli?", "Żadne z tych"),
        ),
        _customer("żadne z tych, kurier miał zadzwonić dzień przed dostawą i cisza", "ask_question", 0.71),
        _bot(
            "Nie udało mi się znaleźć odpowiedzi, więc przekazuję rozmowę konsultantowi.",
            "żadne z tych, kurier miał zadzwonić dzień przed dostawą i cisza",
            "fallback",
            [
                ("delivery-nobody-home", "Co jeśli nie będzie mnie w domu, gdy przyjedzie kurier?", 0.33),
                ("delivery-chosen-day", "Czy mogę wybrać dzień dostawy?", 0.29),
            ],
        ),
        {"role": "system", "text": "Jesteś 1. w kolejce do konsultanta, który odpowie tutaj, w tej rozmowie."},
        _customer("Numer zamówienia DM-4821337"),
    ],
}

OTHERS = [
    {
        "reason": "customer_request",
        "waited": 3.4,
        "turns": [_customer("Chcę porozmawiać z konsultantem w sprawie faktury na firmę", "request_human", 0.96)],
    },
    {
        "reason": "bot_unavailable",
        "waited": 1.8,
        "language": "en",
        "turns": [_customer("Hi, can I change the delivery address for order DM-4822010?")],
    },
    {
        "reason": "no_agent_online",
        "waited": 48,
        "email": "marek.wisniewski@example.pl",
        "turns": [_customer("Szafa przyszła z pękniętymi drzwiami, co teraz?", "ask_question", 0.88)],
    },
    {
        "reason": "frustration",
        "waited": 9,
        "agent": "Piotr",
        "turns": [_customer("To już trzecia wiadomość i dalej nikt mi nie pomógł!!!", "ask_question", 0.64)],
    },
]


def test_screenshots_of_the_desk(browser, problems, tmp_path):
    """docs/screenshots/desk-queue.png and desk-conversation.png, at 1280x800, of a desk
    with a realistic queue; the test checks what the pictures are meant to show."""
    env = {
        "BOT_START_MAX": "0",
        "BOT_WAIT_MAX": "0",
        "FAQBOT_SECRET_KEY": secrets.token_hex(32),
        "PRESENCE_TIMEOUT": "3600",
        "FAQBOT_DRAFTS_DIR": str(tmp_path / "drafts"),
    }
    with (
        stand_in_action_server() as actions_url,
        running_hub(tmp_path, {**env, "ACTIONS_URL": actions_url}) as (
            url,
            _process,
        ),
    ):
        database_url = f"sqlite:///{tmp_path / 'hub.db'}"
        for name in AGENTS:
            create_agent(name, database_url)
        sofa = seed_conversation(url, database_url, SOFA)
        for story in OTHERS:
            seed_conversation(url, database_url, story)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

        context = new_context(browser, url)
        page = problems.watch(context.new_page())
        log_in(page, "Ola")
        expect(page.locator("#queue-waiting .queue-item")).to_have_count(4)
        expect(page.locator("#queue-active .queue-item")).to_have_count(1)
        page.mouse.move(0, 0)
        page.screenshot(path=str(SCREENSHOTS / "desk-queue.png"))

        open_from_queue(page, sofa)
        page.click("#claim")
        expect(page.locator("#conversation-status")).to_have_text("Prowadzisz tę rozmowę.")
        expect(page.locator("#suggestions .suggestion")).to_have_count(2)
        page.get_by_label("Notatka wewnętrzna", exact=True).check()
        page.fill("#composer-text", "Sprawdziłam u przewoźnika: sofa czeka w magazynie w Poznaniu.")
        page.press("#composer-text", "Enter")
        expect(page.locator("#transcript .note")).to_have_count(1)
        page.get_by_label("Odpowiedź do klienta", exact=True).check()
        page.locator("#suggestions .insert").first.click()
        page.locator("#composer-text").press("Control+Home")
        page.locator("#composer-text").press_sequentially("Dzień dobry, tu Ola. ")
        page.locator("#composer-text").evaluate("box => box.scrollTo(0, 0)")  # the start of the reply in view
        page.mouse.move(0, 0)
        page.screenshot(path=str(SCREENSHOTS / "desk-conversation.png"))
        context.close()


def test_the_customers_earlier_conversations_are_in_view(agent_page, hub):
    """A returning widget visitor (the same `visitor` token): the agent sees what they
    asked before, from the same customer record."""
    first = requests.post(f"{hub.url}/api/conversations", json={"language": "pl"}, timeout=10).json()
    headers = {"Authorization": f"Bearer {first['token']}"}
    requests.post(
        f"{hub.url}/api/conversations/{first['id']}/messages", json={"text": "Czy macie sofę Luna?"}, headers=headers
    )
    again = requests.post(f"{hub.url}/api/conversations", json={"visitor": first["visitor"]}, timeout=10).json()
    assert again["visitor"] == first["visitor"]
    headers = {"Authorization": f"Bearer {again['token']}"}
    requests.post(
        f"{hub.url}/api/conversations/{again['id']}/messages", json={"text": "Gdzie jest moja sofa?"}, headers=headers
    )
    page = agent_page("Ola", path=f"/desk/c/{again['id']}")
    earlier = page.locator("#context-customer .earlier li")
    expect(earlier).to_have_count(1)
    expect(earlier).to_contain_text("Czy macie sofę Luna?")
    expect(earlier.locator("a")).to_have_attribute("href", f"/desk/c/{first['id']}")
