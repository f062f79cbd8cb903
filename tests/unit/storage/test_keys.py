from __future__ import annotations

import pytest

from reelhouse.storage.content_types import guess_content_type
from reelhouse.storage.errors import InvalidKey
from reelhouse.storage.keys import is_valid_key, validate_key, validate_prefix


@pytest.mark.parametrize(
    "key", ["a", "env/e1/assets/a1/v1/master.m3u8", "é/ü", "a.b/.c", "x" * 1024, "a..b"]
)
def test_valid_keys(key: str) -> None:
    assert validate_key(key) == key
    assert is_valid_key(key)


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "empty"),
        ("/a", "start with '/'"),
        ("a/", "end with '/'"),
        ("a//b", "empty segment"),
        ("..", "'..'"),
        ("a/../b", "'..'"),
        ("a/./b", "'.'"),
        ("a\\..\\b", "backslash"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("a\x7fb", "control"),
        ("x" * 1025, "1024 bytes"),
        ("é" * 513, "1024 bytes"),
        ("\udcff", "UTF-8"),
        ("a/.~rh-1.tmp", "reserved"),
    ],
)
def test_invalid_keys_say_why(key: str, reason: str) -> None:
    with pytest.raises(InvalidKey, match=reason):
        validate_key(key)
    assert not is_valid_key(key)


@pytest.mark.parametrize("prefix", ["", "a", "a/", "a/b", "a/.", "a/..b"])
def test_valid_prefixes(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/", "/a", "../", "a/../", "a//", "a\x00"])
def test_invalid_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        validate_prefix(prefix)
    assert caught.value.key == prefix


@pytest.mark.parametrize(
    ("key", "content_type"),
    [
        ("v1/master.m3u8", "application/vnd.apple.mpegurl"),
        ("v1/manifest.mpd", "application/dash+xml"),
        ("v1/720p/seg_1.M4S", "video/iso.segment"),
        ("thumb.webp", "image/webp"),
        ("source", "application/octet-stream"),
        ("a.b/source", "application/octet-stream"),
        ("x.unknown", "application/octet-stream"),
    ],
)
def test_guess_content_type(key: str, content_type: str) -> None:
    assert guess_content_type(key) == content_type
