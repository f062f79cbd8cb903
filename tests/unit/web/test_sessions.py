"""Dashboard session cookies and the revocation re-check, for token and admin sessions."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from reelhouse.media.tokens import ALL_PERMISSIONS
from reelhouse.web.sessions import (
    ADMIN_TOKEN_ID,
    DashboardSession,
    RevocationCheck,
    cookie_max_age,
    new_session,
    read_session,
    sign_session,
)

SECRET = b"s" * 32
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_a_token_session_round_trips_without_a_fingerprint() -> None:
    session = new_session("tok", "env", NOW, ["video:read"], lifetime=timedelta(seconds=30))
    assert session.expires_at == NOW + timedelta(seconds=30)
    assert not session.admin
    value = sign_session(session, SECRET)
    assert read_session(value, SECRET) == session
    assert '"a"' not in read_payload(value)


def test_an_admin_session_carries_the_fingerprint() -> None:
    session = new_session(
        ADMIN_TOKEN_ID, "default", NOW, ALL_PERMISSIONS, password_fingerprint="f" * 32
    )
    value = sign_session(session, SECRET)
    back = read_session(value, SECRET)
    assert back == session
    assert back is not None and back.admin and back.may("system:write")
    forged = value.replace(value.rpartition(".")[2], "0" * 64)
    assert read_session(forged, SECRET) is None


def read_payload(value: str) -> str:
    body = value.rpartition(".")[0]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def test_the_cookie_outlives_the_session_by_a_day() -> None:
    assert cookie_max_age(timedelta(hours=8)) == 8 * 3600 + 86400
    assert cookie_max_age(timedelta(seconds=3)) == 3 + 86400


class Lookups:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[str] = []

    async def __call__(self, session: DashboardSession) -> bool:
        self.asked.append(session.token_id)
        return self.answer


async def test_admin_sessions_stand_while_the_password_fingerprint_matches() -> None:
    lookups = Lookups(True)
    admin = new_session(ADMIN_TOKEN_ID, "default", NOW, password_fingerprint="a" * 32)
    same = RevocationCheck(lookups, lambda: NOW, admin_fingerprint="a" * 32)
    changed = RevocationCheck(lookups, lambda: NOW, admin_fingerprint="b" * 32)
    removed = RevocationCheck(lookups, lambda: NOW, admin_fingerprint=None)
    assert await same(admin)
    assert not await changed(admin)
    assert not await removed(admin)
    assert lookups.asked == []  # no token to look up


async def test_token_sessions_are_looked_up_and_cached() -> None:
    clock = [NOW]
    lookups = Lookups(True)
    check = RevocationCheck(lookups, lambda: clock[0], admin_fingerprint="a" * 32)
    session = new_session("tok", "env", NOW)
    assert await check(session)
    lookups.answer = False
    assert await check(session)  # cached
    clock[0] = NOW + timedelta(seconds=6)
    assert not await check(session)
    assert lookups.asked == ["tok", "tok"]
    # A token session cannot pass as an admin one by carrying a fingerprint.
    posing = new_session("tok2", "env", NOW, password_fingerprint="a" * 32)
    assert not await check(posing)
