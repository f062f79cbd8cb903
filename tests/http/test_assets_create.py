"""POST /video/v1/assets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.media.tokens import VIDEO_READ
from tests.http.conftest import JSON, Caller, make_caller

URL = "https://media.example/in.mp4"


async def test_created_with_201_and_envelope(client: httpx.AsyncClient, caller: Caller) -> None:
    body = {
        "inputs": [{"url": URL}],
        "playback_policies": ["public"],
        "passthrough": "lesson-7",
        "video_quality": "premium",
        "max_resolution_tier": "2160p",
        "normalize_audio": False,
        "copy_overlays": True,
        "per_title_encode": False,
        "static_renditions": [{"resolution": "highest"}, {"resolution": "audio-only"}],
        "meta": {"title": "Intro", "external_id": "x1"},
    }
    response = await client.post("/video/v1/assets", json=body, auth=caller.auth)
    assert response.status_code == 201, response.text
    asset = response.json()["data"]
    assert asset["status"] == "preparing"
    assert isinstance(asset["created_at"], str) and asset["created_at"].isdigit()
    assert asset["ingest_type"] == "on_demand_url"
    assert asset["passthrough"] == "lesson-7"
    assert asset["video_quality"] == "premium" and asset["encoding_tier"] == "premium"
    assert asset["max_resolution_tier"] == "2160p"
    assert asset["mp4_support"] == "none" and asset["master_access"] == "none"
    assert asset["normalize_audio"] is False
    assert asset["meta"] == {"title": "Intro", "external_id": "x1"}
    assert asset["progress"] == {"state": "ingesting", "progress": 0.0}
    assert asset["tracks"] == []
    files = asset["static_renditions"]["files"]
    assert asset["static_renditions"]["status"] == "preparing"
    assert [(f["name"], f["ext"]) for f in files] == [("highest.mp4", "mp4"), ("audio.m4a", "m4a")]
    [pid] = asset["playback_ids"]
    assert pid["policy"] == "public" and len(pid["id"]) >= 22
    for absent in ("duration", "errors", "upload_id", "resolution_tier", "aspect_ratio"):
        assert absent not in asset


@pytest.mark.parametrize(
    "body",
    [
        {"input": URL},
        {"input": [{"url": URL}]},
        {"inputs": URL},
        {
            "inputs": [
                URL,
                {
                    "url": "https://media.example/en.vtt",
                    "type": "text",
                    "text_type": "subtitles",
                    "language_code": "en",
                },
            ]
        },
        {"inputs": [{"url": "http://media.example/a.mp4", "start_time": 1, "end_time": 2}]},
        {"input": URL, "encoding_tier": "smart", "playback_policy": "signed"},
    ],
)
async def test_input_forms(client: httpx.AsyncClient, caller: Caller, body: Any) -> None:
    response = await client.post("/video/v1/assets", json=body, auth=caller.auth)
    assert response.status_code == 201, response.text


async def test_legacy_encoding_tier_maps_to_video_quality(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    body = {"input": URL, "encoding_tier": "baseline", "test": True}
    asset = (await client.post("/video/v1/assets", json=body, auth=caller.auth)).json()["data"]
    assert asset["video_quality"] == "basic" and asset["encoding_tier"] == "baseline"
    assert asset["test"] is True and asset["playback_ids"] == []


async def test_a_clip_of_an_existing_asset(client: httpx.AsyncClient, caller: Caller) -> None:
    source = (await client.post("/video/v1/assets", json={"input": URL}, auth=caller.auth)).json()
    body = {"input": [{"url": f"mux://assets/{source['data']['id']}", "start_time": 1.5}]}
    response = await client.post("/video/v1/assets", json=body, auth=caller.auth)
    assert response.status_code == 201, response.text
    clip = response.json()["data"]
    assert clip["ingest_type"] == "on_demand_clip"
    assert clip["source_asset_id"] == source["data"]["id"]


async def test_a_clip_of_another_environments_asset_is_400(
    client: httpx.AsyncClient, caller: Caller, other_caller: Caller
) -> None:
    source = (await client.post("/video/v1/assets", json={"input": URL}, auth=caller.auth)).json()
    body = {"input": f"mux://assets/{source['data']['id']}"}
    response = await client.post("/video/v1/assets", json=body, auth=other_caller.auth)
    assert response.status_code == 400
    assert "does not exist" in response.json()["error"]["messages"][0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"input": "ftp://media.example/a.mp4"}, "input url must be an http or https URL"),
        ({"input": "file:///etc/passwd"}, "input url must be an http or https URL"),
        ({"inputs": [{"url": "/local/file.mp4"}]}, "input url must be an http or https URL"),
        ({"inputs": [{"url": "https://"}]}, "input url must be an http or https URL"),
        ({}, "inputs: the first input needs a url"),
        ({"inputs": []}, "inputs: the first input needs a url"),
        ({"input": URL, "colour": "red"}, "colour is not a recognised parameter"),
        ({"inputs": [{"url": URL, "speed": 2}]}, "inputs[0].speed is not a recognised"),
        ({"input": URL, "playback_policies": ["drm"]}, "playback_policies[0]"),
        ({"input": URL, "video_quality": "ultra"}, "video_quality"),
        ({"input": URL, "max_resolution_tier": "4k"}, "max_resolution_tier"),
        ({"input": URL, "mp4_support": "yes"}, "mp4_support"),
        ({"input": URL, "passthrough": "x" * 256}, "passthrough"),
        ({"input": URL, "static_renditions": [{"resolution": "999p"}]}, "static_renditions"),
    ],
)
async def test_invalid_parameters_are_400_naming_the_problem(
    client: httpx.AsyncClient, caller: Caller, body: dict[str, Any], message: str
) -> None:
    response = await client.post("/video/v1/assets", json=body, auth=caller.auth)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_parameters"
    assert any(message in m for m in error["messages"]), error


async def test_missing_or_malformed_body_is_400(client: httpx.AsyncClient, caller: Caller) -> None:
    for content in (b"", b"{not json"):
        response = await client.post(
            "/video/v1/assets", content=content, headers=JSON, auth=caller.auth
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["type"] == "invalid_parameters"


async def test_auth_and_permissions(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post("/video/v1/assets", json={"input": URL})
    assert response.status_code == 401
    reader = await make_caller(sessions, (VIDEO_READ,))
    response = await client.post("/video/v1/assets", json={"input": URL}, auth=reader.auth)
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "forbidden"
