"""Shared fixtures: real databases (SQLite and PostgreSQL), real Redis, the real
embedding model and knowledge base.

PostgreSQL and Redis tests run when TEST_DATABASE_URL / TEST_REDIS_URL are set (`make
test` sets them for the services on 127.0.0.1); if set but unreachable, they fail
rather than skip, so CI cannot go green without them.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_KB = ROOT / "data" / "faq"
EVAL_QUERIES = ROOT / "tests" / "eval" / "queries.jsonl"


def _postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """An empty database, not yet migrated: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    base = _postgres_url()
    if base is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    import sqlalchemy as sa

    from handoff.config import database_url as normalise

    base = normalise(base)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def db(database_url):
    """A migrated database."""
    from handoff.db import Database

    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    return url


@pytest.fixture(scope="session")
def embedder():
    from knowledge.embedder import Embedder
    from knowledge.settings import Settings

    return Embedder(Settings().model)


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory):
    """The project's cache when present (fast reruns); its vectors are keyed by model
    fingerprint and text, so sharing it cannot change results."""
    from knowledge.embedder import EmbeddingCache
    from knowledge.settings import Settings

    return EmbeddingCache(Settings().cache_path)


@pytest.fixture(scope="session")
def sample_kb(embedder, embedding_cache):
    """The sample shop's knowledge base, built and calibrated."""
    from knowledge.base import KnowledgeBase
    from knowledge.loader import EntryLoader

    result = EntryLoader(SAMPLE_KB).load()
    assert not result.errors, result.errors
    return KnowledgeBase.build(result.entries, embedder, embedding_cache)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, one per test module (tests/browser.py)."""
    from .browser import chromium

    with chromium() as running:
        yield running


@pytest.fixture
def problems():
    """Every page a test opens is watched: no uncaught error, no CSP refusal."""
    from .browser import Problems

    watched = Problems()
    yield watched
    assert watched.errors == []
