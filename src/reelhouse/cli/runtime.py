"""Running the platform: the database (embedded or not), migrations, the first token, the web
server and, unless told otherwise, a job worker in the same event loop."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.cli.serving import database, serve_until_stopped
from reelhouse.config import Settings, load_settings
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
        beside = {}
        if with_worker:
            from reelhouse.worker.main import run_embedded_worker  # not loaded by web-only nodes

            beside["worker"] = run_embedded_worker(settings, db.url, metrics=metrics)
        announce(settings, created)
        await serve_until_stopped(app, settings, beside=beside)


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
