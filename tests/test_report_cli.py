"""`faqbot report` (text and --json, filters, bad arguments) and `faqbot demo seed` (a
history the report reads, in both languages and channels; it refuses a database that
already has conversations), through the real command line entry point, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from handoff.cli import main
from handoff.models import Agent, Conversation, Message, Rating
from handoff.reports import gaps
from handoff.reports.model import Cluster

from .test_hub_api import free_port
from .test_report_figures import build_history

MARCH = ["--since", "2026-03-01", "--until", "2026-03-07"]


@pytest.fixture
def history(db):
    return build_history(db)


@pytest.fixture
def cli(db, monkeypatch, capsys):
    """Runs `faqbot ...` against the test database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("ACTIONS_URL", f"http://127.0.0.1:{free_port()}")  # no action server: no gap clusters

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_report_as_text(history, cli):
    code, out, _ = cli("report", *MARCH)
    assert code == 0
    assert "Report 2026-03-01 .. 2026-03-07 (all channels, all languages)" in out
    lines = {line.split("  ")[0]: line for line in out.splitlines()}
    assert lines["conversations"].split()[-1] == "7"
    assert "3 (42.9%)" in lines["resolved by the bot alone"]
    assert "4 of 6 (66.7%)" in lines["first-contact resolution"]
    assert lines["bot response"].split()[2:] == ["300", "ms", "460", "ms", "5"]
    assert lines["queue wait"].split()[2:] == ["60", "s", "108", "s", "3"]
    assert lines["Ola"].split()[:5] == ["Ola", "4.00", "1", "2", "50.0%"]
    assert "NPS  +25  (4 answers: 2 promoters, 1 passives, 1 detractors)" in out
    assert "delivery-cost" in out and "Ile kosztuje dostawa?" in out
    assert out.index("slow") < out.index("super")  # newest comment first


def test_report_as_json_with_filters(history, cli):
    code, out, _ = cli("report", *MARCH, "--json", "--channel", "messenger")
    assert code == 0
    data = json.loads(out)
    assert data["filters"] == {
        "since": "2026-03-01T00:00:00Z",
        "until": "2026-03-08T00:00:00Z",  # --until is a day, counted whole
        "channel": "messenger",
        "language": None,
    }
    assert data["volume"]["conversations"] == 2
    assert data["times"]["bot_response_ms"]["p50"] == pytest.approx(350)
    assert [s["who"] for s in data["csat"]] == ["bot", "Ola"]
    assert data["csat"][1]["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    assert data["days"][0]["day"] == "2026-03-03"


def test_report_by_language(history, cli):
    data = json.loads(cli("report", *MARCH, "--json", "--language", "en")[1])
    assert (data["volume"]["conversations"], data["volume"]["contained"]) == (2, 0)


def test_report_defaults_to_the_last_30_days(db, cli):
    code, out, _ = cli("report", "--json")
    assert code == 0
    data = json.loads(out)
    since = datetime.fromisoformat(data["filters"]["since"].replace("Z", "+00:00"))
    until = datetime.fromisoformat(data["filters"]["until"].replace("Z", "+00:00"))
    assert until - since == timedelta(days=30)
    assert abs((datetime.now(UTC) - until).total_seconds()) < 60
    assert data["volume"]["conversations"] == 0 and data["nps"] is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "yesterday"], "not a date: 'yesterday'"),
        (["--since", "2026-03-05", "--until", "2026-03-01"], "--since must be before --until"),
    ],
)
def test_report_refuses_bad_dates(db, cli, argv, message):
    code, out, err = cli("report", *argv)
    assert code == 2 and out == ""
    assert message in err


def test_report_prints_customers_words_as_text(history, cli):
    with history.transaction() as session:
        rating = session.scalars(select(Rating).where(Rating.comment == "slow")).one()
        rating.comment = "slow\x1b[2J\x1b[31m red"
    out = cli("report", *MARCH)[1]
    assert "\x1b" not in out and "slow [2J [31m red" in out


def test_demo_seed_makes_a_history_the_report_reads(db, cli):
    code, out, _ = cli("demo", "seed", "--conversations", "300", "--days", "20")
    assert code == 0 and "300 conversations" in out
    with db.transaction() as session:
        assert set(session.scalars(select(Conversation.language).distinct())) == {"pl", "en"}
        assert set(session.scalars(select(Conversation.channel).distinct())) == {"web", "messenger"}
        assert session.scalar(select(func.count()).where(Conversation.followed_up.is_(True))) > 0
        assert session.scalar(select(func.count()).select_from(Message).where(Message.gap.is_not(None))) > 10
        agents = session.scalars(select(Agent)).all()
        assert agents and all(a.password_hash is None for a in agents)  # demo agents cannot log in
    data = json.loads(cli("report", "--json")[1])
    volume = data["volume"]
    assert volume["conversations"] == 300
    assert 0.5 < volume["containment"] < 0.9
    assert {"customer_request", "frustration", "repeated_misses"} <= set(volume["by_reason"])
    assert data["times"]["queue_wait_s"]["p50"] > 0 and data["times"]["handle_s"]["count"] > 0
    assert len(data["csat"]) == 5 and data["csat"][0]["ratings"] > 0  # the bot and four agents
    assert data["nps"]["responses"] > 0 and data["comments"]
    assert data["entries"][0]["title"] != data["entries"][0]["faq_id"]  # the FAQ's real titles
    assert data["rewrite_candidates"]


def test_demo_seed_refuses_a_database_with_conversations(db, cli):
    assert cli("demo", "seed", "--conversations", "5")[0] == 0
    code, _, err = cli("demo", "seed", "--conversations", "5")
    assert code == 1 and "already has 5 conversations" in err
    assert cli("demo", "seed", "--conversations", "5", "--if-empty")[0] == 0  # make run DEMO=1, twice
    assert cli("demo", "seed", "--conversations", "5", "--force")[0] == 0
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 10


def test_report_leaves_out_gaps_it_cannot_group(history, cli):
    code, out, err = cli("report", *MARCH)
    assert code == 0 and "VOLUME" in out and "Knowledge gaps" not in out
    assert "knowledge gaps left out: the action server, which groups the questions, is not reachable" in err
    code, _, err = cli("report", *MARCH, "--no-gaps")
    assert code == 0 and err == ""


def test_report_prints_the_gap_clusters(history, cli, monkeypatch):
    """The grouping itself is the action server's (tests/test_report_gaps*.py); here only
    how the command shows what it returns."""
    found = Cluster(
        size=3,
        representative="czy mozecie zapakowac na prezent",
        examples=["czy mozecie zapakowac na prezent", "can you gift wrap my order"],
        languages=["pl", "en"],
        newest=datetime(2026, 3, 4, 12, tzinfo=UTC),
        reasons={"fallback": 3},
        message_ids=[1, 2, 3],
    )
    monkeypatch.setattr(gaps, "clusters", lambda db, filters: [found])
    out = cli("report", *MARCH)[1]
    assert "Knowledge gaps" in out and "3     czy mozecie zapakowac na prezent  pl,en  2026-03-04" in out
    data = json.loads(cli("report", *MARCH, "--json")[1])
    assert data["gaps"][0]["representative"] == "czy mozecie zapakowac na prezent"
    assert data["gaps"][0]["newest"] == "2026-03-04T12:00:00Z"
