"""Range, If-None-Match, If-Range and Accept-Encoding parsing: tables."""

from __future__ import annotations

import pytest

from reelhouse.delivery.ranges import (
    UNSATISFIABLE,
    ByteRange,
    Unsatisfiable,
    none_match,
    parse_range,
    range_applies,
)
from reelhouse.delivery.responses import accepts_gzip

R = ByteRange


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 1000, None),
        ("bytes=0-99", 1000, R(0, 99)),
        ("bytes=0-0", 1000, R(0, 0)),
        ("bytes=100-", 1000, R(100, 999)),
        ("bytes=999-", 1000, R(999, 999)),
        ("bytes=-100", 1000, R(900, 999)),
        ("bytes=-1000", 1000, R(0, 999)),
        ("bytes=-5000", 1000, R(0, 999)),  # a suffix longer than the object: all of it
        ("bytes=0-5000", 1000, R(0, 999)),  # an end past the object: clamped
        ("bytes=500-999", 1000, R(500, 999)),
        ("BYTES = 1 - 2 ", 1000, R(1, 2)),
        ("bytes=1000-", 1000, UNSATISFIABLE),
        ("bytes=1000-2000", 1000, UNSATISFIABLE),
        ("bytes=-0", 1000, UNSATISFIABLE),
        ("bytes=0-", 0, UNSATISFIABLE),
        ("bytes=-5", 0, UNSATISFIABLE),
        # Ignored (the whole object is sent): invalid, multiple, other units, garbage.
        ("bytes=5-3", 1000, None),
        ("bytes=0-1,5-6", 1000, None),
        ("bytes=0-1, 5-6", 1000, None),
        ("items=0-1", 1000, None),
        ("bytes=abc", 1000, None),
        ("bytes=-", 1000, None),
        ("bytes=", 1000, None),
        ("bytes=1-2-3", 1000, None),
        ("bytes=+1-2", 1000, None),
        ("", 1000, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: ByteRange | None) -> None:
    assert parse_range(header, size) == expected


def test_byte_range_figures() -> None:
    assert R(10, 19).length == 10
    assert R(10, 19).content_range(100) == "bytes 10-19/100"
    assert Unsatisfiable() == UNSATISFIABLE


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ('"x",W/"abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),
        ("", False),
    ],
)
def test_none_match(header: str | None, matches: bool) -> None:
    assert none_match(header, "abc") is matches


DATE = "Tue, 01 Dec 2026 10:00:00 GMT"


@pytest.mark.parametrize(
    ("header", "applies"),
    [
        (None, True),
        ('"abc"', True),
        ('"old"', False),
        ('W/"abc"', False),  # If-Range needs a strong validator
        (DATE, True),
        ("Tue, 01 Dec 2026 09:59:59 GMT", False),
    ],
)
def test_range_applies(header: str | None, applies: bool) -> None:
    assert range_applies(header, "abc", DATE) is applies


@pytest.mark.parametrize(
    ("header", "gzip"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, GZIP;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip; q=0.0", False),
        ("identity", False),
        ("*", True),
        ("*;q=0", False),
        ("*, gzip;q=0", False),
        ("gzip;q=bogus", False),
        ("deflate, br", False),
    ],
)
def test_accepts_gzip(header: str | None, gzip: bool) -> None:
    assert accepts_gzip(header) is gzip
