"""GET /video/v1/uploads?limit&page."""

from __future__ import annotations

import httpx
import pytest

from tests.http.conftest import Caller


async def test_pages_newest_first_until_an_empty_page(
    client: httpx.AsyncClient, caller: Caller, other_caller: Caller
) -> None:
    made = []
    for _ in range(3):
        response = await client.post("/video/v1/uploads", json={}, auth=caller.auth)
        made.append(response.json()["data"]["id"])
    await client.post("/video/v1/uploads", json={}, auth=other_caller.auth)
    seen: list[str] = []
    page = 1
    while True:
        response = await client.get(
            "/video/v1/uploads", params={"limit": 2, "page": page}, auth=caller.auth
        )
        assert response.status_code == 200
        data = response.json()["data"]
        if not data:
            break
        seen += [u["id"] for u in data]
        page += 1
    assert seen == made[::-1]
    assert page == 3


async def test_default_limit(client: httpx.AsyncClient, caller: Caller) -> None:
    response = await client.get("/video/v1/uploads", auth=caller.auth)
    assert response.status_code == 200
    assert response.json() == {"data": []}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"page": 0}, "page"),
        ({"limit": "x"}, "limit"),
    ],
)
async def test_out_of_range_is_400(
    client: httpx.AsyncClient, caller: Caller, params: dict[str, object], field: str
) -> None:
    response = await client.get("/video/v1/uploads", params=params, auth=caller.auth)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_parameters"
    assert error["messages"][0].startswith(f"{field}: ")
