"""``/system/v1/webhooks`` and ``/system/v1/webhook-events/{id}/replay`` through the ASGI app."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.api.app import ApiDeps, build_api_router
from reelhouse.media import tokens
from reelhouse.media.outbox import append_event
from reelhouse.outbound import Policy, PostResult
from reelhouse.server.errors import install_error_handlers
from reelhouse.webhooks.delivery import WebhookDeps, deliver
from tests.http.conftest import BASE_URL, Caller, make_caller

PUBLIC = "https://93.184.216.34/hooks"  # a literal public address: no DNS in tests
Sessions = async_sessionmaker[AsyncSession]


async def _unused(*args: Any) -> None:
    raise AssertionError("not used by the webhook routes")


def webhook_app(sessions: Sessions, *, allow_private: bool = False) -> FastAPI:
    values: dict[str, Any] = {
        "sessions": sessions,
        "base_url": BASE_URL,
        "clock": lambda: datetime.now(UTC),
        "default_max_upload_bytes": 1 << 30,
        "webhook_allow_private": allow_private,
    }
    for f in dataclasses.fields(ApiDeps):  # what other surfaces need, left as stubs
        required = f.default is f.default_factory is dataclasses.MISSING
        if f.name not in values and required:
            values[f.name] = _unused
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(build_api_router(ApiDeps(**values)))
    return app


@pytest.fixture
async def api(sessions: Sessions) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=webhook_app(sessions))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def create(api: httpx.AsyncClient, caller: Caller, **body: Any) -> dict[str, Any]:
    response = await api.post("/system/v1/webhooks", json=body or {"url": PUBLIC}, auth=caller.auth)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


async def test_create_returns_the_secret_once(api: httpx.AsyncClient, caller: Caller) -> None:
    made = await create(api, caller, url=PUBLIC)
    assert set(made) >= {"id", "url", "enabled", "created_at", "signing_secret"}
    assert (made["url"], made["address"], made["enabled"]) == (PUBLIC, PUBLIC, True)
    assert made["created_at"].endswith("Z") and len(made["signing_secret"]) >= 40
    got = (await api.get(f"/system/v1/webhooks/{made['id']}", auth=caller.auth)).json()["data"]
    assert "signing_secret" not in got
    listed = (await api.get("/system/v1/webhooks", auth=caller.auth)).json()["data"]
    assert [row["id"] for row in listed] == [made["id"]]
    assert all("signing_secret" not in row for row in listed)


async def test_create_accepts_mux_address_and_disabled(
    api: httpx.AsyncClient, caller: Caller
) -> None:
    made = await create(api, caller, address=PUBLIC, enabled=False)
    assert (made["url"], made["enabled"]) == (PUBLIC, False)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({}, "invalid_parameters"),
        ({"url": "ftp://93.184.216.34/"}, "outbound_refused"),
        ({"url": "http://127.0.0.1:8080/hook"}, "outbound_refused"),
        ({"url": "http://10.1.2.3/hook"}, "outbound_refused"),
        ({"url": "http://169.254.169.254/latest"}, "outbound_refused"),
        ({"url": "http://localhost/hook"}, "outbound_refused"),
        ({"url": "http://[::1]/hook"}, "outbound_refused"),
        ({"url": PUBLIC, "enabled": "maybe"}, "invalid_parameters"),
    ],
)
async def test_create_refuses(
    api: httpx.AsyncClient, caller: Caller, body: dict[str, Any], kind: str
) -> None:
    response = await api.post("/system/v1/webhooks", json=body, auth=caller.auth)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == kind


async def test_private_targets_when_the_operator_allows(sessions: Sessions, caller: Caller) -> None:
    transport = httpx.ASGITransport(app=webhook_app(sessions, allow_private=True))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as api:
        made = await create(api, caller, url="http://127.0.0.1:8080/hook")
        assert made["url"] == "http://127.0.0.1:8080/hook"
        metadata = {"url": "http://169.254.169.254/"}
        response = await api.post("/system/v1/webhooks", json=metadata, auth=caller.auth)
        assert response.status_code == 400


async def test_patch_changes_url_and_enabled(api: httpx.AsyncClient, caller: Caller) -> None:
    made = await create(api, caller)
    path = f"/system/v1/webhooks/{made['id']}"
    response = await api.patch(path, json={"enabled": False}, auth=caller.auth)
    assert response.status_code == 200
    assert (response.json()["data"]["enabled"], response.json()["data"]["url"]) == (False, PUBLIC)
    other = "https://93.184.216.35/new"
    response = await api.patch(path, json={"url": other, "enabled": True}, auth=caller.auth)
    assert (response.json()["data"]["url"], response.json()["data"]["enabled"]) == (other, True)
    assert "signing_secret" not in response.json()["data"]
    response = await api.patch(path, json={"url": "http://127.0.0.1/"}, auth=caller.auth)
    assert response.status_code == 400
    got = (await api.get(path, auth=caller.auth)).json()["data"]
    assert got["url"] == other


async def test_delete(api: httpx.AsyncClient, caller: Caller) -> None:
    made = await create(api, caller)
    path = f"/system/v1/webhooks/{made['id']}"
    response = await api.delete(path, auth=caller.auth)
    assert (response.status_code, response.content) == (204, b"")
    assert (await api.get(path, auth=caller.auth)).status_code == 404
    assert (await api.delete(path, auth=caller.auth)).status_code == 404


async def test_rotate_secret(api: httpx.AsyncClient, caller: Caller) -> None:
    made = await create(api, caller)
    response = await api.post(f"/system/v1/webhooks/{made['id']}/rotate-secret", auth=caller.auth)
    assert response.status_code == 200
    rotated = response.json()["data"]
    assert rotated["id"] == made["id"]
    assert rotated["signing_secret"] not in ("", made["signing_secret"])


async def test_pagination(api: httpx.AsyncClient, caller: Caller) -> None:
    ids = [(await create(api, caller))["id"] for _ in range(3)]
    page1 = await api.get("/system/v1/webhooks?limit=2&page=1", auth=caller.auth)
    page2 = await api.get("/system/v1/webhooks?limit=2&page=2", auth=caller.auth)
    assert [r["id"] for r in page1.json()["data"] + page2.json()["data"]] == ids
    assert (await api.get("/system/v1/webhooks?limit=0", auth=caller.auth)).status_code == 400


async def test_other_environment_sees_nothing(
    api: httpx.AsyncClient, caller: Caller, other_caller: Caller
) -> None:
    made = await create(api, caller)
    path = f"/system/v1/webhooks/{made['id']}"
    assert (await api.get("/system/v1/webhooks", auth=other_caller.auth)).json()["data"] == []
    for method, suffix in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/rotate-secret"),
        ("GET", "/deliveries"),
    ]:
        body = {"enabled": False} if method == "PATCH" else None
        response = await api.request(method, path + suffix, json=body, auth=other_caller.auth)
        assert response.status_code == 404, (method, suffix)
        assert response.json()["error"]["type"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "needs"),
    [
        ("POST", "/system/v1/webhooks", "system:write"),
        ("GET", "/system/v1/webhooks", "system:read"),
        ("GET", "/system/v1/webhooks/x", "system:read"),
        ("PATCH", "/system/v1/webhooks/x", "system:write"),
        ("DELETE", "/system/v1/webhooks/x", "system:write"),
        ("POST", "/system/v1/webhooks/x/rotate-secret", "system:write"),
        ("GET", "/system/v1/webhooks/x/deliveries", "system:read"),
        (
            "POST",
            f"/system/v1/webhook-events/{'0' * 8}-0000-0000-0000-{'0' * 12}/replay",
            "system:write",
        ),
    ],
)
async def test_permissions(
    api: httpx.AsyncClient, sessions: Sessions, method: str, path: str, needs: str
) -> None:
    body = {"url": PUBLIC} if method in ("POST", "PATCH") and "rotate" not in path else None
    assert (await api.request(method, path, json=body)).status_code == 401
    lacking = tuple(p for p in tokens.ALL_PERMISSIONS if p != needs)
    weak = await make_caller(sessions, lacking)
    response = await api.request(method, path, json=body, auth=weak.auth)
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "forbidden"


async def add_event(sessions: Sessions, environment_id: str) -> str:
    async with sessions.begin() as session:
        event = await append_event(
            session,
            environment_id=environment_id,
            type="video.asset.ready",
            object_type="asset",
            object_id="asset-1",
            data={"id": "asset-1"},
            now=datetime.now(UTC),
        )
        return str(event.id)


class AnswerWith:
    """A stand-in for the guarded POST: answers every request with ``status``."""

    def __init__(self, status: int) -> None:
        self.status = status

    async def __call__(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        policy: Policy,
        timeout: float | None = None,
    ) -> PostResult:
        return PostResult(self.status, {}, b"nope", 0.012)


async def test_replay_and_delivery_log(
    api: httpx.AsyncClient, sessions: Sessions, caller: Caller, other_caller: Caller
) -> None:
    on = await create(api, caller)
    await create(api, caller, url=PUBLIC, enabled=False)
    event_id = await add_event(sessions, caller.environment_id)

    response = await api.post(f"/system/v1/webhook-events/{event_id}/replay", auth=caller.auth)
    assert response.status_code == 200
    replayed = response.json()["data"]
    assert replayed["event_id"] == event_id
    assert [(d["webhook_id"], d["status"]) for d in replayed["deliveries"]] == [
        (on["id"], "pending")
    ]
    deps = WebhookDeps(
        sessions=sessions, clock=lambda: datetime.now(UTC), random=lambda: 0.5, post=AnswerWith(503)
    )
    await deliver(deps, int(replayed["deliveries"][0]["id"]))

    response = await api.get(f"/system/v1/webhooks/{on['id']}/deliveries", auth=caller.auth)
    assert response.status_code == 200
    [entry] = response.json()["data"]
    assert entry["event_id"] == event_id
    assert entry["type"] == "video.asset.ready"
    assert entry["object"] == {"type": "asset", "id": "asset-1"}
    assert (entry["status"], entry["attempt_count"], entry["replay"]) == ("pending", 1, True)
    assert (entry["last_status_code"], entry["last_error"]) == (503, "HTTP 503")
    [attempt] = entry["attempts"]
    assert attempt == {
        "attempt": 1,
        "status_code": 503,
        "latency_ms": 12,
        "error": "HTTP 503",
        "response_body": "nope",
        "created_at": attempt["created_at"],
    }
    assert entry["next_attempt_at"] is not None
    page2 = await api.get(
        f"/system/v1/webhooks/{on['id']}/deliveries?limit=1&page=2", auth=caller.auth
    )
    assert page2.json()["data"] == []

    # Another environment cannot replay it; ids that name nothing are 404.
    for who, event in [(other_caller, event_id), (caller, "not-a-uuid"), (caller, "0" * 32)]:
        response = await api.post(f"/system/v1/webhook-events/{event}/replay", auth=who.auth)
        assert response.status_code == 404, event
