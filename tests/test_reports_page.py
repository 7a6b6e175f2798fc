"""The desk's reports page (handoff/reports/pages.py) through Flask's test client, on a
real database (SQLite and PostgreSQL) holding a small history written with the models,
whose figures are known: who may see it, what the filters change, the CSV files (headers,
content, no formulas), escaping of what customers wrote, and FAQ drafts from gaps."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from handoff.models import Agent, Conversation, Handoff, Message, Rating
from handoff.reports import charts, csv_export, pages
from handoff.reports.model import Cluster
from tests.desk_client import csrf_token, logged_in, make_desk_app
from tests.stand_in import JsonHandler, StandIn

HOSTILE = "<script>alert('x')</script>"
FORMULA = '=HYPERLINK("http://evil.example","klik")'
TODAY = datetime.now(UTC).date()


def at(days_ago: int, hour: int = 10, seconds: float = 0) -> datetime:
    """A moment `days_ago` UTC days before today, at `hour`."""
    day = TODAY - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(seconds=seconds)


def conversation(session, *, days_ago: int, channel: str = "web", language: str = "pl", **values) -> str:
    cid = str(uuid.uuid4())
    created = at(days_ago)
    session.add(
        Conversation(
            id=cid, token_hash=uuid.uuid4().hex, channel=channel, language=language, created_at=created, **values
        )
    )
    session.flush()
    return cid


def message(session, cid: str, seq: int, role: str, text: str, when: datetime, **facts) -> None:
    session.add(Message(conversation_id=cid, seq=seq, role=role, text=text, created_at=when, **facts))


def seed(db) -> dict[str, int]:
    """Four conversations; three of them in the last 7 days:

    - web, pl, 2 days ago: the bot answered (FAQ "zwroty", 400 ms), rated 5 "Super";
    - web, pl, 2 days ago: handed over (customer_request), Zofia claimed it after 60 s,
      replied after 90 s, resolved after 600 s; rated 2 with a <script> comment;
    - messenger, en, 1 day ago: the bot answered (FAQ "shipping", 800 ms), rated 4 with
      a comment that is a spreadsheet formula;
    - messenger, en, 10 days ago: handed over (repeated_misses), never claimed.
    """
    with db.transaction() as session:
        ola = Agent(name="Zofia", token_hash=uuid.uuid4().hex, role="agent")
        session.add(ola)
        session.flush()
        bot_one = conversation(session, days_ago=2, status="bot")
        message(session, bot_one, 1, "customer", "Jak zwrócić towar?", at(2))
        source = {"id": "zwroty", "title": "Jak zwrócić towar?"}
        answer = {"reply_ms": 400, "decision": "answer", "faq_id": "zwroty", "source": source}
        message(session, bot_one, 2, "bot", "Tak:", at(2, seconds=1), **answer)
        session.add(Rating(conversation_id=bot_one, score=5, comment="Super, dziękuję", created_at=at(2, 11)))

        handed = conversation(session, days_ago=2, status="resolved", handed_over=True)
        message(session, handed, 1, "customer", "Chcę z człowiekiem", at(2))
        session.add(
            Handoff(
                conversation_id=handed,
                reason="customer_request",
                created_at=at(2),
                claimed_at=at(2, seconds=60),
                claimed_by=ola.id,
                first_response_at=at(2, seconds=90),
                resolved_at=at(2, seconds=660),
                resolved_by=ola.id,
            )
        )
        session.add(Rating(conversation_id=handed, agent_id=ola.id, score=2, comment=HOSTILE, created_at=at(2, 12)))

        english = conversation(session, days_ago=1, channel="messenger", language="en", status="bot")
        message(session, english, 1, "customer", "Shipping?", at(1))
        answer = {"reply_ms": 800, "decision": "answer", "faq_id": "shipping"}
        message(session, english, 2, "bot", "Two days.", at(1, seconds=1), **answer)
        session.add(Rating(conversation_id=english, score=4, comment=FORMULA, created_at=at(1, 11)))

        old = conversation(session, days_ago=10, channel="messenger", language="en", status="queued", handed_over=True)
        message(session, old, 1, "customer", "???", at(10))
        session.add(Handoff(conversation_id=old, reason="repeated_misses", created_at=at(10)))
    return {"ola": ola.id}


@pytest.fixture
def app(database_url, tmp_path):
    application = make_desk_app(database_url, tmp_path)
    seed(application.extensions["faqbot"].db)
    yield application
    application.extensions["faqbot"].db.dispose()


@pytest.fixture
def supervisor(app):
    return logged_in(app, "Szefowa", role="supervisor")


@pytest.fixture
def no_gaps(monkeypatch):
    """The knowledge gaps need the embedding model: tests of the figures leave them out."""
    monkeypatch.setattr(pages, "load_clusters", lambda filters: [])


def html(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def read_csv(response) -> list[list[str]]:
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")  # so that Excel reads UTF-8
    return list(csv.reader(io.StringIO(body[1:])))


# -- who may see it -------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login(app):
    client = app.test_client()
    response = client.get("/desk/reports?days=7")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/desk/login?next=/desk/reports")
    assert client.get("/desk/reports/comments.csv").status_code == 303
    refused = client.get("/desk/reports/report.json")  # a script has no login form to follow
    assert refused.status_code == 401 and refused.is_json and "log in" in refused.json["error"]


def test_agents_who_are_not_supervisors_get_403(app, no_gaps):
    agent = logged_in(app, "Piotr")
    response = agent.get("/desk/reports")
    assert response.status_code == 403
    assert "koordynatorzy" in response.get_data(as_text=True)
    response = agent.get("/desk/reports/comments.csv")
    assert response.status_code == 403
    assert response.get_json() == {"error": "the reports are for supervisors"}
    assert agent.get("/desk/reports/report.json").status_code == 403
    form = {"csrf_token": agent.csrf, "messages": "1"}
    assert agent.post("/desk/reports/gaps/draft", data=form).status_code == 403
    assert 'id="reports-link"' not in html(agent.get("/desk"))


def test_supervisors_see_the_page_and_a_link_to_it_in_the_desk(supervisor, no_gaps):
    assert 'href="/desk/reports"' in html(supervisor.get("/desk"))
    response = supervisor.get("/desk/reports?days=7")
    page = html(response)
    assert "Content-Security-Policy" in response.headers
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script" not in page.replace("&lt;script", "")  # the page needs no script at all
    assert page.count('<svg class="chart"') >= 3  # volume, waits, and the CSAT distributions
    assert 'role="img"' in page and '<title id="chart-volume-title">Rozmowy dziennie</title>' in page


# -- figures and filters ------------------------------------------------------------------------------


def kpi(page: str, name: str) -> str:
    start = page.index(f'id="kpi-{name}"')
    value = page.index('class="kpi-value">', start) + len('class="kpi-value">')
    return page[value : page.index("</dd>", value)]


def test_the_headline_numbers_of_the_last_seven_days(supervisor, no_gaps):
    page = html(supervisor.get("/desk/reports?days=7"))
    assert kpi(page, "conversations") == "3"
    assert kpi(page, "containment") == "66,7\u00a0%"  # 2 of 3, written the Polish way
    assert kpi(page, "csat") == "3,67"  # (5 + 2 + 4) / 3
    assert kpi(page, "bot-response") == "600 ms"  # the median of 400 and 800
    assert 'aria-pressed="true">Ostatnie 7 dni' in page


def test_filters_change_the_figures(supervisor, no_gaps):
    assert kpi(html(supervisor.get("/desk/reports?days=30")), "conversations") == "4"
    messenger = html(supervisor.get("/desk/reports?days=7&channel=messenger"))
    assert kpi(messenger, "conversations") == "1"
    assert kpi(messenger, "containment") == "100\u00a0%"
    english = html(supervisor.get("/desk/reports?days=30&language=en&lang=en"))
    assert kpi(english, "conversations") == "2"
    assert kpi(english, "containment") == "50%"
    assert "Last 7 days" in english  # the page in English
    first, last = (TODAY - timedelta(days=10)).isoformat(), (TODAY - timedelta(days=10)).isoformat()
    one_day = html(supervisor.get(f"/desk/reports?from={first}&to={last}"))
    assert kpi(one_day, "conversations") == "1"
    assert "Bot nie znalazł odpowiedzi" in one_day  # the one hand-over's reason


def test_a_period_without_conversations_says_so_calmly(supervisor, no_gaps):
    page = html(supervisor.get("/desk/reports?from=2020-01-01&to=2020-01-31"))
    assert kpi(page, "conversations") == "0"
    assert page.count("Brak danych za ten okres.") >= 5
    assert '<svg class="chart"' not in page


def test_hand_overs_times_and_satisfaction_per_agent(supervisor, no_gaps):
    page = html(supervisor.get("/desk/reports?days=7&lang=en"))
    assert "The customer asked for a person" in page
    times = page[page.index('id="times-table"') :]
    queue_row = times[times.index("Waiting in the queue") :]
    assert "1.0 min" in queue_row[: queue_row.index("</tr>")]
    handle_row = times[times.index("Handle time") :]
    assert "10.0 min" in handle_row[: handle_row.index("</tr>")]
    csat = page[page.index('id="csat-table"') : page.index("</table>", page.index('id="csat-table"'))]
    assert "Bot" in csat and "Zofia" in csat
    assert 'id="chart-distribution-1"' in page  # Zofia's ratings 1..5


def test_a_comment_with_markup_is_shown_as_text(supervisor, no_gaps):
    page = html(supervisor.get("/desk/reports?days=7"))
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "Super, dziękuję" in page


@pytest.mark.parametrize("language", ["pl", "en"])
def test_every_text_of_the_page_exists_in_both_languages(supervisor, no_gaps, monkeypatch, language):
    from handoff.reports.texts import TEXTS

    assert all(set(variants) == {"pl", "en"} for variants in TEXTS.values())
    monkeypatch.setattr(pages, "load_clusters", lambda filters: [a_cluster([1, 2])])
    page = html(supervisor.get(f"/desk/reports?days=30&lang={language}"))
    assert f'<html lang="{language}">' in page
    unknown = re.findall(r">[^<]*\b(?:col|kpi|chart|table|reason|gap|time|unit|series)_[a-z_]+\b", page)
    assert unknown == []  # a key shown instead of its text


def test_bad_filters_get_a_clear_400(supervisor, no_gaps):
    response = supervisor.get("/desk/reports?from=yesterday")
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.get_data(as_text=True)
    assert 'id="filters-error"' in response.get_data(as_text=True)
    response = supervisor.get("/desk/reports/summary.csv?channel=fax")
    assert response.status_code == 400
    assert "channel" in response.get_json()["error"]
    response = supervisor.get("/desk/reports/summary.csv?from=2026-02-01&to=2026-01-01")
    assert response.status_code == 400
    assert supervisor.get("/desk/reports/summary.csv?days=8").status_code == 400
    assert supervisor.get("/desk/reports/summary.csv?to=9999-12-31").status_code == 400
    assert supervisor.get("/desk/reports?from=0001-01-01").status_code == 400
    response = supervisor.get("/desk/reports/passwords.csv")
    assert response.status_code == 404
    assert "error" in response.get_json()


# -- CSV and JSON ------------------------------------------------------------------------------------


def test_every_table_has_a_csv_link_that_downloads(supervisor, no_gaps):
    page = html(supervisor.get("/desk/reports?days=7"))
    for name in ("summary", "days", "reasons", "times", "csat", "comments", "entries", "rewrite", "gaps"):
        assert f'href="/desk/reports/{name}.csv?' in page, name
    for name in csv_export.TABLES:
        response = supervisor.get(f"/desk/reports/{name}.csv?days=7")
        assert response.status_code == 200, name
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        disposition = response.headers["Content-Disposition"]
        first = (TODAY - timedelta(days=6)).isoformat()
        assert disposition == f'attachment; filename="report-{name}-{first}-{TODAY.isoformat()}.csv"'
        assert read_csv(response)[0], name  # a header row at least


def test_the_csv_holds_the_figures_and_no_formulas(supervisor, no_gaps):
    summary = dict(read_csv(supervisor.get("/desk/reports/summary.csv?days=7"))[1:])
    assert summary["conversations"] == "3"
    assert summary["contained"] == "2"
    assert float(summary["containment"]) == pytest.approx(2 / 3, abs=1e-4)
    comments = read_csv(supervisor.get("/desk/reports/comments.csv?days=7"))
    assert comments[0] == ["at", "score", "who", "conversation_id", "comment"]
    texts = {row[4] for row in comments[1:]}
    assert "'" + FORMULA in texts  # a spreadsheet shows it, does not run it
    assert HOSTILE in texts  # CSV is not HTML: the text as written
    assert "Super, dziękuję" in texts
    reasons = read_csv(supervisor.get("/desk/reports/reasons.csv?days=30"))
    assert sorted(row[:2] for row in reasons[1:]) == [["customer_request", "1"], ["repeated_misses", "1"]]


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"])
def test_cells_that_look_like_formulas_are_prefixed(cell):
    assert csv_export.safe_cell(cell) == "'" + cell
    assert csv_export.safe_cell(-20) == "-20"  # a number stays a number
    assert csv_export.safe_cell("zwykły tekst") == "zwykły tekst"


def test_the_whole_report_as_json(supervisor, no_gaps):
    response = supervisor.get("/desk/reports/report.json?days=7&channel=web")
    assert response.status_code == 200
    body = response.get_json()
    assert body["report"]["volume"]["conversations"] == 2
    assert body["report"]["filters"]["channel"] == "web"
    assert body["report"]["filters"]["since"].startswith((TODAY - timedelta(days=6)).isoformat())
    assert body["gaps"] == []


def test_the_csv_links_reuse_the_report_just_computed_for_the_page(supervisor, no_gaps, monkeypatch):
    from handoff.reports import figures

    calls = []
    real = figures.compute
    monkeypatch.setattr(figures, "compute", lambda db, filters: calls.append(filters) or real(db, filters))
    html(supervisor.get("/desk/reports?days=7&channel=web"))
    assert supervisor.get("/desk/reports/comments.csv?days=7&channel=web").status_code == 200
    assert supervisor.get("/desk/reports/report.json?days=7&channel=web").status_code == 200
    assert len(calls) == 1
    html(supervisor.get("/desk/reports?days=7&channel=messenger"))  # other filters: computed
    assert len(calls) == 2


# -- knowledge gaps and FAQ drafts ------------------------------------------------------------------------


def a_cluster(ids: list[int]) -> Cluster:
    return Cluster(
        size=3,
        representative="Czy wysyłacie do Norwegii?",
        examples=["Czy wysyłacie do Norwegii?", "wysylka norwegia", f"dostawa do Oslo {HOSTILE}"],
        languages=["pl"],
        newest=at(1),
        reasons={"fallback": 2, "handoff": 1},
        message_ids=ids,
    )


def test_gaps_show_with_a_draft_button_and_escaped_phrasings(supervisor, monkeypatch):
    monkeypatch.setattr(pages, "load_clusters", lambda filters: [a_cluster([11, 12, 13])])
    page = html(supervisor.get("/desk/reports?days=7"))
    assert "Czy wysyłacie do Norwegii?" in page and "wysylka norwegia" in page
    assert HOSTILE not in page
    assert 'action="/desk/reports/gaps/draft"' in page
    assert 'name="messages" value="11,12,13"' in page
    rows = read_csv(supervisor.get("/desk/reports/gaps.csv?days=7"))
    assert rows[1][:2] == ["3", "Czy wysyłacie do Norwegii?"]


def test_the_page_still_shows_when_the_gaps_fail(supervisor, monkeypatch):
    def broken(filters):
        raise RuntimeError("no model")

    monkeypatch.setattr(pages, "load_clusters", broken)
    page = html(supervisor.get("/desk/reports?days=7"))
    assert 'id="gaps-unavailable"' in page
    assert kpi(page, "conversations") == "3"
    response = supervisor.get("/desk/reports/gaps.csv?days=7")
    assert response.status_code == 503
    assert "unavailable" in response.get_json()["error"]


def test_creating_a_draft_from_a_gap_says_where_it_was_written(supervisor, monkeypatch):
    written = []
    monkeypatch.setattr(pages, "load_clusters", lambda filters: [a_cluster([11, 12, 13])])

    def write(cluster, author, language):
        written.append((cluster.representative, author, language))
        return "data/faq-drafts/czy-wysylacie-do-norwegii-abc123.md"

    monkeypatch.setattr(pages, "write_gap_draft", write)
    form = {"messages": "13,12,11", "days": "7"}
    assert supervisor.post("/desk/reports/gaps/draft", data=form).status_code == 400  # no CSRF token
    token = csrf_token(supervisor, "/desk/reports?days=7")
    response = supervisor.post("/desk/reports/gaps/draft", data={**form, "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/desk/reports?from=")
    assert written == [("Czy wysyłacie do Norwegii?", "Szefowa", "pl")]
    page = html(supervisor.get(response.headers["Location"]))
    assert "Zapisano szkic FAQ: data/faq-drafts/czy-wysylacie-do-norwegii-abc123.md" in page

    gone = supervisor.post("/desk/reports/gaps/draft", data={"messages": "99", "days": "7", "csrf_token": token})
    assert gone.status_code == 303
    assert "Tej grupy pytań już nie ma" in html(supervisor.get(gone.headers["Location"]))
    assert len(written) == 1
    bad = supervisor.post("/desk/reports/gaps/draft", data={"messages": "x", "csrf_token": token})
    assert bad.status_code == 400


NORWAY = ["Czy wysyłacie do Norwegii?", "wysylka do norwegii?", "Czy dostarczacie paczki do Norwegii?"]
VOUCHERS = ["Czy macie bony podarunkowe?"]


def by_norway(text: str) -> str:
    return "norway" if "norwegii" in text.lower() else "other"


@contextlib.contextmanager
def grouping_action_server(calls: list[list[str]], group_of: Callable[[str], str] = by_norway) -> Iterator[str]:
    """The action server's `POST /cluster`, grouping by `group_of` instead of the model
    (the grouping itself is tests/test_gaps.py's): what the hub sends and does with the
    answer is what is tested here."""

    class Handler(JsonHandler):
        def do_POST(self):  # noqa: N802 (the http.server API)
            texts = self.json_body()["texts"]
            calls.append(texts)
            members: dict[str, list[int]] = {}
            for index, text in enumerate(texts):
                members.setdefault(group_of(text), []).append(index)
            groups = []
            for indexes in members.values():
                distinct = list({texts[i]: i for i in reversed(indexes)}.values())[::-1][:5]
                groups.append({"members": indexes, "examples": distinct, "representative": indexes[0]})
            self.reply(200, {"groups": groups})

    with StandIn(Handler) as actions:
        yield actions.url


def test_a_gap_becomes_a_faq_draft_with_its_phrasings(database_url, tmp_path):
    """The real gaps service (questions selected in SQL, grouped by the action server) and
    the real drafts: one click writes a valid FAQ file with every phrasing of the group."""
    calls: list[list[str]] = []
    with grouping_action_server(calls) as actions_url:
        app = make_desk_app(database_url, tmp_path, actions_url=actions_url)
        db = app.extensions["faqbot"].db
        seed(db)
        with db.transaction() as session:
            for n, question in enumerate([*NORWAY, *VOUCHERS]):
                cid = conversation(session, days_ago=1 + n % 2, status="bot")
                message(session, cid, 1, "customer", question, at(1 + n % 2, seconds=n), gap="fallback")
        supervisor = logged_in(app, "Szefowa", role="supervisor")
        page = html(supervisor.get("/desk/reports?days=7"))
        assert sorted(calls[0]) == sorted([*NORWAY, *VOUCHERS])
        gaps = page[page.index('id="gaps-list"') :]
        assert gaps.index("3 razy") < gaps.index("1 raz<")  # the largest group first
        assert "wysylka do norwegii?" in gaps
        ids = gaps[gaps.index('name="messages" value="') + len('name="messages" value="') :].split('"')[0]
        token = csrf_token(supervisor, "/desk/reports?days=7")
        response = supervisor.post("/desk/reports/gaps/draft", data={"messages": ids, "days": "7", "csrf_token": token})
        assert response.status_code == 303
        (draft,) = (tmp_path / "faq-drafts").glob("*.md")
        written = draft.read_text(encoding="utf-8")
        for question in NORWAY:
            assert question in written
        assert "bony" not in written
        assert f"Zapisano szkic FAQ: {draft}" in html(supervisor.get(response.headers["Location"]))
        app.extensions["faqbot"].db.dispose()


# -- the charts alone ------------------------------------------------------------------------------------


def test_charts_are_accessible_svg_with_their_numbers_as_text():
    days = [TODAY - timedelta(days=n) for n in range(3, -1, -1)]
    svg = charts.time_chart(
        "c",
        days,
        [charts.Series("bot", [1, 2, None, 4], charts.BLUE)],
        title="Rozmowy <dziennie>",
        desc="opis",
    )
    assert svg.startswith('<svg class="chart" id="c"') and 'role="img"' in svg
    assert 'aria-labelledby="c-title c-desc"' in svg
    assert '<title id="c-title">Rozmowy &lt;dziennie&gt;</title>' in svg
    assert svg.count("<polyline") == 1  # the missing day breaks the line: one run of two points
    assert "style=" not in svg  # a strict CSP refuses style attributes
    bars = charts.bar_chart("b", [("<b>powód</b>", 3), ("inny", 1)], title="t", desc="d")
    assert "&lt;b&gt;powód&lt;/b&gt;" in bars and ">3</text>" in bars
    assert charts.nice_ticks(7) == [0, 2, 4, 6, 8]
    assert charts.nice_ticks(0) == [0.0, 1.0]


def test_one_exceptional_day_does_not_flatten_the_others():
    days = [TODAY - timedelta(days=n) for n in range(9, -1, -1)]
    waits = [40, 55, 60, 45, 15000, 50, 42, 38, 61, 47]
    svg = charts.time_chart("w", days, [charts.Series("wait", waits, charts.AMBER)], title="t", desc="d")
    assert ">15,000</text>" in svg  # without capping, the scale reaches the outlier
    capped = charts.time_chart(
        "w", days, [charts.Series("wait", waits, charts.AMBER)], title="t", desc="d", cap_outliers=True
    )
    assert ">80</text>" in capped and ">15,000</text>" in capped  # a scale for the usual days, the outlier labelled


def test_stored_values_show_by_name_or_as_they_are():
    from handoff.reports.texts import label, number, percent

    assert label("reason", "frustration", "en") == "The customer was frustrated"
    assert label("reason", "some_new_reason", "pl") == "some_new_reason"  # not "reason_some_new_reason"
    assert number(12345.6, "pl", 1) == "12\u00a0345,6" and number(1234, "pl") == "1234"
    assert number(12345.6, "en", 1) == "12,345.6"
    assert percent(0.5, "pl") == "50\u00a0%" and percent(2 / 3, "en") == "66.7%" and percent(None, "en") == "–"
