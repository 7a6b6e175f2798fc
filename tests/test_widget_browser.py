"""The website widget in Debian's chromium, on the demo shop page at `/`, against the whole
stack: Rasa, the action server with the model and the FAQ, the hub under gunicorn.

A customer asks, gets an answer with its source, gets clarification buttons and presses
one, reloads the page and finds the history, asks for a person and sees the place in the
queue; an agent (the bearer-token API) replies, which arrives live with the agent's name,
and resolves; the customer rates with a button. Also: nothing a customer writes runs as
script, the widget works on a phone-sized screen and from the keyboard, and it comes
back by itself after the network drops, without losing or doubling a message.
"""

from __future__ import annotations

import gzip
import re
import time

import pytest
import requests
from playwright.sync_api import Page, expect

from scripts.stack import Stack, free_port

from .browser import chromium, new_context
from .conftest import ROOT
from .test_e2e import Agent, Running, _prepare

pytestmark = pytest.mark.e2e

SCREENSHOT = ROOT / "docs" / "screenshots" / "widget.png"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("widget")
    env, database_url = _prepare(tmp, "widget")
    stack = Stack(hub_port=free_port(), env=env, log_dir=tmp / "logs").start()
    yield Running(stack, tmp / "widget-faq", database_url)
    stack.stop()


@pytest.fixture(scope="module")
def agent(running) -> Agent:
    return Agent(running, "Ola")


def open_shop(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Spokojne rzeczy do spokojnego domu")).to_be_visible()
    launcher = page.locator("#faqbot-widget .launcher")
    expect(launcher).to_be_visible()
    launcher.click()
    expect(page.locator("#faqbot-widget .panel")).to_be_visible()


def say(page: Page, text: str) -> None:
    box = page.locator("#faqbot-widget .input")
    box.fill(text)
    box.press("Enter")


def conversation_id(page: Page, url: str) -> str:
    stored = page.evaluate("key => JSON.parse(localStorage.getItem(key))", f"faqbot-widget:{url}")
    return stored["id"]


def messages(page: Page, role: str):
    return page.locator(f"#faqbot-widget .transcript .msg.role-{role}")


def test_the_widget_files_and_the_demo_page(running):
    script = requests.get(f"{running.url}/widget/widget.js", timeout=10)
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]
    assert script.headers["Access-Control-Allow-Origin"] == "*" and "max-age" in script.headers["Cache-Control"]
    css = requests.get(f"{running.url}/widget/widget.css", timeout=10)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert len(gzip.compress(script.content)) < 12_000 and len(gzip.compress(css.content)) < 6_000
    assert requests.get(f"{running.url}/widget/pages.py", timeout=10).status_code == 404

    page = requests.get(running.url + "/", timeout=10)
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
    assert f'data-hub="{running.url}"' in page.text and "<script>" not in page.text


def test_a_customer_from_question_to_rating(running, agent, problems):
    with chromium() as browser:
        context = new_context(browser, running.url)
        page = problems.watch(context.new_page())
        open_shop(page)
        expect(page.locator("#faqbot-widget .title")).to_have_text("Pomoc Domowo.pl")

        say(page, "jak zwrócić towar?")
        expect(messages(page, "customer").last).to_contain_text("jak zwrócić towar?")
        answer = messages(page, "bot").last
        expect(answer.locator(".source")).to_contain_text("Źródło:")
        expect(answer.locator(".source")).to_contain_text("zwr")
        assert answer.locator(".body p").count() >= 1  # markdown, rendered

        say(page, "chce zmienic adres")
        expect(messages(page, "bot").last.locator(".buttons .choice").first).to_be_visible()
        choices = messages(page, "bot").nth(messages(page, "bot").count() - 1).locator(".buttons .choice")
        assert choices.count() >= 2
        chosen = choices.first.text_content()
        choices.first.click()
        expect(messages(page, "customer").last).to_have_text(re.compile(re.escape(chosen)))
        expect(messages(page, "bot").last.locator(".source")).to_contain_text(chosen)
        expect(choices.first).to_be_disabled()
        before_reload = page.locator("#faqbot-widget .transcript .msg:not(.welcome)").count()

        page.reload()
        page.locator("#faqbot-widget .launcher").click()
        history = page.locator("#faqbot-widget .transcript")
        expect(history).to_contain_text("jak zwrócić towar?")
        expect(history).to_contain_text(chosen)
        expect(page.locator("#faqbot-widget .transcript .msg:not(.welcome)")).to_have_count(before_reload)

        say(page, "chcę rozmawiać z konsultantem")
        status = page.locator("#faqbot-widget .status")
        expect(status).to_contain_text("1. w kolejce")

        conversation = conversation_id(page, running.url)
        agent.post(f"/conversations/{conversation}/claim")
        agent.post(
            f"/conversations/{conversation}/messages",
            {"text": "Dzień dobry, tu Ola.\nJuż sprawdzam adres."},
            status=201,
        )
        reply = messages(page, "agent").last
        expect(reply.locator(".who")).to_have_text("Ola")
        expect(reply.locator(".body")).to_contain_text("Już sprawdzam adres.")
        assert reply.locator(".body br").count() == 1  # line breaks kept, as text
        expect(status).to_contain_text("Ola")
        page.locator("#faqbot-widget .input").fill("Dziękuję!")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))

        agent.post(f"/conversations/{conversation}/resolve")
        five = messages(page, "bot").last.locator(".choice", has_text="5")
        expect(five).to_be_visible(timeout=30_000)
        five.click()
        expect(messages(page, "customer").last).to_have_text(re.compile("5"))
        expect(status).to_be_hidden()
        context.close()


