"""Authentication on the REST API: Basic, Bearer, and Mux's 401 body."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.http.conftest import Caller

UNAUTHORIZED = {"error": {"type": "unauthorized", "messages": ["Unauthorized request"]}}


@pytest.mark.parametrize(
    "header",
    [None, "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(), "Digest abc", "Bearer "],
)
async def test_missing_or_malformed_is_401(client: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = await client.get("/video/v1/uploads", headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["www-authenticate"] == 'Basic realm="reelhouse"'


async def test_wrong_secret_is_401(client: httpx.AsyncClient, caller: Caller) -> None:
    response = await client.get("/video/v1/uploads", auth=(caller.token_id, "wrong"))
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


@pytest.mark.parametrize("form", ["basic", "bearer_pair", "bearer_b64"])
async def test_accepted_forms(client: httpx.AsyncClient, caller: Caller, form: str) -> None:
    pair = f"{caller.token_id}:{caller.secret}"
    header = {
        "basic": caller.basic,
        "bearer_pair": f"Bearer {pair}",
        "bearer_b64": "Bearer " + base64.b64encode(pair.encode()).decode(),
    }[form]
    response = await client.get("/video/v1/uploads", headers={"Authorization": header})
    assert response.status_code == 200, response.text
