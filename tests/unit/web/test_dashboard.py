"""The dashboard in-process: sign-in, the session cookie, CSRF, expiry, the library's empty
state and the upload endpoint (ASGI against the session's database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from reelhouse.db.models import DirectUpload, Environment
from reelhouse.media.tokens import revoke_token
from reelhouse.web.dashboard import human_bytes
from reelhouse.web.sessions import SESSION_COOKIE, read_session
from reelhouse.web.upload_page import MEDIA_EXTENSIONS, not_a_video, too_large

from .dashboard_app import (
    BASE,
    SECRET,
    START,
    Clock,
    Sessions,
    dashboard_client,
    dashboard_deps,
    make_token,
    page_csrf,
    post_signin,
    sign_in,
)


@pytest.fixture
async def token(sessions: Sessions, environment_id: str) -> str:
    return await make_token(sessions, environment_id, ["video:read", "video:write"])


@pytest.fixture
async def read_only_token(sessions: Sessions, environment_id: str) -> str:
    return await make_token(sessions, environment_id, ["video:read"])


@pytest.fixture
async def client(sessions: Sessions, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """The dashboard without its system pages."""
    async with dashboard_client(dashboard_deps(sessions, clock)) as http:
        yield http


async def test_signed_out_goes_to_signin(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"
    page = await client.get("/signin")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<label for="token">' in page.text


async def test_good_token_signs_in_with_a_safe_cookie(
    client: httpx.AsyncClient, token: str, environment_id: str
) -> None:
    response = await post_signin(client, token=token)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    flags = cookie.lower()
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "max-age=115200" in flags  # the 8-hour session plus a day to say it ended
    secret = token.split(":", 1)[1]
    assert secret not in cookie
    session = read_session(client.cookies[SESSION_COOKIE], SECRET)
    assert session is not None
    assert session.environment_id == environment_id
    assert session.expires_at == START + timedelta(hours=8)
    assert read_session(client.cookies[SESSION_COOKIE], b"other") is None


@pytest.mark.parametrize("bad", ["nope", "id:wrong", ":", "x" * 30 + ":" + "y" * 40])
async def test_bad_token_is_refused(client: httpx.AsyncClient, token: str, bad: str) -> None:
    token_id = token.split(":", 1)[0]
    attempt = f"{token_id}:wrong" if bad == "id:wrong" else bad
    response = await post_signin(client, token=attempt)
    assert response.status_code == 401
    assert "was not accepted" in response.text
    assert SESSION_COOKIE not in client.cookies


async def test_signin_without_csrf_is_403(client: httpx.AsyncClient, token: str) -> None:
    response = await client.post("/signin", data={"token": token})
    assert response.status_code == 403
    assert "did not come from this dashboard" in response.text


async def test_posts_without_the_session_csrf_are_403(
    client: httpx.AsyncClient, token: str
) -> None:
    await sign_in(client, token)
    refused = await client.post("/signout", data={"csrf": "forged"})
    assert refused.status_code == 403
    api = await client.post("/dashboard/api/uploads", json={"name": "a.mp4", "size": 10})
    assert api.status_code == 403
    signout = await client.post("/signout", data={"csrf": await page_csrf(client)})
    assert signout.status_code == 303
    assert (await client.get("/")).headers["location"] == "/signin"


async def test_expired_session_says_so(client: httpx.AsyncClient, token: str, clock: Clock) -> None:
    await sign_in(client, token)
    assert (await client.get("/")).status_code == 200
    clock.now = START + timedelta(hours=8, seconds=1)
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?expired=1"
    page = await client.get(response.headers["location"])
    assert "Your session has ended" in page.text


async def test_revoked_token_ends_the_session_within_seconds(
    client: httpx.AsyncClient,
    token: str,
    clock: Clock,
    sessions: Sessions,
    environment_id: str,
) -> None:
    await sign_in(client, token)
    assert (await client.get("/")).status_code == 200
    async with sessions.begin() as session:
        await revoke_token(session, environment_id, token.split(":", 1)[0])
    assert (await client.get("/")).status_code == 200  # cached for 5 s
    clock.now = START + timedelta(seconds=6)
    assert (await client.get("/")).headers["location"] == "/signin?expired=1"


async def test_library_empty_state(client: httpx.AsyncClient, token: str) -> None:
    await sign_in(client, token)
    response = await client.get("/")
    assert response.status_code == 200
    assert 'id="empty-library"' in response.text
    assert "Upload your first video" in response.text
    polled = await client.get("/dashboard/api/assets", params={"ids": "nosuchasset,x"})
    assert polled.json() == {"data": []}


async def test_upload_endpoint_creates_a_direct_upload(
    client: httpx.AsyncClient,
    token: str,
    sessions: Sessions,
    environment_id: str,
) -> None:
    await sign_in(client, token)
    upload_page = await client.get("/upload")
    assert 'data-limit="1000000"' in upload_page.text
    assert "/static/vendor/tus.min.js" in upload_page.text
    csrf = await page_csrf(client)
    response = await client.post(
        "/dashboard/api/uploads",
        json={"name": "clip.mp4", "size": 500_000},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["url"] == f"{BASE}/upload/{body['id']}"
    async with sessions() as session:
        row = await session.scalar(select(DirectUpload).where(DirectUpload.id == body["id"]))
    assert row is not None
    assert row.environment_id == environment_id
    assert row.cors_origin == BASE


async def test_upload_over_the_limit_is_refused_with_the_limit(
    client: httpx.AsyncClient,
    token: str,
    sessions: Sessions,
    environment_id: str,
) -> None:
    await sign_in(client, token)
    csrf = await page_csrf(client)
    response = await client.post(
        "/dashboard/api/uploads",
        json={"name": "big.mp4", "size": 2_000_000},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 413
    assert response.json()["error"] == (
        "big.mp4 is 1.9 MiB; the limit is 976.6 KiB (1000000 bytes)."
    )
    async with sessions() as session:
        uploads_before = await session.scalar(select(func.count()).select_from(DirectUpload))
    not_video = await client.post(
        "/dashboard/api/uploads",
        json={"name": "notes.txt", "size": 10, "type": "text/plain"},
        headers={"X-CSRF-Token": csrf},
    )
    assert not_video.status_code == 415
    assert not_video.json()["error"] == (
        "notes.txt is not a video file (text/plain). "
        "Choose a video such as .mp4, .mov, .mkv or .webm."
    )
    async with sessions() as session:
        uploads_after = await session.scalar(select(func.count()).select_from(DirectUpload))
    assert uploads_after == uploads_before
    async with sessions.begin() as session:
        env = await session.get(Environment, environment_id)
        assert env is not None
        env.max_upload_bytes = 100
    assert 'data-limit="100"' in (await client.get("/upload")).text


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 bytes"), (1023, "1023 bytes"), (1024, "1.0 KiB"), (256 * 1024**3, "256.0 GiB")],
)
def test_human_bytes(size: int, text: str) -> None:
    assert human_bytes(size) == text


@pytest.mark.parametrize(
    ("name", "mime", "refused"),
    [
        ("notes.txt", "text/plain", True),
        ("photo.JPG", "image/jpeg", True),
        ("README", "text/markdown", True),
        ("clip.mp4", "video/mp4", False),
        ("song.mp3", "audio/mpeg", False),
        ("clip.mkv", "", False),  # no type given: the server's probe decides
        ("clip", "application/octet-stream", False),
        ("clip.bin", "application/x-matroska", False),
        # Browsers guess .ts as a Qt translation file and .mts as a MIDI-like type.
        ("take.ts", "text/vnd.trolltech.linguist", False),
        ("TAKE.MTS", "model/vnd.mts", False),
    ],
)
def test_not_a_video_only_when_both_type_and_name_say_so(
    name: str, mime: str, refused: bool
) -> None:
    assert (not_a_video(name, mime) is not None) == refused


def test_not_a_video_names_the_file_and_its_type() -> None:
    assert not_a_video("notes.txt", "text/plain") == (
        "notes.txt is not a video file (text/plain). "
        "Choose a video such as .mp4, .mov, .mkv or .webm."
    )


async def test_upload_page_gives_the_script_the_lists(
    client: httpx.AsyncClient, token: str
) -> None:
    await sign_in(client, token)
    page = (await client.get("/upload")).text
    assert f'data-extensions="{" ".join(MEDIA_EXTENSIONS)}"' in page
    assert 'accept="video/*,audio/*,.3g2,' in page
    assert "application/x-matroska" in page


def test_too_large_only_over_the_limit() -> None:
    assert too_large("a", 10, 10) is None
    assert too_large("a", 11, 10) == "a is 11 bytes; the limit is 10 bytes (10 bytes)."


async def test_other_environments_assets_are_not_found(
    client: httpx.AsyncClient, token: str
) -> None:
    await sign_in(client, token)
    response = await client.get("/assets/abcdefghijklmnopqrstuv")
    assert response.status_code == 404
    assert "Video not found" in response.text


async def test_a_token_without_video_write_cannot_upload(
    client: httpx.AsyncClient, read_only_token: str
) -> None:
    await sign_in(client, read_only_token)
    assert (await client.get("/")).status_code == 200
    page = await client.get("/upload")
    assert page.status_code == 403
    assert "lacks the <code>video:write</code> permission" in page.text
    api = await client.post(
        "/dashboard/api/uploads",
        json={"name": "a.mp4", "size": 10},
        headers={"X-CSRF-Token": await page_csrf(client)},
    )
    assert api.status_code == 403
    assert api.json()["error"] == (
        "the access token you signed in with lacks the video:write permission"
    )
