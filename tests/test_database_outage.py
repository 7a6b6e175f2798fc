"""PostgreSQL really stopped: every route answers 503 with Retry-After and a JSON error,
and the same app works again once the database is back (pool_pre_ping reconnects).

The server is stopped for a few seconds only and always restarted (other tests on the
machine may use it). Needs TEST_DATABASE_URL and a local cluster `pg_ctlcluster` can
stop, which is what `make test` uses.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from handoff import create_app
from handoff.config import HubSettings
from handoff.config import database_url as normalise

pytestmark = pytest.mark.postgres


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cluster(port: int) -> tuple[str, str]:
    """(version, name) of the local cluster listening on `port`."""
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        version, name, cluster_port, *_ = line.split()
        if int(cluster_port) == port:
            return version, name
    pytest.skip(f"no local PostgreSQL cluster on port {port} to stop")


@pytest.fixture
def postgres() -> Iterator[tuple[str, tuple[str, str]]]:
    """A fresh schema's URL, and the cluster serving it. Its own engine without a pool, so
    that dropping the schema afterwards does not trip on a connection the restart cut."""
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        pytest.skip("TEST_DATABASE_URL is not set")
    if shutil.which("pg_ctlcluster") is None:
        pytest.skip("pg_ctlcluster is not available: cannot stop PostgreSQL here")
    base = normalise(raw)
    cluster = _cluster(urlsplit(raw).port or 5432)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}", cluster
    _wait_for(admin)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _pg_ctlcluster(cluster: tuple[str, str], action: str) -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action], check=True, timeout=60)


def _wait_for(engine: sa.Engine, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return
        except sa.exc.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_database_outage_is_503_on_every_route_and_the_app_recovers(postgres):
    url, cluster = postgres
    settings = HubSettings(database_url=url, rasa_url=f"http://127.0.0.1:{free_port()}", rasa_timeout=2)
    app = create_app(settings, migrate=True)
    client = app.test_client()
    started = client.post("/api/conversations")
    assert started.status_code == 201
    conversation_id, token = started.get_json()["id"], started.get_json()["token"]
    customer = {"Authorization": f"Bearer {token}"}
    agent = {"Authorization": f"Bearer {app.extensions['faqbot'].desk.create_agent('ola')}"}
    chat = f"/api/conversations/{conversation_id}/messages"
    desk = f"/api/agent/conversations/{conversation_id}"
    calls = [
        ("POST", "/api/conversations", {}, None),
        ("POST", chat, customer, {"text": "gdzie jest moja paczka?"}),
        ("GET", f"{chat}?after=0", customer, None),
        ("GET", f"{chat}?after=0&wait=1", customer, None),
        ("GET", "/api/agent/queue", agent, None),
        ("GET", desk, agent, None),
        ("POST", f"{desk}/claim", agent, None),
        ("POST", f"{desk}/messages", agent, {"text": "Dzień dobry"}),
        ("POST", f"{desk}/resolve", agent, None),
    ]
    assert client.get(f"{chat}?after=0", headers=customer).status_code == 200  # the pool holds live connections

    _pg_ctlcluster(cluster, "stop")
    try:
        answers = [
            (path, client.open(path, method=method, headers=headers, json=body))
            for method, path, headers, body in calls
        ]
    finally:
        _pg_ctlcluster(cluster, "start")

    for path, response in answers:
        assert response.status_code == 503, (path, response.status_code, response.get_data(as_text=True))
        assert response.mimetype == "application/json", path
        assert set(response.get_json()) == {"error"} and response.get_json()["error"], path
        assert int(response.headers["Retry-After"]) > 0, path

    _wait_for(sa.create_engine(normalise(os.environ["TEST_DATABASE_URL"]), poolclass=NullPool))
    assert client.post("/api/conversations").status_code == 201
    again = client.post(chat, headers=customer, json={"text": "gdzie jest moja paczka?"})
    assert again.status_code == 200, again.get_json()
    history = client.get(f"{chat}?after=0", headers=customer).get_json()["messages"]
    assert [m["text"] for m in history if m["role"] == "customer"] == ["gdzie jest moja paczka?"]
    assert client.get("/api/agent/queue", headers=agent).status_code == 200
    app.extensions["faqbot"].db.dispose()
