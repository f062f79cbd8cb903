"""The create-upload request: defaults, ranges, enums, and unknown keys named in the message."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reelhouse.schemas.uploads import CreateUploadRequest, Upload
from reelhouse.schemas.validation import messages


def _messages(payload: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as info:
        CreateUploadRequest.model_validate(payload)
    return messages(info.value.errors())


def test_defaults() -> None:
    request = CreateUploadRequest.model_validate({})
    assert request.timeout == 3600
    assert request.test is False
    assert request.cors_origin is None
    assert request.new_asset_settings.wire() == {}


def test_what_mux_python_sends_is_accepted_and_echoed() -> None:
    body = {
        "timeout": 3600,
        "cors_origin": "*",
        "new_asset_settings": {
            "playback_policies": ["public"],
            "normalize_audio": False,
            "copy_overlays": True,
        },
    }
    request = CreateUploadRequest.model_validate(body)
    assert request.new_asset_settings.wire() == body["new_asset_settings"]


def test_every_documented_setting() -> None:
    settings = {
        "playback_policy": "signed",
        "video_quality": "plus",
        "max_resolution_tier": "2160p",
        "passthrough": "p" * 255,
        "normalize_audio": True,
        "mp4_support": "capped-1080p",
        "static_renditions": [{"resolution": "highest"}, {"resolution": "audio-only"}],
        "test": True,
        "meta": {"title": "T", "creator_id": "c", "external_id": "e"},
        "inputs": [{"url": "https://x/sub.vtt", "type": "text", "text_type": "subtitles"}],
        "master_access": "temporary",
    }
    wire = CreateUploadRequest.model_validate({"new_asset_settings": settings}).new_asset_settings
    assert wire.wire()["playback_policy"] == ["signed"]
    assert wire.wire()["inputs"] == settings["inputs"]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"timeout": 59}, "timeout: Input should be greater than or equal to 60"),
        ({"timeout": 604801}, "timeout: Input should be less than or equal to 604800"),
        ({"bogus": 1}, "bogus is not a recognised parameter"),
        (
            {"new_asset_settings": {"colour": "red"}},
            "new_asset_settings.colour is not a recognised parameter",
        ),
        (
            {"new_asset_settings": {"meta": {"rating": 5}}},
            "new_asset_settings.meta.rating is not a recognised parameter",
        ),
        (
            {"new_asset_settings": {"playback_policies": ["drm"]}},
            "new_asset_settings.playback_policies[0]: Input should be 'public' or 'signed'",
        ),
        (
            {"new_asset_settings": {"video_quality": "ultra"}},
            "new_asset_settings.video_quality: Input should be 'basic', 'plus' or 'premium'",
        ),
        (
            {"new_asset_settings": {"max_resolution_tier": "4k"}},
            "new_asset_settings.max_resolution_tier: Input should be '1080p', '1440p' or '2160p'",
        ),
        (
            {"new_asset_settings": {"passthrough": "p" * 256}},
            "new_asset_settings.passthrough: String should have at most 255 characters",
        ),
        (
            {"new_asset_settings": {"static_renditions": [{"resolution": "8k"}]}},
            "new_asset_settings.static_renditions[0].resolution: Input should be",
        ),
    ],
)
def test_messages_name_the_parameter(payload: dict[str, Any], expected: str) -> None:
    found = _messages(payload)
    assert any(message.startswith(expected) for message in found), found


def test_upload_wire_omits_absent_optionals() -> None:
    upload = Upload(id="u", timeout=60, status="waiting", new_asset_settings={}, url=None)
    assert upload.wire() == {
        "id": "u",
        "timeout": 60,
        "status": "waiting",
        "new_asset_settings": {},
        "cors_origin": None,
        "test": False,
    }


def test_upload_wire_keeps_error_and_asset() -> None:
    upload = Upload.model_validate(
        {
            "id": "u",
            "timeout": 60,
            "status": "errored",
            "new_asset_settings": {},
            "asset_id": "a",
            "error": {"type": "invalid_input", "message": "bad"},
        }
    )
    wire = upload.wire()
    assert wire["asset_id"] == "a"
    assert wire["error"] == {"type": "invalid_input", "message": "bad"}
