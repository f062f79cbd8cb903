"""Shared fixtures: one PostgreSQL per test session, a fresh migrated database on it.

The server is an embedded PostgreSQL under a temporary directory, unless
``REELHOUSE_TEST_DATABASE_URL`` names another server (its database is only used to create and
drop the session's own database).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reelhouse.db.embedded import EmbeddedPostgres
from reelhouse.db.engine import create_engine, libpq_url, session_factory
from reelhouse.db.migrate import migrate
from reelhouse.db.models import Environment
from tests.mediagen import make_clip


def _with_database(url: str, name: str) -> str:
    return make_url(libpq_url(url)).set(database=name).render_as_string(hide_password=False)


@contextlib.contextmanager
def embedded_server() -> Iterator[str]:
    """An embedded PostgreSQL in a new temporary directory, stopped and deleted on exit.

    Not under pytest's ``tmp_path``: concurrent pytest runs of one user prune each other's
    numbered directories, which would pull the data directory from under a running server.
    """
    root = Path(tempfile.mkdtemp(prefix="reelhouse-test-pg-"))
    embedded = EmbeddedPostgres()
    try:
        yield embedded.start(root / "data")
    finally:
        embedded.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """An admin URL of the session's PostgreSQL server."""
    external = os.environ.get("REELHOUSE_TEST_DATABASE_URL")
    if external:
        yield external
        return
    with embedded_server() as url:
        yield url


def create_database(server_url: str, prefix: str = "rh_test") -> str:
    """Create a uniquely named empty database on ``server_url``; return its URL."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_database(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name or ""))
        )


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh database for this session, migrated to head."""
    url = create_database(pg_server_url)
    migrate(url)
    try:
        yield url
    finally:
        drop_database(pg_server_url, url)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def environment_id(sessions: async_sessionmaker[AsyncSession]) -> str:
    """A new environment per test, so tests sharing the database never see each other's rows."""
    env_id = f"env_{secrets.token_hex(8)}"
    async with sessions.begin() as session:
        session.add(Environment(id=env_id, name=env_id, created_at=datetime.now(UTC)))
    return env_id


Clip = Callable[[str], Path]


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    """``clip("small")`` -> path of that generated clip (made once per session, on first use)."""
    folder = tmp_path_factory.mktemp("clips")
    return lambda name: make_clip(name, folder)
