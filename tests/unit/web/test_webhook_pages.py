"""The webhook pages in-process: permissions and CSRF, adding an endpoint through the outbound
guard (secret shown once), the delivery log with the status codes a real receiver on 127.0.0.1
answered, replaying an event, rotating the secret, disabling and deleting."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from reelhouse.db.models import WebhookDelivery, WebhookEndpoint
from reelhouse.media.outbox import append_event
from reelhouse.outbound import Policy
from reelhouse.webhooks.delivery import WebhookDeps, deliver
from reelhouse.webhooks.dispatch import create_deliveries

from .dashboard_app import (
    Clock,
    Sessions,
    assert_needs_system_read,
    dashboard_client,
    dashboard_deps,
    make_token,
    new_environment,
    readonly_value,
    rows_in,
    sign_in,
)

WRITER = ["system:read", "system:write"]
ASSET_ID = "a" * 28


class Receiver:
    """An HTTP server on 127.0.0.1 answering each POST with the next queued status (200 when
    none is queued) and keeping the bodies."""

    def __init__(self) -> None:
        self.statuses: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.bodies.append(self.rfile.read(int(self.headers["content-length"])))
                try:
                    status = receiver.statuses.get_nowait()
                except queue.Empty:
                    status = 200
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hooks = Receiver()
    yield hooks
    hooks.server.shutdown()
    hooks.server.server_close()


@dataclass(frozen=True)
class Added:
    csrf: str
    endpoint_id: str
    secret: str
    url: str  # the receiver's


@pytest.fixture
async def added(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str, receiver: Receiver
) -> Added:
    """A session with system:read and system:write, and an endpoint it added at the receiver."""
    csrf = await sign_in(client, await make_token(sessions, environment_id, WRITER))
    return Added(csrf, *await add_endpoint(client, csrf, receiver.url), receiver.url)


async def add_endpoint(client: httpx.AsyncClient, csrf: str, url: str) -> tuple[str, str]:
    """Add ``url`` through the page; returns the endpoint id and the secret it showed."""
    response = await client.post("/webhooks", data={"csrf": csrf, "url": url})
    assert response.status_code == 201, response.text
    found = re.search(r"<dt>Id</dt><dd><code>([^<]+)</code>", response.text)
    assert found
    return found.group(1), readonly_value(response.text, "secret")


def sender(sessions: Sessions, clock: Clock) -> WebhookDeps:
    """What the delivery job runs with, allowed to reach the receiver on loopback."""
    return WebhookDeps(
        sessions=sessions, clock=clock, random=lambda: 0.5, policy=Policy(allow_private=True)
    )


async def delivered_event(
    sessions: Sessions, clock: Clock, environment_id: str, endpoint_id: str, attempts: int
) -> tuple[str, int]:
    """An asset event queued for the endpoint and sent ``attempts`` times; its id and the
    delivery's."""
    async with sessions.begin() as session:
        event = await append_event(
            session,
            environment_id=environment_id,
            type="video.asset.ready",
            object_type="asset",
            object_id=ASSET_ID,
            data={"id": ASSET_ID, "status": "ready"},
            now=clock(),
        )
        (delivery,) = await create_deliveries(session, event, [endpoint_id], now=clock())
        event_id, delivery_id = str(event.id), delivery.id
    deps = sender(sessions, clock)
    for _ in range(attempts):
        clock.advance(1)
        await deliver(deps, delivery_id)
    return event_id, delivery_id