def test_what_a_customer_writes_is_text(running, problems):
    hostile = '<img src=x onerror="window.__x=1">'
    with chromium() as browser:
        page = problems.watch(new_context(browser, running.url).new_page())
        open_shop(page)
        say(page, hostile)
        # A reply, not the welcome line that is there from the start: reloading before the
        # hub has stored the message would abort its request.
        expect(page.locator("#faqbot-widget .transcript .msg.role-bot:not(.welcome)").last).to_be_visible()
        page.reload()
        page.locator("#faqbot-widget .launcher").click()
        mine = messages(page, "customer").first
        # The history is re-read after the reload; on a loaded machine (the whole suite on
        # 2 cores) that once took longer than Playwright's default 5 s.
        expect(mine.locator(".body")).to_have_text(hostile, timeout=20_000)
        assert mine.locator("img").count() == 0
        assert page.evaluate("() => window.__x") is None
        visitor = page.evaluate("key => localStorage.getItem(key)", f"faqbot-widget-visitor:{running.url}")
        assert visitor and len(visitor) >= 40  # the next conversation in this browser: the same customer


@pytest.mark.parametrize(
    "the_hub_had_it, history_last", [(False, False), (True, False), (True, True)], ids=["lost", "had", "had-late"]
)
def test_a_reload_mid_send_loses_nothing_and_doubles_nothing(running, problems, the_hub_had_it, history_last):
    """The customer reloads while a message is on its way. Either the hub never got it
    (the request held, then cut short) or it got it and answered, but the page never
    heard: after the reload the message is there once, with its answer once, whether the
    history or the answer to the message sent again comes back first."""
    held, late = [], []

    def hold(route):  # the first message only; after the reload, everything goes through
        if history_last and held and route.request.method == "GET" and "after=0" in route.request.url and not late:
            late.append(route)  # the history, held until the message sent again is answered
            return
        if route.request.method != "POST" or held:
            route.continue_()
            return
        if the_hub_had_it:
            route.fetch()  # the hub stores and answers it; the page never hears back
        held.append(route)  # never answered: the reload cuts it short

    question = "jak zwrocic towar" if the_hub_had_it else "ile kosztuje dostawa kurierem"
    with chromium() as browser:
        page = problems.watch(new_context(browser, running.url).new_page())
        page.route("**/api/conversations/*/messages*", hold)
        open_shop(page)
        say(page, question)
        for _ in range(200):
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the message was never sent"
        if history_last:
            with page.expect_response(lambda r: r.request.method == "POST" and "/messages" in r.url):
                page.reload()
            assert late, "the history was not asked for"
            late[0].continue_()
        else:
            page.reload()
        page.locator("#faqbot-widget .launcher").click()
        replies = page.locator("#faqbot-widget .transcript .msg.role-bot:not(.welcome)")
        expect(replies.first).to_be_visible(timeout=20_000)
        page.wait_for_timeout(1500)  # a second copy would arrive by now
        expect(messages(page, "customer")).to_have_count(1)
        expect(messages(page, "customer").first).to_contain_text(question)
        expect(replies).to_have_count(1)
        stored = requests.get(
            f"{running.url}/api/conversations/{conversation_id(page, running.url)}/messages?after=0",
            headers={"Authorization": "Bearer " + stored_token(page, running.url)},
            timeout=10,
        ).json()["messages"]
        assert [m["text"] for m in stored if m["role"] == "customer"] == [question]
        assert page.evaluate("key => localStorage.getItem(key)", f"faqbot-widget-outbox:{running.url}") is None


def stored_token(page: Page, url: str) -> str:
    stored = page.evaluate("key => JSON.parse(localStorage.getItem(key))", f"faqbot-widget:{url}")
    return stored["token"]


def test_the_page_and_the_widget_keep_their_own_styles(running, problems):
    background = "el => getComputedStyle(el).backgroundColor"
    with chromium() as browser:
        page = problems.watch(new_context(browser, running.url).new_page())
        open_shop(page)  # its stylesheet makes every button square and brown
        assert page.locator("#faqbot-widget .send").evaluate(background) == "rgb(31, 111, 92)"
        assert page.locator("#faqbot-widget .launcher").evaluate("el => getComputedStyle(el).borderRadius") == "50%"
        assert page.locator("button.buy").first.evaluate(background) == "rgb(138, 90, 59)"
        assert page.locator("body").evaluate("el => getComputedStyle(el).fontFamily").startswith("Georgia")


