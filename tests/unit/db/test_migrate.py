"""Migrations apply to an empty database, and applying them again changes nothing: on the
machine's PostgreSQL and on an embedded one."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from reelhouse.db.embedded import EmbeddedPostgres
from reelhouse.db.engine import create_engine, libpq_url
from reelhouse.db.migrate import check, head_revision, migrate
from reelhouse.errors import Unavailable
from tests.conftest import create_database, drop_database

EXTERNAL = "postgresql://postgres@127.0.0.1:5432/test"
TABLES = {
    "environments",
    "access_tokens",
    "direct_uploads",
    "outbox_events",
    "alembic_version",
    "procrastinate_jobs",
    "procrastinate_workers",
}


def _tables(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def _migrate_twice(url: str) -> None:
    migrate(url)
    first = _tables(url)
    migrate(url)
    assert _tables(url) == first
    assert first >= TABLES
    with psycopg.connect(libpq_url(url)) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert version == [(head_revision(),)]


def _external_available() -> bool:
    try:
        psycopg.connect(EXTERNAL, connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


@pytest.mark.external_pg
@pytest.mark.skipif(not _external_available(), reason="no PostgreSQL at 127.0.0.1:5432")
def test_migrate_twice_on_external_postgres() -> None:
    url = create_database(EXTERNAL, "rh_migrate")
    try:
        _migrate_twice(url)
    finally:
        drop_database(EXTERNAL, url)


def test_migrate_twice_on_embedded_postgres() -> None:
    root = Path(tempfile.mkdtemp(prefix="reelhouse-test-migrate-"))
    embedded = EmbeddedPostgres()
    url = embedded.start(root / "pg")
    try:
        assert "host=" in url  # a unix socket
        _migrate_twice(url)
    finally:
        embedded.stop()
    # A second start on the same directory finds the data (and the migrations) in place.
    again = EmbeddedPostgres()
    url = again.start(root / "pg")
    try:
        _migrate_twice(url)
    finally:
        again.stop()
        shutil.rmtree(root, ignore_errors=True)


async def test_check_passes_on_a_migrated_database(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await check(engine)
    finally:
        await engine.dispose()


async def test_check_refuses_an_unmigrated_database(pg_server_url: str) -> None:
    url = create_database(pg_server_url, "rh_unmigrated")
    engine = create_engine(url)
    try:
        with pytest.raises(Unavailable, match="reelhouse migrate"):
            await check(engine)
    finally:
        await engine.dispose()
        drop_database(pg_server_url, url)


async def test_check_reports_an_unreachable_database() -> None:
    engine = create_engine("postgresql://postgres@127.0.0.1:1/none")
    try:
        with pytest.raises(Unavailable, match="unavailable"):
            await check(engine)
    finally:
        await engine.dispose()