async def test_signed_out_and_unpermitted_sessions_are_turned_away(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    await assert_needs_system_read(client, sessions, environment_id, "/webhooks")


async def test_read_only_session_sees_endpoints_but_cannot_change_them(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str, receiver: Receiver
) -> None:
    csrf = await sign_in(client, await make_token(sessions, environment_id, ["system:read"]))
    empty = await client.get("/webhooks")
    assert empty.status_code == 200
    assert 'id="empty-webhooks"' in empty.text
    assert 'id="add-endpoint"' not in empty.text
    refused = await client.post("/webhooks", data={"csrf": csrf, "url": receiver.url})
    assert refused.status_code == 403
    assert "<code>system:write</code>" in refused.text
    assert await rows_in(sessions, WebhookEndpoint, environment_id) == []


async def test_posts_without_the_session_csrf_change_nothing(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str, added: Added
) -> None:
    endpoint_id, secret = added.endpoint_id, added.secret
    for path in ("/webhooks", f"/webhooks/{endpoint_id}/rotate", f"/webhooks/{endpoint_id}"):
        response = await client.post(path, data={"url": added.url + "/other"})
        assert response.status_code == 403
        assert "did not come from this dashboard" in response.text
    deleted = await client.post(f"/webhooks/{endpoint_id}/delete", data={"confirm": "yes"})
    assert deleted.status_code == 403
    (endpoint,) = await rows_in(sessions, WebhookEndpoint, environment_id)
    assert (endpoint.url, endpoint.secret, endpoint.enabled) == (added.url, secret, True)


async def test_add_shows_the_secret_once(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str, added: Added
) -> None:
    endpoint_id, secret = added.endpoint_id, added.secret
    (endpoint,) = await rows_in(sessions, WebhookEndpoint, environment_id)
    assert (endpoint.id, endpoint.secret, endpoint.url) == (endpoint_id, secret, added.url)
    assert not endpoint.operator_trusted
    listing = await client.get("/webhooks")
    assert f'href="/webhooks/{endpoint_id}"' in listing.text
    assert 'id="empty-webhooks"' not in listing.text
    detail = await client.get(f"/webhooks/{endpoint_id}")
    assert detail.status_code == 200
    assert secret not in detail.text
    assert 'id="empty-deliveries"' in detail.text


async def test_the_outbound_guard_refuses_internal_urls(
    sessions: Sessions, environment_id: str
) -> None:
    deps = dashboard_deps(sessions, Clock())
    async with dashboard_client(deps, system_pages=True, webhook_policy=Policy()) as client:
        csrf = await sign_in(client, await make_token(sessions, environment_id, WRITER))
        for url in ("http://127.0.0.1:9/hooks", "http://169.254.169.254/", "ftp://x.example/"):
            response = await client.post("/webhooks", data={"csrf": csrf, "url": url})
            assert response.status_code == 400
            assert 'id="form-error"' in response.text
            assert f'value="{url}"' in response.text  # the form keeps what was typed
        accepted = await client.post(
            "/webhooks", data={"csrf": csrf, "url": "https://93.184.216.34/hooks"}
        )
        assert accepted.status_code == 201
    assert [e.url for e in await rows_in(sessions, WebhookEndpoint, environment_id)] == [
        "https://93.184.216.34/hooks"
    ]


async def test_delivery_log_shows_status_codes_and_attempts(
    client: httpx.AsyncClient,
    sessions: Sessions,
    clock: Clock,
    environment_id: str,
    receiver: Receiver,
    added: Added,
) -> None:
    endpoint_id = added.endpoint_id
    receiver.statuses.put(503)
    await delivered_event(sessions, clock, environment_id, endpoint_id, attempts=1)
    page = (await client.get(f"/webhooks/{endpoint_id}")).text
    row = re.search(r'<tr class="rh-delivery" data-status="(\w+)".*?</tr>', page, re.S)
    assert row and row.group(1) == "pending"
    assert '<td data-label="HTTP status" class="rh-http-status">503</td>' in row.group(0)
    assert "HTTP 503" in row.group(0)

    await delivered_event(sessions, clock, environment_id, endpoint_id, attempts=0)
    async with sessions() as session:
        first = await session.scalar(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id)
        )
    assert first is not None
    clock.advance(60)
    assert await deliver(sender(sessions, clock), first) == "delivered"
    page = (await client.get(f"/webhooks/{endpoint_id}")).text
    rows = re.findall(r'<tr class="rh-delivery" data-status="(\w+)".*?</tr>', page, re.S)
    assert rows == ["pending", "delivered"]  # newest first
    delivered = re.findall(r'<tr class="rh-delivery".*?</tr>', page, re.S)[1]
    assert 'class="rh-http-status">200</td>' in delivered
    assert "<summary>2</summary>" in delivered
    assert delivered.index("HTTP 503") < delivered.index("HTTP 200")
    assert f'href="/assets/{ASSET_ID}"' in delivered
    assert len(receiver.bodies) == 2


async def test_replay_queues_a_new_delivery_of_the_same_event(
    client: httpx.AsyncClient, sessions: Sessions, clock: Clock, environment_id: str, added: Added
) -> None:
    csrf, endpoint_id = added.csrf, added.endpoint_id
    event_id, delivery_id = await delivered_event(
        sessions, clock, environment_id, endpoint_id, attempts=1
    )
    response = await client.post(
        f"/webhooks/{endpoint_id}/replay", data={"csrf": csrf, "event_id": event_id}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/webhooks/{endpoint_id}?replayed=1"
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint_id)
                .order_by(WebhookDelivery.id)
            )
        ).all()
    assert [(str(r.event_id), r.replay, r.status) for r in rows] == [
        (event_id, False, "delivered"),
        (event_id, True, "pending"),
    ]
    assert rows[0].id == delivery_id
    page = (await client.get(response.headers["location"])).text
    assert 'id="replayed"' in page
    assert '<span class="rh-tag">replay</span>' in page

    for bad in ("not-a-uuid", "00000000-0000-4000-8000-000000000000"):
        missing = await client.post(
            f"/webhooks/{endpoint_id}/replay", data={"csrf": csrf, "event_id": bad}
        )
        assert missing.status_code == 404
        assert "not in this environment" in missing.text


