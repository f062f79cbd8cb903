"""Building SQLAlchemy engines for PostgreSQL on psycopg 3."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from reelhouse.errors import ConfigError

_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg_async")


def sqlalchemy_url(url: str) -> URL:
    """``url`` (``postgresql://``, ``postgres://`` or ``postgresql+psycopg://``; TCP or a unix
    socket as ``?host=/dir``) as a SQLAlchemy URL for the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"not a database URL: {url!r}") from exc
    if parsed.drivername not in _SCHEMES:
        raise ConfigError(
            f"unsupported database URL scheme {parsed.drivername!r}; use postgresql://"
        )
    return parsed.set(drivername="postgresql+psycopg")


def libpq_url(url: str) -> str:
    """``url`` as a plain ``postgresql://`` URI that libpq (psycopg, procrastinate) accepts."""
    return sqlalchemy_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(url: str) -> AsyncEngine:
    """An async engine on psycopg 3 for ``url`` (see :func:`sqlalchemy_url` for the forms)."""
    return _create_async_engine(sqlalchemy_url(url), pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (responses are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False)
