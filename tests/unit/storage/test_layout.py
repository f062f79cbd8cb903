from __future__ import annotations

import pytest

from reelhouse.storage import layout
from reelhouse.storage.keys import validate_key, validate_prefix


@pytest.mark.parametrize(
    ("spelled", "expected"),
    [
        (layout.environment_prefix("e1"), "env/e1/"),
        (layout.asset_prefix("e1", "a1"), "env/e1/assets/a1/"),
        (layout.source_key("e1", "a1"), "env/e1/assets/a1/source"),
        (layout.asset_version_prefix("e1", "a1", 3), "env/e1/assets/a1/v3/"),
        (layout.master_playlist_key("e1", "a1", 3), "env/e1/assets/a1/v3/master.m3u8"),
        (layout.dash_manifest_key("e1", "a1", 3), "env/e1/assets/a1/v3/manifest.mpd"),
        (layout.rendition_prefix("e1", "a1", 3, "720p"), "env/e1/assets/a1/v3/720p/"),
        (
            layout.rendition_key("e1", "a1", 3, "720p", "seg_00001.m4s"),
            "env/e1/assets/a1/v3/720p/seg_00001.m4s",
        ),
        (
            layout.static_rendition_key("e1", "a1", 3, "highest.mp4"),
            "env/e1/assets/a1/v3/static/highest.mp4",
        ),
        (
            layout.storyboard_key("e1", "a1", 3, "storyboard.jpg"),
            "env/e1/assets/a1/v3/storyboard/storyboard.jpg",
        ),
        (
            layout.thumbnail_cache_key("e1", "a1", "0f3a", "webp"),
            "env/e1/assets/a1/thumbnails/0f3a.webp",
        ),
    ],
)
def test_keys(spelled: str, expected: str) -> None:
    assert spelled == expected
    if expected.endswith("/"):
        validate_prefix(expected)
    else:
        validate_key(expected)


def test_version_prefixes_do_not_overlap() -> None:
    v1 = layout.asset_version_prefix("e1", "a1", 1)

    assert not layout.master_playlist_key("e1", "a1", 10).startswith(v1)
    assert not layout.asset_prefix("e1", "a10").startswith(layout.asset_prefix("e1", "a1"))


@pytest.mark.parametrize("bad", ["", "..", "a/b", "../x", ".hidden", "a b", "x" * 129, "é"])
def test_ids_must_be_one_plain_segment(bad: str) -> None:
    with pytest.raises(ValueError):
        layout.asset_prefix("e1", bad)
    with pytest.raises(ValueError):
        layout.rendition_key("e1", "a1", 1, "720p", bad)


def test_versions_start_at_one() -> None:
    with pytest.raises(ValueError):
        layout.asset_version_prefix("e1", "a1", 0)