async def test_another_environments_event_and_endpoint_are_not_found(
    client: httpx.AsyncClient,
    sessions: Sessions,
    clock: Clock,
    environment_id: str,
    receiver: Receiver,
) -> None:
    elsewhere = await new_environment(sessions)
    async with sessions.begin() as session:
        foreign = WebhookEndpoint(
            id="f" * 28,
            environment_id=elsewhere,
            url=receiver.url,
            secret="s",
            enabled=True,
            operator_trusted=False,
            created_at=clock(),
            updated_at=clock(),
        )
        session.add(foreign)
    foreign_event, _ = await delivered_event(sessions, clock, elsewhere, foreign.id, attempts=0)
    csrf = await sign_in(client, await make_token(sessions, environment_id, WRITER))
    own_id, _ = await add_endpoint(client, csrf, receiver.url)
    assert (await client.get(f"/webhooks/{foreign.id}")).status_code == 404
    rotated = await client.post(f"/webhooks/{foreign.id}/rotate", data={"csrf": csrf})
    assert rotated.status_code == 404
    replayed = await client.post(
        f"/webhooks/{own_id}/replay", data={"csrf": csrf, "event_id": foreign_event}
    )
    assert replayed.status_code == 404
    assert "f" * 28 not in (await client.get("/webhooks")).text
    (kept,) = await rows_in(sessions, WebhookEndpoint, elsewhere)
    assert kept.secret == "s"


async def test_rotate_shows_a_new_secret_once(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str, added: Added
) -> None:
    csrf, endpoint_id, old = added.csrf, added.endpoint_id, added.secret
    response = await client.post(f"/webhooks/{endpoint_id}/rotate", data={"csrf": csrf})
    assert response.status_code == 200
    assert "New signing secret" in response.text
    new = readonly_value(response.text, "secret")
    assert new != old
    (endpoint,) = await rows_in(sessions, WebhookEndpoint, environment_id)
    assert endpoint.secret == new
    assert new not in (await client.get(f"/webhooks/{endpoint_id}")).text


async def test_disable_change_url_and_delete(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str, added: Added
) -> None:
    csrf, endpoint_id = added.csrf, added.endpoint_id
    moved = added.url + "/v2"
    saved = await client.post(f"/webhooks/{endpoint_id}", data={"csrf": csrf, "url": moved})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/webhooks/{endpoint_id}?saved=1"
    (endpoint,) = await rows_in(sessions, WebhookEndpoint, environment_id)
    assert (endpoint.url, endpoint.enabled) == (moved, False)  # an unticked box disables
    enabled = await client.post(
        f"/webhooks/{endpoint_id}", data={"csrf": csrf, "url": moved, "enabled": "on"}
    )
    assert enabled.status_code == 303
    bad = await client.post(
        f"/webhooks/{endpoint_id}", data={"csrf": csrf, "url": "gopher://x/", "enabled": "on"}
    )
    assert bad.status_code == 400
    assert 'id="form-error"' in bad.text
    (endpoint,) = await rows_in(sessions, WebhookEndpoint, environment_id)
    assert (endpoint.url, endpoint.enabled) == (moved, True)

    unconfirmed = await client.post(f"/webhooks/{endpoint_id}/delete", data={"csrf": csrf})
    assert unconfirmed.status_code == 400
    assert len(await rows_in(sessions, WebhookEndpoint, environment_id)) == 1
    deleted = await client.post(
        f"/webhooks/{endpoint_id}/delete", data={"csrf": csrf, "confirm": "yes"}
    )
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/webhooks?deleted=1")
    assert await rows_in(sessions, WebhookEndpoint, environment_id) == []
    assert (await client.get(f"/webhooks/{endpoint_id}")).status_code == 404


async def test_delivery_log_pages_show_every_line_once(
    client: httpx.AsyncClient, sessions: Sessions, clock: Clock, environment_id: str, added: Added
) -> None:
    endpoint_id = added.endpoint_id
    events = [
        (await delivered_event(sessions, clock, environment_id, endpoint_id, attempts=0))[0]
        for _ in range(27)
    ]
    first = (await client.get(f"/webhooks/{endpoint_id}")).text
    second = (await client.get(f"/webhooks/{endpoint_id}?page=2")).text
    shown = [re.findall(r'data-event-id="([^"]+)"', page) for page in (first, second)]
    assert [len(s) for s in shown] == [25, 2]
    assert shown[0] + shown[1] == events[::-1]
    assert f'href="/webhooks/{endpoint_id}?page=2">Older' in first
    assert "Older" not in second
    assert f'href="/webhooks/{endpoint_id}?page=1">Newer' in second
