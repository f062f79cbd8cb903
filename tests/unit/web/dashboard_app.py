"""The dashboard in-process, for every dashboard page test: its dependencies with the tests'
URL, secret and upload limit, an ASGI client (with the system pages where a test wants them),
a clock the test moves, tokens with chosen permissions, signing in and reading CSRF fields."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from reelhouse.db.models import AccessToken, Environment, WebhookEndpoint
from reelhouse.media.tokens import create_token
from reelhouse.outbound import Policy
from reelhouse.web.dashboard import DashboardDeps, dashboard_routes
from reelhouse.web.static import static_mount

Sessions = async_sessionmaker[AsyncSession]
Row = TypeVar("Row", AccessToken, WebhookEndpoint)
SECRET = b"o" * 32
BASE = "http://test"
START = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)
LOOPBACK_ALLOWED = Policy(allow_private=True)


class Clock:
    """The time the test says it is, from ``start`` on."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 1.0) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def dashboard_deps(
    sessions: Sessions, clock: Callable[[], datetime], **overrides: Any
) -> DashboardDeps:
    """The dashboard's dependencies at ``BASE``, sessions signed with ``SECRET``, uploads up to
    1 MB; ``overrides`` sets the other fields (``store``, ``metrics``, ``admin_password`` ...)."""
    return DashboardDeps(
        sessions=sessions,
        clock=clock,
        base_url=BASE,
        session_secret=SECRET,
        default_max_upload_bytes=1_000_000,
        **overrides,
    )


@asynccontextmanager
async def dashboard_client(
    deps: DashboardDeps,
    *,
    system_pages: bool = False,
    webhook_policy: Policy = LOOPBACK_ALLOWED,
    cookies: httpx.Cookies | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the dashboard and its static files; with ``system_pages`` also of the
    operations, token and webhook pages, whose webhook URLs ``webhook_policy`` vets (loopback
    allowed unless given). ``cookies`` carries a jar over from another client, as a browser
    keeps it across a server restart."""
    policy = webhook_policy if system_pages else None
    routes = [*dashboard_routes(deps, webhook_policy=policy), static_mount()]
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url=BASE, cookies=cookies) as http:
        yield http


async def make_token(
    sessions: Sessions, environment_id: str, permissions: Iterable[str], *, now: datetime = START
) -> str:
    """A new token's ``ID:SECRET``."""
    async with sessions.begin() as session:
        row, secret = await create_token(session, environment_id, "test", permissions, now=now)
    return f"{row.id}:{secret}"


async def new_environment(sessions: Sessions) -> str:
    """Another environment, whose rows the signed-in one must never reach."""
    env_id = f"env_{secrets.token_hex(8)}"
    async with sessions.begin() as session:
        session.add(Environment(id=env_id, name=env_id, created_at=START))
    return env_id


async def rows_in(sessions: Sessions, model: type[Row], environment_id: str) -> list[Row]:
    """Every row of ``model`` (a table with ``environment_id``) in that environment."""
    async with sessions() as session:
        rows = await session.scalars(select(model).where(model.environment_id == environment_id))
        return list(rows.all())


def readonly_value(page: str, field_id: str) -> str:
    """The value of the read-only text field ``field_id`` (where a secret is shown once)."""
    found = re.search(rf'id="{field_id}" type="text" readonly value="([^"]+)"', page)
    assert found, page
    return html.unescape(found.group(1))


def hidden_csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def post_signin(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    """The sign-in form posted with its CSRF field and ``fields`` (``token``, ``password``)."""
    csrf = hidden_csrf((await client.get("/signin")).text)
    return await client.post("/signin", data={"csrf": csrf, **fields})


async def page_csrf(client: httpx.AsyncClient) -> str:
    """The session's CSRF token: every signed-in page, a 403 one too, carries the sign-out
    form with the CSRF field."""
    return hidden_csrf((await client.get("/")).text)


async def sign_in(client: httpx.AsyncClient, token: str) -> str:
    """Sign in with ``token``; returns the session's CSRF token."""
    response = await post_signin(client, token=token)
    assert response.status_code == 303, response.text
    return await page_csrf(client)


async def assert_needs_system_read(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str, path: str
) -> None:
    """``path`` sends a signed-out visitor to sign in and shows a session without
    ``system:read`` a 403 page that names the permission."""
    response = await client.get(path)
    assert (response.status_code, response.headers["location"]) == (303, "/signin")
    await sign_in(client, await make_token(sessions, environment_id, ["video:read"]))
    page = await client.get(path)
    assert page.status_code == 403
    assert "<code>system:read</code>" in page.text
