"""GET /video/v1/uploads/{id}."""

from __future__ import annotations

import httpx

from tests.http.conftest import JSON, Caller


async def test_get_returns_the_upload(client: httpx.AsyncClient, caller: Caller) -> None:
    created = (await client.post("/video/v1/uploads", json={}, auth=caller.auth)).json()["data"]
    # mux-python sends a JSON content type on GET too.
    response = await client.get(
        f"/video/v1/uploads/{created['id']}", headers=JSON, auth=caller.auth
    )
    assert response.status_code == 200
    assert response.json() == {"data": created}


async def test_another_environments_upload_is_404(
    client: httpx.AsyncClient, caller: Caller, other_caller: Caller
) -> None:
    created = (await client.post("/video/v1/uploads", json={}, auth=caller.auth)).json()["data"]
    response = await client.get(f"/video/v1/uploads/{created['id']}", auth=other_caller.auth)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"


async def test_unknown_id_is_404(client: httpx.AsyncClient, caller: Caller) -> None:
    response = await client.get("/video/v1/uploads/0000000000000000000000000000", auth=caller.auth)
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "type": "not_found",
            "messages": [
                "The requested resource either doesn't exist or you don't have access to it."
            ],
        }
    }
