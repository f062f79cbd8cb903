"""Access tokens: create, authenticate, revoke, list, bootstrap."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.db.models import AccessToken
from reelhouse.errors import ConfigError, Forbidden, InvalidParameters, NotFound, Unauthorized
from reelhouse.media import tokens
from reelhouse.media.environments import DEFAULT_ENVIRONMENT_ID, ensure_default_environment

T0 = datetime(2026, 1, 1, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


async def _create(sessions: Sessions, env: str, perms: tuple[str, ...] = tokens.ALL_PERMISSIONS):
    async with sessions.begin() as s:
        return await tokens.create_token(s, env, "t", perms, now=T0)


async def test_secret_is_returned_once_and_stored_hashed(
    sessions: Sessions, environment_id: str
) -> None:
    token, secret = await _create(sessions, environment_id)
    async with sessions() as s:
        row = await s.get(AccessToken, token.id)
    assert row is not None
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in row.secret_hash
    assert len(secret) >= 43  # 256 bits, base64


async def test_authenticate_returns_the_principal(sessions: Sessions, environment_id: str) -> None:
    token, secret = await _create(sessions, environment_id, (tokens.VIDEO_READ,))
    async with sessions.begin() as s:
        principal = await tokens.authenticate(s, token.id, secret, now=T0)
    assert principal.environment_id == environment_id
    assert principal.token_id == token.id
    principal.require(tokens.VIDEO_READ)
    with pytest.raises(Forbidden, match="video:write"):
        principal.require(tokens.VIDEO_WRITE)


@pytest.mark.parametrize("wrong", ["secret", "id"])
async def test_wrong_secret_or_unknown_id_is_unauthorized(
    sessions: Sessions, environment_id: str, wrong: str
) -> None:
    token, secret = await _create(sessions, environment_id)
    token_id = token.id + "x" if wrong == "id" else token.id
    secret = secret + "x" if wrong == "secret" else secret
    async with sessions.begin() as s:
        with pytest.raises(Unauthorized):
            await tokens.authenticate(s, token_id, secret, now=T0)


async def test_last_used_is_recorded_at_most_once_a_minute(
    sessions: Sessions, environment_id: str
) -> None:
    token, secret = await _create(sessions, environment_id)
    for at in (T0, T0 + timedelta(seconds=30), T0 + timedelta(seconds=61)):
        async with sessions.begin() as s:
            await tokens.authenticate(s, token.id, secret, now=at)
        async with sessions() as s:
            row = await s.get(AccessToken, token.id)
        assert row is not None
        expected = T0 if at < T0 + timedelta(minutes=1) else at
        assert row.last_used_at == expected


async def test_revoked_token_is_unauthorized(sessions: Sessions, environment_id: str) -> None:
    token, secret = await _create(sessions, environment_id)
    async with sessions.begin() as s:
        revoked = await tokens.revoke_token(s, environment_id, token.id, now=T0)
        again = await tokens.revoke_token(s, environment_id, token.id, now=T0 + timedelta(1))
    assert revoked.revoked_at == T0 and again.revoked_at == T0
    async with sessions.begin() as s:
        with pytest.raises(Unauthorized):
            await tokens.authenticate(s, token.id, secret, now=T0)


async def test_revoke_is_scoped_to_the_environment(sessions: Sessions, environment_id: str) -> None:
    token, _ = await _create(sessions, environment_id)
    async with sessions.begin() as s:
        with pytest.raises(NotFound):
            await tokens.revoke_token(s, "another-env", token.id, now=T0)


async def test_list_tokens_is_scoped(sessions: Sessions, environment_id: str) -> None:
    first, _ = await _create(sessions, environment_id)
    second, _ = await _create(sessions, environment_id)
    async with sessions() as s:
        listed = await tokens.list_tokens(s, environment_id)
        other = await tokens.list_tokens(s, "another-env")
    assert {t.id for t in listed} == {first.id, second.id}
    assert other == []


async def test_unknown_permission_is_refused(sessions: Sessions, environment_id: str) -> None:
    async with sessions.begin() as s:
        with pytest.raises(InvalidParameters, match="video:admin"):
            await tokens.create_token(s, environment_id, "t", ["video:admin"], now=T0)


@pytest.mark.parametrize("bad", ["nocolon", ":secret", "id:"])
def test_bootstrap_value_must_be_id_colon_secret(bad: str) -> None:
    with pytest.raises(ConfigError):
        tokens.parse_bootstrap(bad)


def test_bootstrap_secret_may_contain_colons() -> None:
    assert tokens.parse_bootstrap("id:se:cret") == ("id", "se:cret")


@pytest.fixture
async def no_tokens(sessions: Sessions) -> None:
    """Bootstrap only acts on a database without tokens: clear them (this test owns the DB's
    token table while it runs; tests run one at a time)."""
    async with sessions.begin() as s:
        await s.execute(delete(AccessToken))


@pytest.mark.usefixtures("no_tokens")
async def test_bootstrap_with_given_token_creates_it_once(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        created = await tokens.bootstrap(s, "boot-id:boot-secret", now=T0)
    async with sessions.begin() as s:
        again = await tokens.bootstrap(s, "boot-id:boot-secret", now=T0)
    assert created == ("boot-id", "boot-secret")
    assert again is None
    async with sessions.begin() as s:
        principal = await tokens.authenticate(s, "boot-id", "boot-secret", now=T0)
        count = await s.scalar(select(func.count()).select_from(AccessToken))
    assert principal.environment_id == DEFAULT_ENVIRONMENT_ID
    assert principal.permissions == frozenset(tokens.ALL_PERMISSIONS)
    assert count == 1


@pytest.mark.usefixtures("no_tokens")
async def test_bootstrap_without_value_generates_one_once(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        created = await tokens.bootstrap(s, None, now=T0)
    async with sessions.begin() as s:
        assert await tokens.bootstrap(s, None, now=T0) is None
    assert created is not None
    token_id, secret = created
    async with sessions.begin() as s:
        principal = await tokens.authenticate(s, token_id, secret, now=T0)
    assert principal.environment_id == DEFAULT_ENVIRONMENT_ID


async def test_ensure_default_environment_is_idempotent(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        first = await ensure_default_environment(s, max_upload_bytes=10, now=T0)
    async with sessions.begin() as s:
        second = await ensure_default_environment(s, max_upload_bytes=20, now=T0)
    assert first.id == second.id == DEFAULT_ENVIRONMENT_ID
    assert second.max_upload_bytes == 20
