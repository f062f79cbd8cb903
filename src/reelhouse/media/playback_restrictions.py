"""Playback restrictions: referrer and user-agent rules that a signed playback token names in
its ``playback_restriction_id`` claim, as Mux has them.

- ``referrer.allowed_domains``: up to 10 entries, each a host name (``example.com``), a DNS-style
  wildcard (``*.example.com``: any subdomain, at any depth, but not ``example.com`` itself) or
  ``*`` (any domain). ``[]`` refuses every request that has a referrer.
- ``referrer.allow_no_referrer``: whether a request with neither ``Referer`` nor ``Origin``
  plays (native apps and smart TVs send none).
- ``user_agent.allow_no_user_agent``: whether a request without ``User-Agent`` plays.
- ``user_agent.allow_high_risk_user_agent``: whether a known download tool plays. "High risk"
  is deliberately narrow: see :data:`HIGH_RISK_AGENTS` (curl, Wget, FFmpeg's ``Lavf``,
  yt-dlp, youtube-dl, python-requests, Python-urllib). Browsers and players always pass.

:func:`refusal` is the pure check; the rest are use cases in the caller's transaction, scoped
to one environment (another environment's restriction answers ``NotFound``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.db.models import PlaybackRestriction
from reelhouse.errors import InvalidParameters, NotFound
from reelhouse.ids import RandomBytes, is_well_formed, new_id

MAX_DOMAINS: Final = 10
HIGH_RISK_AGENTS: Final = (
    "curl",
    "wget",
    "lavf",
    "ffmpeg",
    "yt-dlp",
    "youtube-dl",
    "python-requests",
    "python-urllib",
)
_HIGH_RISK = re.compile(
    r"(?:^|[\s(;,])(?:" + "|".join(re.escape(a) for a in HIGH_RISK_AGENTS) + r")(?:/|\s|$)",
    re.IGNORECASE,
)
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


@dataclass(frozen=True)
class Rules:
    """One restriction's rules, detached from the database."""

    allowed_domains: tuple[str, ...] = ("*",)
    allow_no_referrer: bool = True
    allow_no_user_agent: bool = True
    allow_high_risk_user_agent: bool = True

    @classmethod
    def of(cls, row: PlaybackRestriction) -> Rules:
        referrer, agent = row.referrer, row.user_agent
        return cls(
            tuple(referrer.get("allowed_domains", [])),
            bool(referrer.get("allow_no_referrer", False)),
            bool(agent.get("allow_no_user_agent", True)),
            bool(agent.get("allow_high_risk_user_agent", True)),
        )


def is_high_risk(user_agent: str) -> bool:
    """Whether ``user_agent`` names a known download tool (see :data:`HIGH_RISK_AGENTS`)."""
    return _HIGH_RISK.search(user_agent) is not None


