"""Pure parsing of the upload protocols' headers."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest

from reelhouse.ingest.errors import BadRequest
from reelhouse.ingest.headers import (
    Concat,
    ContentRange,
    clean_filename,
    clean_text,
    http_date,
    parse_checksum,
    parse_concat,
    parse_content_range,
    parse_int,
    parse_metadata,
    render_metadata,
    upload_id_from_url,
)
from reelhouse.ingest.protocols import ChunkChecksum


def b64(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode()


def meta(key: str, value: str | bytes) -> str:
    return f"{key} {b64(value)}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("0", 0), ("42", 42), (" 7 ", 7), ("9" * 19, int("9" * 19))],
)
def test_parse_int(value: str | None, expected: int | None) -> None:
    assert parse_int("Upload-Length", value) == expected


@pytest.mark.parametrize("value", ["", "-1", "+1", "1.0", "1e3", "0x10", "9" * 20, "1 2", "\u0661"])
def test_parse_int_rejects(value: str) -> None:
    with pytest.raises(BadRequest):
        parse_int("Upload-Length", value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, {}),
        ("", {}),
        (f"filetype {b64('video/mp4')}", {"filetype": "video/mp4"}),
        (f"a {b64('1')},b {b64('2')}", {"a": "1", "b": "2"}),
        (f"a {b64('1')}, b {b64('2')}", {"a": "1", "b": "2"}),
        ("empty", {"empty": ""}),
        ("empty ", {"empty": ""}),
        (f"name {b64('clip.mp4')}", {"name": "clip.mp4"}),
        (f"filename {b64('../../etc/passwd')}", {"filename": "passwd"}),
        (meta("filename", "..\\..\\boot.ini"), {"filename": "boot.ini"}),
        (f"filename {b64('/abs/path/x.mov')}", {"filename": "x.mov"}),
        (meta("filename", "a\r\nSet-Cookie: x=1"), {"filename": "aSet-Cookie: x=1"}),
        (meta("filename", "evil\x00name\x1b[31m.mp4"), {"filename": "evilname[31m.mp4"}),
        (meta("filename", "abc\u202egpj.exe"), {"filename": "abcgpj.exe"}),
        (f"filename {b64('..')}", {"filename": ""}),
        (f"filename {b64('dir/..')}", {"filename": ""}),
        (f"filename {b64('  spaced.mp4  ')}", {"filename": "spaced.mp4"}),
        (f"filename {b64('déjà vu.mp4')}", {"filename": "déjà vu.mp4"}),
        (meta("title", "line1\nline2"), {"title": "line1line2"}),
        (meta("title", b"\xff\xfe"), {"title": "\ufffd\ufffd"}),
        (f"filename {b64('x' * 300)}", {"filename": "x" * 255}),
        (f"title {b64('y' * 2000)}", {"title": "y" * 1024}),
    ],
)
def test_parse_metadata(header: str | None, expected: dict[str, str]) -> None:
    assert parse_metadata(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        "a !!!",
        f"a {b64('x')} extra",
        f"a {b64('1')},a {b64('2')}",
        f" {b64('x')}",
        f"a {b64('1')},",
        f"k\u00e9y {b64('x')}",
        f"{'k' * 65} {b64('x')}",
        "a " + "QUJD" * 3000,
        "a YQ",  # unpadded base64
    ],
)
def test_parse_metadata_rejects(header: str) -> None:
    with pytest.raises(BadRequest):
        parse_metadata(header)


@pytest.mark.parametrize(
    "metadata",
    [{}, {"filename": "a.mp4"}, {"empty": ""}, {"a": "1", "b": "déjà"}],
)
def test_render_metadata_round_trips(metadata: dict[str, str]) -> None:
    assert parse_metadata(render_metadata(metadata)) == metadata


@pytest.mark.parametrize(
    ("value", "expected"),
    [("plain", "plain"), ("tab\there", "tabhere"), ("\u200bzero", "zero"), (" x ", "x")],
)
def test_clean_text(value: str, expected: str) -> None:
    assert clean_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a/b/c.mp4", "c.mp4"),
        ("C:\\Users\\me\\v.mp4", "v.mp4"),
        ("...", ""),
        (".hidden", ".hidden"),
    ],
)
def test_clean_filename(value: str, expected: str) -> None:
    assert clean_filename(value) == expected


SUPPORTED = ("sha1", "sha256", "md5")
SHA1 = hashlib.sha1(b"abc").digest()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        (f"sha1 {b64(SHA1)}", ChunkChecksum("sha1", SHA1)),
        (
            f" md5 {b64(hashlib.md5(b'').digest())} ",
            ChunkChecksum("md5", hashlib.md5(b"").digest()),
        ),
    ],
)
def test_parse_checksum(header: str | None, expected: ChunkChecksum | None) -> None:
    assert parse_checksum(header, SUPPORTED) == expected


@pytest.mark.parametrize(
    ("header", "supported"),
    [
        ("sha1", SUPPORTED),
        (f"sha1  {b64(SHA1)}", SUPPORTED),
        (f"crc32 {b64(b'1234')}", SUPPORTED),
        (f"SHA1 {b64(SHA1)}", SUPPORTED),
        (f"sha1 {b64(SHA1)}", ()),
        ("sha1 ***", SUPPORTED),
        (f"sha1 {b64(SHA1[:10])}", SUPPORTED),
        (f"sha256 {b64(SHA1)}", SUPPORTED),
    ],
)
def test_parse_checksum_rejects(header: str, supported: tuple[str, ...]) -> None:
    with pytest.raises(BadRequest):
        parse_checksum(header, supported)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, Concat()),
        ("partial", Concat(partial=True)),
        (" partial ", Concat(partial=True)),
        ("final;/files/a /files/b", Concat(final=True, urls=("/files/a", "/files/b"))),
        (
            "final;http://h/files/a  http://h/files/b",
            Concat(final=True, urls=("http://h/files/a", "http://h/files/b")),
        ),
    ],
)
def test_parse_concat(header: str | None, expected: Concat) -> None:
    assert parse_concat(header) == expected


@pytest.mark.parametrize("header", ["", "final", "final;", "final; ", "Partial", "partial;x"])
def test_parse_concat_rejects(header: str) -> None:
    with pytest.raises(BadRequest):
        parse_concat(header)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/files/abc", "abc"),
        ("/files/abc/", "abc"),
        ("abc", "abc"),
        ("https://h/upload/t/part1?x=1", "part1"),
    ],
)
def test_upload_id_from_url(url: str, expected: str) -> None:
    assert upload_id_from_url(url) == expected


@pytest.mark.parametrize(
    ("header", "expected", "length"),
    [
        ("bytes 0-99/1000", ContentRange(0, 99, 1000), 100),
        ("bytes 999-999/1000", ContentRange(999, 999, 1000), 1),
        ("bytes 0-99/*", ContentRange(0, 99, None), 100),
        ("bytes */1000", ContentRange(None, None, 1000), 0),
        ("bytes */*", ContentRange(None, None, None), 0),
        (" bytes 5-9/10 ", ContentRange(5, 9, 10), 5),
    ],
)
def test_parse_content_range(header: str, expected: ContentRange, length: int) -> None:
    parsed = parse_content_range(header)
    assert parsed == expected
    assert parsed.length == length


@pytest.mark.parametrize(
    "header",
    [
        "bytes 0-1000/1000",  # last byte past the total
        "bytes 10-9/100",
        "bytes 0-99",
        "bytes=0-99/100",
        "items 0-99/100",
        "bytes -5-9/100",
        "bytes 0-/100",
        "bytes 0-99/-1",
        "",
    ],
)
def test_parse_content_range_rejects(header: str) -> None:
    with pytest.raises(BadRequest):
        parse_content_range(header)


def test_http_date() -> None:
    assert http_date(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "Fri, 02 Jan 2026 03:04:05 GMT"
