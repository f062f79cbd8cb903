"""Running the platform: the database (embedded or not), migrations, the first token, the web
server and, unless told otherwise, a job worker in the same event loop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.config import Settings, load_settings
from reelhouse.db.embedded import EmbeddedPostgres
from reelhouse.db.engine import create_engine, session_factory
from reelhouse.errors import Unavailable
from reelhouse.logs import configure_logging, get_logger
from reelhouse.media.environments import ensure_default_environment
from reelhouse.media.tokens import bootstrap
from reelhouse.metrics import Metrics
from reelhouse.pipeline import runner
from reelhouse.server.app import create_app
from reelhouse.webhooks import ensure_default_endpoint

log = get_logger("reelhouse.runtime")
MIGRATE_TIMEOUT = 600.0
T = TypeVar("T")


@dataclass(frozen=True)
class Database:
    url: str
    embedded: EmbeddedPostgres | None


@contextlib.contextmanager
def database(settings: Settings, *, owner: bool = False) -> Iterator[Database]:
    """The configured database, or an embedded PostgreSQL in ``<data-dir>/pg``.

    An ``owner`` (``serve``, ``worker``) stops the embedded server on exit, even one it adopted
    after a crash; a one-shot command (``tokens``, ``migrate``, ``doctor``) stops it only if it
    started it, so it never pulls the database from under a running server.
    """
    if settings.database_url:
        yield Database(settings.database_url, None)
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    embedded = EmbeddedPostgres()
    was_running = EmbeddedPostgres.is_running(settings.pg_dir)
    url = embedded.start(settings.pg_dir)
    log.info("db.embedded_started", pg_dir=str(settings.pg_dir), adopted=was_running)
    try:
        yield Database(url, embedded)
    finally:
        if owner or not was_running:
            embedded.stop()
            log.info("db.embedded_stopped")


async def migrate_in_child(url: str) -> None:
    """Apply migrations in a child process (Alembic stays out of the server's memory)."""
    done = await runner.run(
        [sys.executable, "-m", "reelhouse.db.migrate", url], timeout=MIGRATE_TIMEOUT
    )
    if not done.ok:
        log.error("db.migrate_failed", output=done.stderr_text()[-4000:])
        raise Unavailable("Database migrations failed; see the log above.")


async def prepare(settings: Settings, url: str) -> tuple[str, str] | None:
    """Migrate, make sure the default environment exists, create the first token if needed."""
    await migrate_in_child(url)
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            env = await ensure_default_environment(
                session, max_upload_bytes=settings.max_upload_bytes
            )
            if settings.webhook_url:
                await ensure_default_endpoint(
                    session,
                    env.id,
                    settings.webhook_url,
                    settings.webhook_secret,
                    now=datetime.now(UTC),
                )
            return await bootstrap(session, settings.bootstrap_token)
    finally:
        await engine.dispose()


def announce(settings: Settings, created: tuple[str, str] | None) -> None:
    base = settings.base_url
    lines = [f"reelhouse is running: {base}/", f"  API docs: {base}/docs"]
    if created:
        token_id, secret = created
        lines += [
            "  A first access token was created (shown once, keep it safe):",
            f"    REELHOUSE_TOKEN_ID={token_id}",
            f"    REELHOUSE_TOKEN_SECRET={secret}",
            f"  e.g. curl -u {token_id}:{secret} -X POST {base}/video/v1/uploads "
            "-H 'Content-Type: application/json' -d '{\"cors_origin\": \"*\"}'",
        ]
    print("\n".join(lines), flush=True)


async def serve(settings: Settings, *, with_worker: bool) -> None:
    with database(settings, owner=True) as db:
        created = await prepare(settings, db.url)
        metrics = Metrics()
        app = create_app(settings, db.url, metrics=metrics)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            log_config=None,
            access_log=False,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=10,
        )
        server = uvicorn.Server(config)
        announce(settings, created)
        tasks = [asyncio.create_task(server.serve(), name="web")]
        if with_worker:
            from reelhouse.worker.main import run_embedded_worker  # not loaded by web-only nodes

            worker = run_embedded_worker(settings, db.url, metrics=metrics)
            tasks.append(asyncio.create_task(worker, name="worker"))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _stop, server, tasks)
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        _stop(server, tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


def _stop(server: uvicorn.Server, tasks: list[asyncio.Task[None]]) -> None:
    server.should_exit = True
    for task in tasks:
        if task.get_name() == "worker":
            task.cancel()


def in_default_environment(
    data_dir: Path | None, work: Callable[[AsyncSession, str], Awaitable[T]]
) -> T:
    """Run ``work(session, environment_id)`` in one transaction on the configured database."""
    settings: Settings = load_settings(data_dir=data_dir)
    configure_logging("warning", settings.log_format)

    async def go(url: str) -> T:
        await prepare(settings, url)
        engine = create_engine(url)
        try:
            async with session_factory(engine).begin() as session:
                env = await ensure_default_environment(
                    session, max_upload_bytes=settings.max_upload_bytes
                )
                return await work(session, env.id)
        finally:
            await engine.dispose()

    with database(settings) as db:
        return asyncio.run(go(db.url))