def domain_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Whether ``host`` matches an entry of ``allowed`` (see the module docstring)."""
    host = host.lower().rstrip(".")
    for entry in allowed:
        if entry == "*" or entry == host:
            return True
        if entry.startswith("*.") and host.endswith(entry[1:]):
            return True
    return False


def referrer_host(referer: str | None, origin: str | None) -> str | None:
    """The host the request came from: ``Referer``'s, else ``Origin``'s (``null`` is none)."""
    for value in (referer, origin):
        if value and value.strip() and value.strip() != "null":
            try:
                host = urlsplit(value.strip()).hostname
            except ValueError:
                host = None
            return host or ""
    return None


def refusal(
    rules: Rules, *, referer: str | None, origin: str | None, user_agent: str | None
) -> str | None:
    """Why a request with these headers may not play under ``rules``, or None if it may."""
    host = referrer_host(referer, origin)
    if host is None:
        if not rules.allow_no_referrer:
            return "This playback restriction requires a Referer header"
    elif not domain_allowed(host, rules.allowed_domains):
        return f"The referrer {host or '(unparseable)'} is not allowed to play this video"
    if not user_agent or not user_agent.strip():
        if not rules.allow_no_user_agent:
            return "This playback restriction requires a User-Agent header"
    elif not rules.allow_high_risk_user_agent and is_high_risk(user_agent):
        return "This user agent is not allowed to play this video"
    return None


def checked_domains(domains: Sequence[str]) -> list[str]:
    """``domains`` lower-cased, each ``*``, ``*.host`` or ``host``; else ``InvalidParameters``."""
    if len(domains) > MAX_DOMAINS:
        raise InvalidParameters(f"allowed_domains holds at most {MAX_DOMAINS} entries")
    out: list[str] = []
    for raw in domains:
        domain = raw.strip().lower().rstrip(".")
        bare = domain[2:] if domain.startswith("*.") else domain
        if domain != "*" and not (len(bare) <= 253 and _HOST.fullmatch(bare)):
            raise InvalidParameters(f"allowed_domains: {raw!r} is not a domain or *.domain")
        if domain not in out:
            out.append(domain)
    return out


def referrer_rules(allowed_domains: Sequence[str], allow_no_referrer: bool) -> dict[str, Any]:
    return {
        "allowed_domains": checked_domains(allowed_domains),
        "allow_no_referrer": allow_no_referrer,
    }


def user_agent_rules(allow_no_user_agent: bool, allow_high_risk: bool) -> dict[str, Any]:
    return {
        "allow_no_user_agent": allow_no_user_agent,
        "allow_high_risk_user_agent": allow_high_risk,
    }


# Without a referrer part a restriction leaves referrers alone; without a user_agent part,
# user agents (Mux's defaults for both user-agent switches are permissive too).
OPEN_REFERRER: Final[Mapping[str, Any]] = {"allowed_domains": ["*"], "allow_no_referrer": True}
OPEN_USER_AGENT: Final[Mapping[str, Any]] = {
    "allow_no_user_agent": True,
    "allow_high_risk_user_agent": True,
}


def restriction_view(row: PlaybackRestriction) -> dict[str, Any]:
    """The Mux playback-restriction object (times as strings of Unix seconds)."""
    return {
        "id": row.id,
        "created_at": str(int(row.created_at.timestamp())),
        "updated_at": str(int(row.updated_at.timestamp())),
        "referrer": dict(row.referrer),
        "user_agent": dict(row.user_agent),
    }


async def create_restriction(
    session: AsyncSession,
    environment_id: str,
    *,
    referrer: Mapping[str, Any] | None,
    user_agent: Mapping[str, Any] | None,
    now: datetime,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> PlaybackRestriction:
    """A new restriction; ``referrer``/``user_agent`` come from :func:`referrer_rules` and
    :func:`user_agent_rules` (None: the open defaults above)."""
    row = PlaybackRestriction(
        id=new_id(random_bytes),
        environment_id=environment_id,
        referrer=dict(referrer or OPEN_REFERRER),
        user_agent=dict(user_agent or OPEN_USER_AGENT),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


def _scoped(environment_id: str, restriction_id: str) -> Select[PlaybackRestriction]:
    return select(PlaybackRestriction).where(
        PlaybackRestriction.id == restriction_id,
        PlaybackRestriction.environment_id == environment_id,
    )


async def get_restriction(
    session: AsyncSession, environment_id: str, restriction_id: str
) -> PlaybackRestriction:
    """The restriction of ``environment_id``; anything else is ``NotFound``."""
    row = None
    if is_well_formed(restriction_id):
        row = await session.scalar(_scoped(environment_id, restriction_id))
    if row is None:
        raise NotFound()
    return row


async def list_restrictions(
    session: AsyncSession, environment_id: str, limit: int, page: int
) -> Sequence[PlaybackRestriction]:
    """Page ``page`` (from 1), newest first; a page past the end is empty."""
    result = await session.scalars(
        select(PlaybackRestriction)
        .where(PlaybackRestriction.environment_id == environment_id)
        .order_by(PlaybackRestriction.created_at.desc(), PlaybackRestriction.id.desc())
        .limit(limit)
        .offset((page - 1) * limit)
    )
    return result.all()


async def update_restriction(
    session: AsyncSession,
    environment_id: str,
    restriction_id: str,
    *,
    now: datetime,
    referrer: Mapping[str, Any] | None = None,
    user_agent: Mapping[str, Any] | None = None,
) -> PlaybackRestriction:
    """Replace the referrer and/or user-agent part."""
    row = await get_restriction(session, environment_id, restriction_id)
    if referrer is not None:
        row.referrer = dict(referrer)
    if user_agent is not None:
        row.user_agent = dict(user_agent)
    row.updated_at = now
    await session.flush()
    return row


async def delete_restriction(
    session: AsyncSession, environment_id: str, restriction_id: str
) -> None:
    """Remove it; tokens naming it are refused from then on (after the verifiers' cache)."""
    row = await get_restriction(session, environment_id, restriction_id)
    await session.execute(delete(PlaybackRestriction).where(PlaybackRestriction.id == row.id))


async def find_rules(
    session: AsyncSession, environment_id: str, restriction_id: str
) -> Rules | None:
    """The rules of ``restriction_id`` in ``environment_id``, or None (for the playback gate)."""
    if not is_well_formed(restriction_id):
        return None
    row = await session.scalar(_scoped(environment_id, restriction_id))
    return None if row is None else Rules.of(row)
