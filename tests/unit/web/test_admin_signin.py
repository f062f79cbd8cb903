"""Signing in to the dashboard with the admin password (ASGI against the session's database):
the field appears only when a password is configured; the right password gives every permission
in the default environment; changing the setting ends admin sessions; failures are slowed down;
the session lifetime is configurable."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.media.environments import DEFAULT_ENVIRONMENT_ID, ensure_environment_row
from reelhouse.media.tokens import ALL_PERMISSIONS, create_token
from reelhouse.web.passwords import AdminPassword, hash_password
from reelhouse.web.sessions import ADMIN_TOKEN_ID, SESSION_COOKIE, read_session

from .dashboard_app import SECRET, START, Clock, dashboard_client, dashboard_deps, post_signin

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def hashed() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
async def default_environment(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions.begin() as session:
        await ensure_environment_row(session, now=START)
    return DEFAULT_ENVIRONMENT_ID


OpenDashboard = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def dashboard(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, default_environment: str
) -> OpenDashboard:
    """A dashboard app with the given admin password setting; cookies carry over between apps
    through ``jar`` (as a browser keeps them across a server restart)."""

    @asynccontextmanager
    async def open_app(
        setting: str | None,
        jar: httpx.Cookies | None = None,
        lifetime: timedelta = timedelta(hours=8),
    ) -> AsyncIterator[httpx.AsyncClient]:
        deps = dashboard_deps(
            sessions,
            clock,
            admin_password=AdminPassword.from_setting(setting) if setting else None,
            session_lifetime=lifetime,
        )
        async with dashboard_client(deps, cookies=jar) as http:
            yield http

    return open_app


async def test_no_password_field_without_a_setting(dashboard: OpenDashboard) -> None:
    async with dashboard(None) as client:
        page = await client.get("/signin")
        assert '<label for="token">' in page.text
        assert 'name="password"' not in page.text
        refused = await post_signin(client, password=PASSWORD)
        assert refused.status_code == 401
        assert "That admin password was not accepted." in refused.text
        assert SESSION_COOKIE not in client.cookies


@pytest.mark.parametrize("plain", [False, True])
async def test_the_password_signs_in_with_every_permission(
    dashboard: OpenDashboard, hashed: str, plain: bool
) -> None:
    async with dashboard(PASSWORD if plain else hashed) as client:
        page = await client.get("/signin")
        assert '<label for="password">Admin password</label>' in page.text
        response = await post_signin(client, password=PASSWORD)
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
        )
        assert "httponly" in cookie.lower()
        assert PASSWORD not in cookie and hashed not in cookie
        session = read_session(client.cookies[SESSION_COOKIE], SECRET)
        assert session is not None
        assert session.token_id == ADMIN_TOKEN_ID
        assert session.environment_id == DEFAULT_ENVIRONMENT_ID
        assert session.permissions == frozenset(ALL_PERMISSIONS)
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/upload")).status_code == 200


async def test_a_wrong_password_is_refused(dashboard: OpenDashboard, hashed: str) -> None:
    async with dashboard(hashed) as client:
        for guess in ("", "nope", PASSWORD.upper(), "x" * 5000):
            response = await post_signin(client, password=guess, **{"with": "password"})
            assert response.status_code == 401, guess
            assert "That admin password was not accepted." in response.text
        assert SESSION_COOKIE not in client.cookies


async def test_changing_the_password_ends_admin_sessions(
    dashboard: OpenDashboard, hashed: str
) -> None:
    jar = httpx.Cookies()
    async with dashboard(hashed, jar) as client:
        assert (await post_signin(client, password=PASSWORD)).status_code == 303
        jar = client.cookies
    async with dashboard(hashed, jar) as client:
        assert (await client.get("/")).status_code == 200  # a restart keeps the session
    async with dashboard(hash_password(PASSWORD), jar) as client:
        response = await client.get("/")  # same password, new hash: a changed setting
        assert response.status_code == 303
        assert response.headers["location"] == "/signin?expired=1"
    async with dashboard(None, jar) as client:
        assert (await client.get("/")).headers["location"] == "/signin?expired=1"


async def test_failures_are_slowed_down(
    dashboard: OpenDashboard,
    hashed: str,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    default_environment: str,
) -> None:
    async with sessions.begin() as session:
        row, secret = await create_token(session, default_environment, "t", ["video:read"])
    async with dashboard(hashed) as client:
        for _ in range(3):
            assert (await post_signin(client, password="wrong password")).status_code == 401
        assert (await post_signin(client, token=f"{row.id}:wrong")).status_code == 401
        # A valid token does not reset the count.
        assert (await post_signin(client, token=f"{row.id}:{secret}")).status_code == 303
        client.cookies.delete(SESSION_COOKIE)
        assert (await post_signin(client, password="wrong again")).status_code == 401
        held = await post_signin(client, password=PASSWORD)
        assert held.status_code == 429
        assert held.headers["retry-after"] == "1"
        assert "Too many failed sign-ins from your address. Wait 1 s and try again." in held.text
        assert SESSION_COOKIE not in client.cookies
        clock.now += timedelta(seconds=1)
        assert (await post_signin(client, password="wrong still")).status_code == 401
        assert (await post_signin(client, password=PASSWORD)).headers["retry-after"] == "2"
        clock.now += timedelta(seconds=2)
        assert (await post_signin(client, password=PASSWORD)).status_code == 303


async def test_the_session_lifetime_is_configurable(
    dashboard: OpenDashboard, hashed: str, clock: Clock
) -> None:
    lifetime = timedelta(seconds=30)
    async with dashboard(hashed, lifetime=lifetime) as client:
        response = await post_signin(client, password=PASSWORD)
        assert f"max-age={30 + 86400}" in response.headers["set-cookie"].lower()
        clock.now += timedelta(seconds=29)
        assert (await client.get("/")).status_code == 200
        clock.now += timedelta(seconds=1)
        expired = await client.get("/")
        assert expired.headers["location"] == "/signin?expired=1"
        page = await client.get("/signin?expired=1")
        assert "Your session has ended. Sign in again." in page.text
