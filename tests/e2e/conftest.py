"""End-to-end fixtures: real ``reelhouse serve`` processes on loopback ports.

Each server runs against the embedded PostgreSQL (its own data directory) or, for the
``external`` variant, a fresh database on the machine's PostgreSQL at 127.0.0.1:5432.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import Clip, create_database, drop_database

from .assets import SECRET, upload_and_wait
from .receiver import Receiver
from .server import ServerProcess

EXTERNAL_PG = os.environ.get(
    "REELHOUSE_TEST_EXTERNAL_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def external_pg_available() -> bool:
    try:
        with psycopg.connect(EXTERNAL_PG, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture
def data_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="reelhouse-e2e-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _database_for(kind: str) -> Iterator[str | None]:
    if kind == "embedded":
        yield None
        return
    if not external_pg_available():
        pytest.fail(f"the machine's PostgreSQL is not reachable at {EXTERNAL_PG}")
    url = create_database(EXTERNAL_PG, prefix="rh_e2e")
    try:
        yield url
    finally:
        drop_database(EXTERNAL_PG, url)


@pytest.fixture(scope="module", params=["embedded", "external"])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """One server per module and database kind, shared by that module's tests."""
    root = Path(tempfile.mkdtemp(prefix="reelhouse-e2e-"))
    databases = _database_for(request.param)
    url = next(databases)
    proc = ServerProcess(root, database_url=url).start()
    try:
        yield proc
    finally:
        proc.stop()
        databases.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh_server(data_dir: Path) -> Iterator[ServerProcess]:
    """A server of its own (embedded PostgreSQL) for tests that kill or restart it."""
    proc = ServerProcess(data_dir)
    try:
        yield proc
    finally:
        proc.stop()
        from reelhouse.db.embedded import EmbeddedPostgres

        embedded = EmbeddedPostgres()
        if (data_dir / "pg" / "postmaster.pid").exists():
            embedded.start(data_dir / "pg")
            embedded.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    hooks = Receiver()
    yield hooks
    hooks.close()


@pytest.fixture(scope="module")
def media_server(receiver: Receiver) -> Iterator[ServerProcess]:
    """A server (embedded PostgreSQL) that sends webhooks to ``receiver``."""
    root = Path(tempfile.mkdtemp(prefix="reelhouse-e2e-media-"))
    env = {
        "REELHOUSE_WEBHOOK_URL": receiver.url,
        "REELHOUSE_WEBHOOK_SECRET": SECRET,
        "REELHOUSE_WORKER_STALLED_SECONDS": "4",
    }
    proc = ServerProcess(root, extra_env=env).start()
    try:
        yield proc
    finally:
        proc.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def lesson(media_server: ServerProcess, clip: Clip) -> dict[str, Any]:
    """A ready asset on ``media_server``, transcoded from the generated 10 s 720p clip."""
    asset = upload_and_wait(media_server, clip("lesson"))
    assert asset["status"] == "ready", asset
    return asset
