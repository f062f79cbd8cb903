"""Direct database access for end-to-end tests (set-up an operator would do by hand)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from reelhouse.db.engine import create_engine, session_factory
from reelhouse.db.models import DirectUpload, Environment
from reelhouse.media.tokens import create_token

from .server import ServerProcess


def database_url(server: ServerProcess) -> str:
    if server.database_url:
        return server.database_url
    return f"postgresql://postgres:@/reelhouse?host={server.data_dir / 'pg'}"


async def _other_environment(url: str, env_id: str) -> tuple[str, str]:
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            session.add(Environment(id=env_id, name="Other", created_at=datetime.now(UTC)))
            await session.flush()
            token, secret = await create_token(
                session, env_id, "other", ["video:read", "video:write"]
            )
            return token.id, secret
    finally:
        await engine.dispose()


def other_environment_token(server: ServerProcess, env_id: str) -> tuple[str, str]:
    return asyncio.run(_other_environment(database_url(server), env_id))


async def _expire(url: str, upload_id: str) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            await session.execute(
                update(DirectUpload)
                .where(DirectUpload.id == upload_id)
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        await engine.dispose()


def expire_upload(server: ServerProcess, upload_id: str) -> None:
    """Move an upload's deadline into the past, as if its timeout had passed."""
    asyncio.run(_expire(database_url(server), upload_id))
