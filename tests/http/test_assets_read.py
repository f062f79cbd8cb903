"""GET /video/v1/assets/{id}, GET /video/v1/assets (cursor and page) and
GET /video/v1/assets/{id}/input-info."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.media import assets
from reelhouse.media.tokens import VIDEO_WRITE
from tests.http.conftest import Caller, make_caller

URL = "https://media.example/in.mp4"


async def _create(client: httpx.AsyncClient, caller: Caller, **extra: Any) -> dict[str, Any]:
    body = {"input": URL, "playback_policy": ["public"], **extra}
    response = await client.post("/video/v1/assets", json=body, auth=caller.auth)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_get_returns_the_created_asset(client: httpx.AsyncClient, caller: Caller) -> None:
    created = await _create(client, caller, passthrough="p")
    response = await client.get(f"/video/v1/assets/{created['id']}", auth=caller.auth)
    assert response.status_code == 200
    assert response.json() == {"data": created}


async def test_get_unknown_malformed_or_foreign_is_404(
    client: httpx.AsyncClient, caller: Caller, other_caller: Caller
) -> None:
    created = await _create(client, caller)
    for asset_id, who in (("0" * 28, caller), ("a%2Fb", caller), (created["id"], other_caller)):
        response = await client.get(f"/video/v1/assets/{asset_id}", auth=who.auth)
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "not_found"


async def test_list_follows_next_cursor_until_null(
    client: httpx.AsyncClient, caller: Caller, other_caller: Caller
) -> None:
    made = [(await _create(client, caller))["id"] for _ in range(5)]
    await _create(client, other_caller)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        response = await client.get("/video/v1/assets", params=params, auth=caller.auth)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"data", "next_cursor"}
        seen.extend(a["id"] for a in body["data"])
        pages += 1
        if not body["next_cursor"]:
            assert body["next_cursor"] is None
            break
        params = {"limit": 2, "cursor": body["next_cursor"]}
    assert pages == 3
    assert sorted(seen) == sorted(made) and len(seen) == 5


async def test_list_by_page(client: httpx.AsyncClient, caller: Caller) -> None:
    made = [(await _create(client, caller))["id"] for _ in range(3)]
    first = (await client.get("/video/v1/assets?limit=2&page=1", auth=caller.auth)).json()
    second = (await client.get("/video/v1/assets?limit=2&page=2", auth=caller.auth)).json()
    past = (await client.get("/video/v1/assets?limit=2&page=3", auth=caller.auth)).json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    assert len(second["data"]) == 1 and second["next_cursor"] is None
    assert past == {"data": [], "next_cursor": None}
    assert sorted(a["id"] for a in first["data"] + second["data"]) == sorted(made)


async def test_list_filters_and_bad_parameters(client: httpx.AsyncClient, caller: Caller) -> None:
    await _create(client, caller)
    empty: dict[str, Any] = {"data": [], "next_cursor": None}
    response = await client.get("/video/v1/assets?upload_id=" + "0" * 28, auth=caller.auth)
    assert response.json() == empty
    response = await client.get("/video/v1/assets?live_stream_id=ls1", auth=caller.auth)
    assert response.json() == empty
    for query in ("limit=0", "limit=101", "page=0", "cursor=%%%", "cursor=bm90LWpzb24"):
        response = await client.get(f"/video/v1/assets?{query}", auth=caller.auth)
        assert response.status_code == 400, query
        assert response.json()["error"]["type"] == "invalid_parameters"


async def test_reading_needs_video_read(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    writer = await make_caller(sessions, (VIDEO_WRITE,))
    assert (await client.get("/video/v1/assets", auth=writer.auth)).status_code == 403
    assert (await client.get("/video/v1/assets")).status_code == 401


async def test_input_info(
    client: httpx.AsyncClient,
    caller: Caller,
    other_caller: Caller,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    created = await _create(client, caller)
    path = f"/video/v1/assets/{created['id']}/input-info"
    response = await client.get(path, auth=caller.auth)
    assert response.status_code == 200 and response.json() == {"data": []}
    file = {
        "container_format": "mov,mp4,m4a,3gp,3g2,mj2",
        "tracks": [{"type": "video", "duration": 10.0, "encoding": "h264", "width": 640}],
    }
    async with sessions.begin() as s:
        row = await assets.get_asset(s, caller.environment_id, created["id"])
        row.input_info = [{"file": file}]
    response = await client.get(path, auth=caller.auth)
    assert response.json() == {"data": [{"settings": {"url": URL}, "file": file}]}
    assert (await client.get(path, auth=other_caller.auth)).status_code == 404
