"""POST /video/v1/uploads."""

from __future__ import annotations

import httpx
import pytest

from tests.http.conftest import BASE_URL, JSON, Caller


async def test_created_with_201_and_envelope(client: httpx.AsyncClient, caller: Caller) -> None:
    body = {
        "timeout": 3600,
        "cors_origin": "*",
        "new_asset_settings": {
            "playback_policies": ["public"],
            "normalize_audio": False,
            "copy_overlays": True,
        },
    }
    response = await client.post("/video/v1/uploads", json=body, auth=caller.auth)
    assert response.status_code == 201, response.text
    upload = response.json()["data"]
    assert upload["status"] == "waiting"
    assert upload["timeout"] == 3600
    assert upload["cors_origin"] == "*"
    assert upload["test"] is False
    assert upload["url"] == f"{BASE_URL}/upload/{upload['id']}"
    assert upload["new_asset_settings"] == body["new_asset_settings"]
    assert "asset_id" not in upload and "error" not in upload


async def test_empty_body_uses_defaults(client: httpx.AsyncClient, caller: Caller) -> None:
    response = await client.post("/video/v1/uploads", auth=caller.auth)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["timeout"] == 3600


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"timeout": 10}, "timeout: Input should be greater than or equal to 60"),
        ({"new_asset_settings": {"colour": 1}}, "new_asset_settings.colour is not a recognised"),
        ({"new_asset_settings": {"video_quality": "x"}}, "new_asset_settings.video_quality"),
    ],
)
async def test_invalid_parameters_are_400_with_the_field_named(
    client: httpx.AsyncClient, caller: Caller, body: dict[str, object], message: str
) -> None:
    response = await client.post("/video/v1/uploads", json=body, auth=caller.auth)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_parameters"
    assert any(m.startswith(message) for m in error["messages"]), error


async def test_malformed_json_is_400(client: httpx.AsyncClient, caller: Caller) -> None:
    response = await client.post(
        "/video/v1/uploads", content=b"{not json", headers=JSON, auth=caller.auth
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_parameters"


async def test_read_only_token_is_403(client: httpx.AsyncClient, sessions) -> None:  # type: ignore[no-untyped-def]
    from reelhouse.media.tokens import VIDEO_READ
    from tests.http.conftest import make_caller

    reader = await make_caller(sessions, (VIDEO_READ,))
    response = await client.post("/video/v1/uploads", json={}, auth=reader.auth)
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "forbidden"
