"""/video/v1/assets/{id}/playback-ids[/{pid}] and GET /video/v1/playback-ids/{pid}."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.media.tokens import VIDEO_READ
from tests.http.conftest import JSON, Caller, make_caller


async def _asset(client: httpx.AsyncClient, caller: Caller) -> str:
    body = {"input": "https://media.example/in.mp4"}
    response = await client.post("/video/v1/assets", json=body, auth=caller.auth)
    assert response.status_code == 201, response.text
    asset_id: str = response.json()["data"]["id"]
    return asset_id


async def test_create_get_lookup_delete(client: httpx.AsyncClient, caller: Caller) -> None:
    asset_id = await _asset(client, caller)
    base = f"/video/v1/assets/{asset_id}/playback-ids"
    response = await client.post(base, json={"policy": "signed"}, auth=caller.auth)
    assert response.status_code == 201, response.text
    pid = response.json()["data"]
    assert pid["policy"] == "signed" and set(pid) == {"id", "policy"} and len(pid["id"]) >= 22

    response = await client.get(f"{base}/{pid['id']}", auth=caller.auth)
    assert response.status_code == 200 and response.json() == {"data": pid}
    asset = (await client.get(f"/video/v1/assets/{asset_id}", auth=caller.auth)).json()["data"]
    assert asset["playback_ids"] == [pid]

    response = await client.get(f"/video/v1/playback-ids/{pid['id']}", auth=caller.auth)
    assert response.status_code == 200
    assert response.json() == {"data": {**pid, "object": {"type": "asset", "id": asset_id}}}

    response = await client.delete(f"{base}/{pid['id']}", auth=caller.auth)
    assert response.status_code == 204 and response.content == b""
    assert (await client.get(f"{base}/{pid['id']}", auth=caller.auth)).status_code == 404
    assert (await client.delete(f"{base}/{pid['id']}", auth=caller.auth)).status_code == 404
    lookup = await client.get(f"/video/v1/playback-ids/{pid['id']}", auth=caller.auth)
    assert lookup.status_code == 404


async def test_policy_defaults_to_public(client: httpx.AsyncClient, caller: Caller) -> None:
    asset_id = await _asset(client, caller)
    path = f"/video/v1/assets/{asset_id}/playback-ids"
    responses = [
        await client.post(path, json={}, auth=caller.auth),
        await client.post(path, content=b"", headers=JSON, auth=caller.auth),
    ]
    for response in responses:
        assert response.status_code == 201, response.text
        assert response.json()["data"]["policy"] == "public"


@pytest.mark.parametrize("body", [{"policy": "drm"}, {"policy": "public", "x": 1}])
async def test_bad_create_is_400(
    client: httpx.AsyncClient, caller: Caller, body: dict[str, Any]
) -> None:
    asset_id = await _asset(client, caller)
    path = f"/video/v1/assets/{asset_id}/playback-ids"
    response = await client.post(path, json=body, auth=caller.auth)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_parameters"


async def test_another_environment_sees_nothing(
    client: httpx.AsyncClient, caller: Caller, other_caller: Caller
) -> None:
    asset_id = await _asset(client, caller)
    base = f"/video/v1/assets/{asset_id}/playback-ids"
    pid = (await client.post(base, json={}, auth=caller.auth)).json()["data"]["id"]
    other = other_caller.auth
    assert (await client.post(base, json={}, auth=other)).status_code == 404
    assert (await client.get(f"{base}/{pid}", auth=other)).status_code == 404
    assert (await client.delete(f"{base}/{pid}", auth=other)).status_code == 404
    assert (await client.get(f"/video/v1/playback-ids/{pid}", auth=other)).status_code == 404
    # A playback id of one asset is not found under another asset of the same environment.
    second = await _asset(client, caller)
    path = f"/video/v1/assets/{second}/playback-ids/{pid}"
    assert (await client.get(path, auth=caller.auth)).status_code == 404
    assert (await client.get(f"{base}/{pid}", auth=caller.auth)).status_code == 200


async def test_unknown_asset_and_permissions(
    client: httpx.AsyncClient, caller: Caller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    missing = "/video/v1/assets/" + "0" * 28 + "/playback-ids"
    assert (await client.post(missing, json={}, auth=caller.auth)).status_code == 404
    asset_id = await _asset(client, caller)
    reader = await make_caller(sessions, (VIDEO_READ,))
    path = f"/video/v1/assets/{asset_id}/playback-ids"
    assert (await client.post(path, json={}, auth=reader.auth)).status_code == 403
    assert (await client.post(path, json={})).status_code == 401
