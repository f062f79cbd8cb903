"""Bringing a database's schema up to date: reelhouse's Alembic migrations, then Procrastinate's.

:func:`migrate` is safe to run any number of times and from several nodes at once (it holds a
PostgreSQL advisory lock while it works). :func:`check` is the readiness probe.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from procrastinate.schema import SchemaManager
from sqlalchemy import Connection, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncEngine

from reelhouse.db.engine import sqlalchemy_url
from reelhouse.errors import Unavailable

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"
_LOCK_KEY: Final = 0x7265656C686F7573  # "reelhous": one key for every reelhouse migration run


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    """The newest revision this code ships."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _procrastinate_installed(conn: Connection) -> bool:
    found = conn.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar()
    return bool(found)


def _apply_procrastinate_schema(conn: Connection) -> None:
    """Install Procrastinate's schema on a database that has none.

    Upgrading an existing Procrastinate schema to a newer release is done with its own
    migrations (``procrastinate schema --migrations-path``) and is not automated here.
    """
    if _procrastinate_installed(conn):
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.execute(SchemaManager.get_schema())


def migrate(url: str) -> None:
    """Apply every pending migration to the database at ``url``; idempotent."""
    engine = create_sync_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
            conn.commit()
            try:
                config = _alembic_config()
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                conn.commit()
                _apply_procrastinate_schema(conn)
                conn.commit()
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


async def check(engine: AsyncEngine) -> None:
    """Readiness: return when the database answers and its schema is at this code's head, else
    raise ``Unavailable`` saying which."""
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    except Exception as exc:
        raise Unavailable("database unavailable") from exc
    head = head_revision()
    if current != head:
        raise Unavailable(
            f"database schema at {current!r}, expected {head!r}: run reelhouse migrate"
        )


def main(argv: list[str]) -> int:
    """``python -m reelhouse.db.migrate URL``: migrate in a process of its own, so a server that
    only needs the result never loads Alembic (and its templates) into its memory."""
    if len(argv) != 1:
        print("usage: python -m reelhouse.db.migrate DATABASE_URL", file=sys.stderr)
        return 2
    migrate(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
