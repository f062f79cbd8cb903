"""Endpoint use cases: URL vetting, the operator's default endpoint, the delivery log."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.db.models import WebhookEndpoint
from reelhouse.errors import InvalidParameters, NotFound
from reelhouse.outbound import OutboundFailed, OutboundRefused, Policy
from reelhouse.outbound.policy import IPAddress
from reelhouse.webhooks import endpoints
from tests.unit.webhooks.conftest import T0, Clock

Sessions = async_sessionmaker[AsyncSession]


def resolver_to(*addresses: str):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> Sequence[IPAddress]:
        if not addresses:
            raise OutboundFailed("resolve_failed", f"{host} does not resolve")
        return [ipaddress.ip_address(a) for a in addresses]

    return resolve


@pytest.mark.parametrize(
    ("url", "addresses", "policy", "refused"),
    [
        ("https://hooks.example.com/x", ("93.184.216.34",), Policy(), None),
        ("http://hooks.example.com:8080/x", ("93.184.216.34",), Policy(), None),
        ("https://not-yet.example.com/", (), Policy(), None),  # vetted again at delivery
        ("https://evil.example.com/", ("10.0.0.5",), Policy(), "private"),
        ("https://evil.example.com/", ("93.184.216.34", "127.0.0.1"), Policy(), "loopback"),
        ("http://127.0.0.1:9000/", (), Policy(), "loopback"),
        ("http://127.0.0.1:9000/", (), Policy(allow_private=True), None),
        ("http://169.254.169.254/", (), Policy(allow_private=True), "metadata"),
        ("http://localhost/", (), Policy(), "localhost"),
        ("ftp://hooks.example.com/", (), Policy(), "scheme"),
        ("not a url", (), Policy(), "scheme"),
    ],
)
async def test_validate_url(
    url: str, addresses: tuple[str, ...], policy: Policy, refused: str | None
) -> None:
    resolve = resolver_to(*addresses)
    if refused is None:
        assert await endpoints.validate_url(url, policy, resolve) == url
        return
    with pytest.raises(OutboundRefused) as caught:
        await endpoints.validate_url(url, policy, resolve)
    assert caught.value.reason == refused


@pytest.mark.parametrize("url", ["", "https://a.example.com/" + "x" * 2048])
async def test_validate_url_length(url: str) -> None:
    with pytest.raises(InvalidParameters):
        await endpoints.validate_url(url, Policy(), resolver_to("93.184.216.34"))


async def test_validate_url_refuses_credentials() -> None:
    with pytest.raises(InvalidParameters):
        await endpoints.validate_url(
            "https://u:p@hooks.example.com/", Policy(), resolver_to("93.184.216.34")
        )


async def test_ensure_default_endpoint_is_idempotent(wh_sessions: Sessions, env_id: str) -> None:
    clock = Clock()
    async with wh_sessions.begin() as session:
        first = await endpoints.ensure_default_endpoint(
            session, env_id, "http://127.0.0.1:1/a", "s1", now=clock()
        )
    clock.advance(60)
    async with wh_sessions.begin() as session:
        await endpoints.update_endpoint(session, env_id, first.id, now=clock(), enabled=False)
        again = await endpoints.ensure_default_endpoint(
            session, env_id, "http://127.0.0.1:1/a", "s1", now=clock()
        )
        moved = await endpoints.ensure_default_endpoint(
            session, env_id, "http://127.0.0.1:2/b", "s2", now=clock()
        )
        kept = await endpoints.ensure_default_endpoint(
            session, env_id, "http://127.0.0.1:2/b", None, now=clock()
        )
        count = await session.scalar(
            select(func.count()).where(WebhookEndpoint.environment_id == env_id)
        )
    assert first.operator_trusted and first.enabled and first.secret == "s1"
    assert again.id == moved.id == kept.id == first.id
    assert again.enabled
    assert (moved.url, moved.secret) == ("http://127.0.0.1:2/b", "s2")
    assert kept.secret == "s2"
    assert kept.created_at == T0
    assert count == 1


async def test_default_endpoint_without_a_secret_gets_one(
    wh_sessions: Sessions, env_id: str
) -> None:
    async with wh_sessions.begin() as session:
        row = await endpoints.ensure_default_endpoint(
            session, env_id, "http://127.0.0.1:1/", None, now=T0
        )
    assert len(row.secret) >= 40


async def test_other_environments_endpoints_are_not_found(
    wh_sessions: Sessions, env_id: str
) -> None:
    async with wh_sessions.begin() as session:
        row = await endpoints.create_endpoint(session, env_id, "https://h.example.com/", now=T0)
    for call in (
        lambda s: endpoints.get_endpoint(s, "other", row.id),
        lambda s: endpoints.update_endpoint(s, "other", row.id, now=T0, enabled=False),
        lambda s: endpoints.delete_endpoint(s, "other", row.id),
        lambda s: endpoints.rotate_secret(s, "other", row.id, now=T0),
        lambda s: endpoints.list_deliveries(s, "other", row.id),
    ):
        async with wh_sessions() as session:
            with pytest.raises(NotFound):
                await call(session)


async def test_rotate_secret_changes_it(wh_sessions: Sessions, env_id: str) -> None:
    async with wh_sessions.begin() as session:
        row = await endpoints.create_endpoint(session, env_id, "https://h.example.com/", now=T0)
        old = row.secret
        rotated = await endpoints.rotate_secret(session, env_id, row.id, now=T0)
    assert rotated.secret != old


def test_views_show_the_secret_only_when_asked() -> None:
    row = WebhookEndpoint(
        id="w1",
        url="https://h.example.com/",
        secret="s",
        enabled=True,
        operator_trusted=False,
        created_at=T0,
        updated_at=T0,
    )
    assert "signing_secret" not in endpoints.endpoint_view(row)
    assert endpoints.endpoint_view(row, with_secret=True)["signing_secret"] == "s"
    assert endpoints.endpoint_view(row)["address"] == row.url


def test_parse_event_id() -> None:
    with pytest.raises(NotFound):
        endpoints.parse_event_id("nope")
