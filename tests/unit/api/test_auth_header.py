"""Parsing the Authorization header into a token id and secret."""

from __future__ import annotations

import base64

import pytest

from reelhouse.api.auth import parse_authorization
from reelhouse.errors import Unauthorized


def _b64(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"Basic {_b64('id:secret')}", ("id", "secret")),
        (f"basic {_b64('id:se:cret')}", ("id", "se:cret")),
        ("Bearer id:secret", ("id", "secret")),
        (f"Bearer {_b64('id:secret')}", ("id", "secret")),
    ],
)
def test_accepted(header: str, expected: tuple[str, str]) -> None:
    assert parse_authorization(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic %%%",
        f"Basic {_b64('nocolon')}",
        f"Basic {_b64(':secret')}",
        "Bearer ",
        "Bearer opaque-token",
        "Token id:secret",
        "Basic " + "A" * 5000,
    ],
)
def test_refused(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        parse_authorization(header)