def test_a_phone_and_the_keyboard(running, problems):
    with chromium() as browser:
        context = browser.new_context(base_url=running.url, viewport=PHONE, locale="en-GB", has_touch=True)
        page = problems.watch(context.new_page())
        page.goto("/")
        page.keyboard.press("Tab")
        for _ in range(20):  # Tab through the shop's links to the launcher
            if page.evaluate("() => document.activeElement && document.activeElement.id") == "faqbot-widget":
                break
            page.keyboard.press("Tab")
        launcher = page.locator("#faqbot-widget .launcher")
        expect(launcher).to_be_focused()
        expect(launcher).to_have_attribute("aria-label", "Open the help chat")  # English: the browser's language
        page.keyboard.press("Enter")
        panel = page.locator("#faqbot-widget .panel")
        expect(panel).to_be_visible()
        box = panel.bounding_box()
        assert box["width"] == PHONE["width"] and box["height"] == PHONE["height"]  # the whole screen
        expect(page.locator("#faqbot-widget .input")).to_be_focused()
        say(page, "how can I return an item?")
        expect(messages(page, "bot").last.locator(".source")).to_contain_text("Source:")
        send = page.locator("#faqbot-widget .send").bounding_box()
        assert send["x"] + send["width"] <= PHONE["width"] and send["y"] + send["height"] <= PHONE["height"]
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(launcher).to_be_focused()
        context.close()


def test_reconnects_after_the_network_drops(running, agent, problems):
    with chromium() as browser:
        context = new_context(browser, running.url)
        page = problems.watch(context.new_page())
        open_shop(page)
        say(page, "chcę rozmawiać z konsultantem")
        expect(page.locator("#faqbot-widget .status")).to_contain_text("w kolejce")
        conversation = conversation_id(page, running.url)
        agent.post(f"/conversations/{conversation}/claim")
        agent.post(f"/conversations/{conversation}/messages", {"text": "Pierwsza"}, status=201)
        expect(messages(page, "agent")).to_have_count(1)

        context.set_offline(True)
        expect(page.locator("#faqbot-widget .connection")).to_be_visible(timeout=40_000)
        agent.post(f"/conversations/{conversation}/messages", {"text": "Druga, w czasie przerwy"}, status=201)
        time.sleep(1)
        context.set_offline(False)
        expect(messages(page, "agent")).to_have_count(2, timeout=40_000)
        expect(page.locator("#faqbot-widget .connection")).to_be_hidden()
        agent.post(f"/conversations/{conversation}/messages", {"text": "Trzecia"}, status=201)
        expect(messages(page, "agent")).to_have_count(3)

        # A drop the browser does not notice (no "offline" event): the requests just fail.
        page.route(re.compile(r".*/messages\?after=.*"), lambda route: route.abort("connectionreset"))
        agent.post(f"/conversations/{conversation}/messages", {"text": "Czwarta"}, status=201)  # the open poll
        expect(page.locator("#faqbot-widget .connection")).to_be_visible()  # the next one fails
        agent.post(f"/conversations/{conversation}/messages", {"text": "Piąta, w czasie awarii"}, status=201)
        time.sleep(2)  # a few failed attempts, backing off
        page.unroute(re.compile(r".*/messages\?after=.*"))
        expect(messages(page, "agent")).to_have_count(5, timeout=40_000)
        expect(page.locator("#faqbot-widget .connection")).to_be_hidden()
        expect(messages(page, "agent").locator(".body")).to_have_text(
            ["Pierwsza", "Druga, w czasie przerwy", "Trzecia", "Czwarta", "Piąta, w czasie awarii"]
        )

        page.locator("#faqbot-widget .input").press("Escape")  # closed, a reply still arrives: counted
        agent.post(f"/conversations/{conversation}/messages", {"text": "Szósta"}, status=201)
        badge = page.locator("#faqbot-widget .badge")
        expect(badge).to_have_text("1")
        page.locator("#faqbot-widget .launcher").click()
        expect(badge).to_be_hidden()
        expect(messages(page, "agent")).to_have_count(6)
        context.close()


def test_the_settings_of_the_script_tag(running, problems):
    """Another shop's page: its own title, language and colour in data attributes."""
    shop = (
        "<!doctype html><html><head><title>Sklep</title></head><body><h1>Inny sklep</h1>"
        f'<script src="{running.url}/widget/widget.js" data-hub="{running.url}" data-language="en" '
        'data-title="Ask us" data-color="#7b2cbf"></script></body></html>'
    )
    with chromium() as browser:
        page = problems.watch(new_context(browser, running.url, locale="pl-PL").new_page())
        page.route(f"{running.url}/another-shop", lambda route: route.fulfill(content_type="text/html", body=shop))
        page.goto("/another-shop")
        launcher = page.locator("#faqbot-widget .launcher")
        expect(launcher).to_have_attribute("aria-label", "Open the help chat")  # data-language beats the browser
        assert launcher.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(123, 44, 191)"
        launcher.click()
        expect(page.locator("#faqbot-widget .title")).to_have_text("Ask us")
        expect(page.locator("#faqbot-widget .panel")).to_have_attribute("aria-label", "Ask us")
