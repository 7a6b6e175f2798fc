"""The reports page in a real browser (Debian's chromium via Playwright) against a real hub
(gunicorn, SQLite) holding a month of history: a supervisor logs in, reads the charts,
drives the filter form with the keyboard alone, downloads a CSV, and the README's
screenshot (docs/screenshots/reports.png) is taken here.

The history is the demo's (handoff/reports/demo.py, `faqbot demo seed`: a bot-less hub
cannot make a month of bot answers), with the small known history of
tests/test_reports_page.py on top of it (a <script> comment, a formula).
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from handoff.db import Database
from handoff.reports import demo
from scripts.bench_desk import create_agent
from scripts.bench_longpoll import running_hub

from .browser import new_context
from .conftest import ROOT
from .test_reports_page import FORMULA, HOSTILE, at, grouping_action_server, seed

PASSWORD = "spokojny-raport-2024"
SUPERVISOR = "Kierowniczka"
SCREENSHOTS = ROOT / "docs" / "screenshots"
DAYS = 30


# -- the hub and the browser ------------------------------------------------------------------


# The demo's gap questions by topic (the one-offs each on their own).
TOPICS = {
    text: topic
    for topic, by_language in demo.GAP_GROUPS.items()
    if topic != "one-offs"
    for texts in by_language.values()
    for text in texts
}


@dataclass
class Hub:
    url: str
    drafts: Path


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[Hub]:
    """A hub on a month of demo history, its knowledge gaps grouped by an action server
    that knows the demo's topics (the model's grouping is tests/test_gaps.py's)."""
    folder = tmp_path_factory.mktemp("reports-browser")
    with grouping_action_server([], group_of=lambda text: TOPICS.get(text, text)) as actions_url:
        env = {
            "BOT_START_MAX": "0",
            "BOT_WAIT_MAX": "0",
            "FAQBOT_SECRET_KEY": secrets.token_hex(32),
            "FAQBOT_DRAFTS_DIR": str(folder / "drafts"),
            "PRESENCE_TIMEOUT": "3600",
            "ACTIONS_URL": actions_url,
        }
        with running_hub(folder, env) as (url, _process):
            database_url = f"sqlite:///{folder / 'hub.db'}"
            create_agent(SUPERVISOR, database_url, PASSWORD, role="supervisor")
            db = Database(database_url)
            demo.seed(db, conversations=700, days=DAYS)  # what `faqbot demo seed` writes
            seed(db)  # and the known history: a <script> comment and a formula among others
            db.dispose()
            yield Hub(url, folder / "drafts")


@pytest.fixture
def reports(browser, hub, problems) -> Iterator[Page]:
    """The supervisor's reports page, after logging in through the desk's form."""
    context = new_context(browser, hub.url)
    page = problems.watch(context.new_page())
    page.goto("/desk/reports?days=30")
    expect(page).to_have_url(f"{hub.url}/desk/login?next=/desk/reports%3Fdays%3D30")
    page.fill("#login-name", SUPERVISOR)
    page.fill("#login-password", PASSWORD)
    page.click("form.login-form button[type=submit]")
    page.wait_for_url("**/desk/reports?days=30")
    yield page
    context.close()


