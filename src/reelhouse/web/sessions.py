"""Dashboard sign-in sessions: a signed cookie, its CSRF token, and the revocation re-check.

The cookie holds ``{token id, environment id, expiry, csrf, permissions}`` as base64url JSON
followed by an HMAC-SHA256 of that text under the operator's session secret; the token's secret
is never in it. A session signed in with the admin password has :data:`ADMIN_TOKEN_ID` (which no
real token id can be: ids never hold a colon) and the password setting's fingerprint instead.
The per-session CSRF token rides inside the (HttpOnly) cookie and is echoed by pages in a hidden
field or an ``X-CSRF-Token`` header. Signing and reading are pure; only
:class:`RevocationCheck` touches the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

SESSION_COOKIE = "rh_session"
SIGNIN_CSRF_COOKIE = "rh_signin_csrf"
SESSION_LIFETIME = timedelta(hours=8)
# The cookie outlives the session it holds by this much, so a request after expiry still
# carries it and the sign-in page can say the session ended (the expiry inside is what counts).
COOKIE_GRACE = timedelta(days=1)
ADMIN_TOKEN_ID = ":admin"
REVOCATION_CACHE = timedelta(seconds=5)


@dataclass(frozen=True)
class DashboardSession:
    """Who is signed in to the dashboard, until when, their CSRF token and what the token
    they signed in with may do (a token's permissions never change after creation)."""

    token_id: str
    environment_id: str
    expires_at: datetime
    csrf: str
    permissions: frozenset[str] = frozenset()
    password_fingerprint: str = ""

    @property
    def admin(self) -> bool:
        return self.token_id == ADMIN_TOKEN_ID

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def may(self, permission: str) -> bool:
        return permission in self.permissions


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def new_session(
    token_id: str,
    environment_id: str,
    now: datetime,
    permissions: Iterable[str] = (),
    *,
    lifetime: timedelta = SESSION_LIFETIME,
    password_fingerprint: str = "",
) -> DashboardSession:
    return DashboardSession(
        token_id,
        environment_id,
        now + lifetime,
        new_csrf(),
        frozenset(permissions),
        password_fingerprint,
    )


def cookie_max_age(lifetime: timedelta) -> int:
    """The session cookie's ``Max-Age`` for sessions of ``lifetime``."""
    return int((lifetime + COOKIE_GRACE).total_seconds())


def _mac(secret: bytes, body: str) -> str:
    return hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()


def sign_session(session: DashboardSession, secret: bytes) -> str:
    """The cookie value for ``session``. Pure."""
    payload = {
        "t": session.token_id,
        "e": session.environment_id,
        "x": int(session.expires_at.timestamp()),
        "c": session.csrf,
        "p": sorted(session.permissions),
    }
    if session.password_fingerprint:
        payload["a"] = session.password_fingerprint
    raw = json.dumps(payload, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"{body}.{_mac(secret, body)}"


def read_session(value: str | None, secret: bytes) -> DashboardSession | None:
    """The session a cookie value holds, or None for a missing, altered or foreign one.
    Expiry is the caller's to check (an expired session earns a different message)."""
    if not value or len(value) > 2048:
        return None
    body, _, mac = value.rpartition(".")
    if not body or not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        expires = datetime.fromtimestamp(int(payload["x"]), tz=UTC)
        permissions = frozenset(str(p) for p in payload.get("p", []))
        return DashboardSession(
            str(payload["t"]),
            str(payload["e"]),
            expires,
            str(payload["c"]),
            permissions,
            str(payload.get("a", "")),
        )
    except (binascii.Error, ValueError, TypeError, KeyError):
        return None  # MAC-valid but malformed: as good as none


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


IsActive = Callable[[DashboardSession], Awaitable[bool]]


@dataclass
class RevocationCheck:
    """Whether a session's token still stands, asked of ``is_active`` at most once per
    ``ttl`` per token (so revoking a token signs its dashboard sessions out within ``ttl``).

    An admin session has no token to ask about: it stands while its password fingerprint is
    ``admin_fingerprint``, the fingerprint of the admin password configured now (None when
    there is none, which ends every admin session)."""

    is_active: IsActive
    clock: Callable[[], datetime]
    ttl: timedelta = REVOCATION_CACHE
    admin_fingerprint: str | None = None
    _seen: dict[str, tuple[datetime, bool]] = field(default_factory=dict)

    async def __call__(self, session: DashboardSession) -> bool:
        if session.admin:
            return self.admin_fingerprint is not None and hmac.compare_digest(
                session.password_fingerprint, self.admin_fingerprint
            )
        token_id = session.token_id
        now = self.clock()
        cached = self._seen.get(token_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        active = await self.is_active(session)
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[token_id] = (now, active)
        return active
