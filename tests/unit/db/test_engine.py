"""Database URLs in every accepted form become psycopg 3 URLs."""

from __future__ import annotations

import pytest

from reelhouse.db.engine import create_engine, libpq_url, sqlalchemy_url
from reelhouse.errors import ConfigError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        (
            "postgresql://postgres:@/postgres?host=/tmp/x",
            "postgresql+psycopg://postgres:@/postgres?host=%2Ftmp%2Fx",
        ),
    ],
)
def test_sqlalchemy_url(given: str, expected: str) -> None:
    assert sqlalchemy_url(given).render_as_string(hide_password=False) == expected


def test_libpq_url_drops_the_driver() -> None:
    assert libpq_url("postgresql+psycopg://u:p@h/db") == "postgresql://u:p@h/db"


@pytest.mark.parametrize("bad", ["mysql://u@h/db", "not a url"])
def test_other_urls_are_refused(bad: str) -> None:
    with pytest.raises(ConfigError):
        sqlalchemy_url(bad)


async def test_engine_uses_psycopg_async() -> None:
    engine = create_engine("postgresql://u@h/db")
    try:
        assert engine.dialect.driver == "psycopg"
        assert engine.dialect.is_async
    finally:
        await engine.dispose()