def tab_to(page: Page, selector: str, most: int = 4) -> None:
    """Tab until `selector` has the focus: a date field takes a Tab per part (day, month,
    year), as a keyboard user meets it."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
    raise AssertionError(f"{most} Tabs did not reach {selector}")


def kpi(page: Page, name: str) -> str:
    return page.locator(f"#kpi-{name} .kpi-value").inner_text()


# -- the tests ----------------------------------------------------------------------------------------


def test_the_page_shows_its_figures_and_svg_charts(reports):
    page = reports
    expect(page.locator("h1.brand")).to_contain_text("Raporty")
    expect(page).to_have_title("Raporty · Panel konsultanta")
    assert int(kpi(page, "conversations").replace("\u00a0", "")) > 400
    for chart in ("chart-volume", "chart-waits", "chart-csat", "chart-reasons"):
        svg = page.locator(f"svg#{chart}")
        expect(svg).to_be_visible()
        assert svg.get_attribute("role") == "img"
        assert page.locator(f"#{chart}-title").text_content()
        box = svg.bounding_box()
        assert box["width"] > 300 and box["height"] > 100, (chart, box)
    expect(page.locator("#chart-volume text").first).to_be_visible()
    expect(page.locator("#kpi-nps")).to_be_visible()  # the history has NPS answers
    comment = page.locator("#comments-table td.comment", has_text="alert")
    expect(comment).to_have_text(HOSTILE)  # shown as text, never run
    assert page.evaluate("() => document.querySelectorAll('#comments-table script').length") == 0


def test_the_filter_form_works_with_the_keyboard_alone(reports):
    page = reports
    everything = kpi(page, "conversations")
    page.locator("#filter-from").focus()
    tab_to(page, "#filter-to")
    tab_to(page, "#filter-channel")
    page.keyboard.press("ArrowDown")  # from "all" to the website chat
    tab_to(page, "#filter-language", most=1)
    tab_to(page, "#filter-apply", most=1)
    page.keyboard.press("Enter")
    page.wait_for_url("**channel=web**")
    expect(page.locator("#filter-channel")).to_have_value("web")
    expect(page.locator("#filter-from")).to_have_value((at(0).date() - timedelta(days=29)).isoformat())
    web_only = kpi(page, "conversations")
    assert int(web_only.replace("\u00a0", "")) < int(everything.replace("\u00a0", ""))

    page.locator("#filter-apply").focus()
    page.keyboard.press("Tab")  # the quick choices follow the form's button
    expect(page.locator(".quick-choice").first).to_be_focused()
    page.keyboard.press("Space")
    page.wait_for_url("**days=7**")
    expect(page.locator('.quick-choice[aria-pressed="true"]')).to_have_text("Ostatnie 7 dni")
    expect(page.locator("#filter-channel")).to_have_value("web")  # the other filters stay
    first = page.locator("#filter-from").input_value()
    assert first == (at(0).date() - timedelta(days=6)).isoformat()


def test_a_table_downloads_as_csv(reports, tmp_path):
    page = reports
    link = page.locator("#comments a.csv-link")
    expect(link).to_have_accessible_name("Pobierz CSV: komentarze")
    with page.expect_download() as info:
        link.click()
    download = info.value
    first = (at(0).date() - timedelta(days=29)).isoformat()
    assert download.suggested_filename == f"report-comments-{first}-{at(0).date().isoformat()}.csv"
    target = Path(tmp_path / download.suggested_filename)
    download.save_as(target)
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["at", "score", "who", "conversation_id", "comment"]
    comments = [row[4] for row in rows[1:]]
    assert "'" + FORMULA in comments and FORMULA not in comments
    assert HOSTILE in comments  # CSV is not HTML: the text as written
    assert len(comments) > 3


def test_supervisors_reach_the_reports_from_the_desk(reports):
    page = reports
    page.goto("/desk")
    link = page.locator("#reports-link")
    expect(link).to_have_text("Raporty")
    link.click()
    page.wait_for_url("**/desk/reports")
    expect(page.locator("#kpi-conversations")).to_be_visible()
    page.get_by_role("link", name="Wróć do panelu").click()
    page.wait_for_url("**/desk")


def test_a_knowledge_gap_becomes_a_faq_draft_in_one_click(reports, hub):
    page = reports
    gap = page.locator("#gaps-list .gap").first
    question = gap.locator(".gap-question").inner_text()
    expect(gap.locator(".gap-examples li").first).to_be_visible()  # other phrasings of it
    button = gap.get_by_role("button", name=f"Utwórz szkic FAQ: {question}")
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/desk/reports?**#gaps")
    notice = page.locator("#notice")
    expect(notice).to_contain_text("Zapisano szkic FAQ:")
    (draft,) = hub.drafts.glob("*.md")
    assert notice.inner_text().endswith(draft.name)
    assert question in draft.read_text(encoding="utf-8")


def test_screenshot_of_the_reports(reports):
    """docs/screenshots/reports.png at 1280x1000: the filters, the headline numbers and
    the first charts, as a supervisor first sees them."""
    page = reports
    page.set_viewport_size({"width": 1280, "height": 1000})
    expect(page.locator("svg#chart-volume")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)
    page.screenshot(path=str(SCREENSHOTS / "reports.png"))
    assert (SCREENSHOTS / "reports.png").stat().st_size > 20_000
