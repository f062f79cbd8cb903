"""PUT /video/v1/uploads/{id}/cancel."""

from __future__ import annotations

import httpx

from tests.http.conftest import JSON, Caller


async def test_cancel_then_cancel_again(client: httpx.AsyncClient, caller: Caller) -> None:
    created = (await client.post("/video/v1/uploads", json={}, auth=caller.auth)).json()["data"]
    for _ in range(2):
        response = await client.put(
            f"/video/v1/uploads/{created['id']}/cancel", headers=JSON, auth=caller.auth
        )
        assert response.status_code == 200
        upload = response.json()["data"]
        assert upload["status"] == "cancelled"
        assert "url" not in upload
    got = await client.get(f"/video/v1/uploads/{created['id']}", auth=caller.auth)
    assert got.json()["data"]["status"] == "cancelled"


async def test_another_environment_cannot_cancel(
    client: httpx.AsyncClient, caller: Caller, other_caller: Caller
) -> None:
    created = (await client.post("/video/v1/uploads", json={}, auth=caller.auth)).json()["data"]
    response = await client.put(f"/video/v1/uploads/{created['id']}/cancel", auth=other_caller.auth)
    assert response.status_code == 404
    got = await client.get(f"/video/v1/uploads/{created['id']}", auth=caller.auth)
    assert got.json()["data"]["status"] == "waiting"
