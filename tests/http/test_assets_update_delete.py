"""PATCH and DELETE /video/v1/assets/{id}."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.media.tokens import VIDEO_READ
from reelhouse.storage.errors import ObjectNotFound
from tests.http.conftest import BASE_URL, Caller, DeletedObjects, build_app, make_caller

URL = "https://media.example/in.mp4"


@pytest.fixture
def deleted() -> DeletedObjects:
    return DeletedObjects()


@pytest.fixture
async def client(
    sessions: async_sessionmaker[AsyncSession], deleted: DeletedObjects
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(sessions, deleted_objects=deleted))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def _create(client: httpx.AsyncClient, caller: Caller) -> dict[str, Any]:
    body = {"input": URL, "passthrough": "before", "meta": {"title": "a"}}
    response = await client.post("/video/v1/assets", json=body, auth=caller.auth)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_patch_changes_passthrough_and_meta(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    asset = await _create(client, caller)
    path = f"/video/v1/assets/{asset['id']}"
    response = await client.patch(path, json={"passthrough": "after"}, auth=caller.auth)
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["passthrough"] == "after" and updated["meta"] == {"title": "a"}
    response = await client.patch(path, json={"meta": {"creator_id": "c"}}, auth=caller.auth)
    assert response.json()["data"]["meta"] == {"creator_id": "c"}
    assert (await client.get(path, auth=caller.auth)).json()["data"]["passthrough"] == "after"


@pytest.mark.parametrize(
    "body", [{"status": "ready"}, {"passthrough": "x" * 256}, {"meta": {"title": 1, "x": 2}}]
)
async def test_patch_rejects_what_it_cannot_change(
    client: httpx.AsyncClient, caller: Caller, body: dict[str, Any]
) -> None:
    asset = await _create(client, caller)
    response = await client.patch(f"/video/v1/assets/{asset['id']}", json=body, auth=caller.auth)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_parameters"


async def test_patch_foreign_or_read_only_is_refused(
    client: httpx.AsyncClient,
    caller: Caller,
    other_caller: Caller,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    asset = await _create(client, caller)
    path = f"/video/v1/assets/{asset['id']}"
    response = await client.patch(path, json={"passthrough": "x"}, auth=other_caller.auth)
    assert response.status_code == 404
    reader = await make_caller(sessions, (VIDEO_READ,))
    assert (await client.patch(path, json={}, auth=reader.auth)).status_code == 403


async def test_delete_is_204_then_404_and_removes_objects(
    client: httpx.AsyncClient, caller: Caller, deleted: DeletedObjects
) -> None:
    asset = await _create(client, caller)
    path = f"/video/v1/assets/{asset['id']}"
    response = await client.delete(path, auth=caller.auth)
    assert response.status_code == 204 and response.content == b""
    assert deleted.calls == [(caller.environment_id, asset["id"])]
    assert (await client.get(path, auth=caller.auth)).status_code == 404
    assert (await client.delete(path, auth=caller.auth)).status_code == 404
    assert deleted.calls == [(caller.environment_id, asset["id"])]


async def test_delete_of_a_foreign_asset_is_404(
    client: httpx.AsyncClient, caller: Caller, other_caller: Caller, deleted: DeletedObjects
) -> None:
    asset = await _create(client, caller)
    path = f"/video/v1/assets/{asset['id']}"
    assert (await client.delete(path, auth=other_caller.auth)).status_code == 404
    assert deleted.calls == []
    assert (await client.get(path, auth=caller.auth)).status_code == 200


async def test_a_storage_failure_after_the_delete_still_answers_204(
    sessions: async_sessionmaker[AsyncSession], caller: Caller
) -> None:
    class Failing(DeletedObjects):
        async def record(self, environment_id: str, asset_id: str) -> None:
            raise ObjectNotFound("gone already")

    transport = httpx.ASGITransport(app=build_app(sessions, deleted_objects=Failing()))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        asset = await _create(client, caller)
        response = await client.delete(f"/video/v1/assets/{asset['id']}", auth=caller.auth)
    assert response.status_code == 204
