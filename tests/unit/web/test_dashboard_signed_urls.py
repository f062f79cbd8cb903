"""The signed link generator in-process: a signing key made from the dashboard (private half
shown once), links minted with it that the signed playback gate accepts for the stream, the
poster and the seek previews until they expire, and every refusal (wrong or malformed key,
public or foreign playback id, expiry out of range, CSRF, permissions)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from sqlalchemy import select

from reelhouse.db.models import Asset, PlaybackId, SigningKey
from reelhouse.delivery.access import Viewer
from reelhouse.delivery.errors import TokenRequired
from reelhouse.delivery.playbacks import Playback
from reelhouse.delivery.signed import SignedPlayback
from reelhouse.errors import InvalidParameters
from reelhouse.media import signing_keys

from .asset_board import EVERYTHING, START, Board, Sessions, board_client, publish, url_asset
from .dashboard_app import Clock


@pytest.fixture
async def board(sessions: Sessions, environment_id: str, tmp_path: Path) -> AsyncIterator[Board]:
    async with board_client(sessions, environment_id, tmp_path) as made:
        await made.sign_in(EVERYTHING)
        yield made


@pytest.fixture
async def signed(sessions: Sessions, environment_id: str) -> tuple[Asset, str, str]:
    """A ready asset with a public and a signed playback id: (asset, public id, signed id)."""
    asset = await url_asset(
        sessions, environment_id, at=START, playback_policy=["public", "signed"]
    )
    await publish(sessions, asset.id)
    async with sessions() as session:
        rows = (
            await session.scalars(select(PlaybackId).where(PlaybackId.asset_id == asset.id))
        ).all()
    by_policy = {r.policy: r.id for r in rows}
    return asset, by_policy["public"], by_policy["signed"]


async def new_key(board: Board) -> dict[str, Any]:
    made = await board.post_json("/dashboard/api/signing-keys", {})
    assert made.status_code == 201, made.text
    key: dict[str, Any] = made.json()
    return key


def link_form(pid: str, key: dict[str, Any], expires_in: int = 3600) -> dict[str, Any]:
    """What the asset page posts for signed links to ``pid`` with a key as it was created."""
    return {
        "playback_id": pid,
        "key_id": key["id"],
        "private_key": key["private_key"],
        "expires_in": expires_in,
    }


def token_of(url: str, name: str = "token") -> str:
    return parse_qs(urlsplit(url).query)[name][0]


def playback(asset: Asset, pid: str) -> Playback:
    return Playback(pid, "signed", asset.environment_id, asset.id, "ready", 1, ())


async def test_a_new_key_mints_links_the_gate_accepts(
    board: Board, sessions: Sessions, signed: tuple[Asset, str, str]
) -> None:
    asset, _, pid = signed
    key = await new_key(board)
    pem = base64.b64decode(key["private_key"])
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    async with sessions() as session:
        stored = await session.get_one(SigningKey, key["id"])
    assert "PRIVATE" not in stored.public_key_pem  # only the public half is kept
    response = await board.post_json(
        f"/dashboard/api/assets/{asset.id}/signed-urls", link_form(pid, key)
    )
    assert response.status_code == 200, response.text
    urls = response.json()
    assert urls["stream_url"].startswith(f"http://test/stream/{pid}.m3u8?token=")
    assert urls["embed_url"].startswith(f"http://test/embed/{pid}?token=")
    assert urls["thumbnail_url"].startswith(f"http://test/image/{pid}/thumbnail.webp?token=")
    assert urls["expires_at"] == "2026-02-03 10:00 UTC"
    assert f'src="{urls["embed_url"].replace("&", "&amp;")}"' in urls["embed_html"]

    stream = token_of(urls["stream_url"])
    public = jwt.decode(  # the test clock is not the machine's: exp is checked below
        stream,
        stored.public_key_pem,
        algorithms=["RS256"],
        audience="v",
        options={"verify_exp": False},
    )
    assert public["sub"] == pid and public["kid"] == key["id"]
    assert public["exp"] == int((START + timedelta(hours=1)).timestamp())

    clock = Clock(START)
    gate = SignedPlayback.from_sessions(sessions, b"g" * 32, clock)
    access = await gate.check(playback(asset, pid), Viewer(token=stream), "v")
    assert access.signed and access.grant
    embed = urls["embed_url"]
    for name, audience in (("thumbnail_token", "t"), ("storyboard_token", "s")):
        await gate.check(playback(asset, pid), Viewer(token=token_of(embed, name)), audience)
    with pytest.raises(TokenRequired, match="aud"):
        await gate.check(
            playback(asset, pid), Viewer(token=token_of(embed, "thumbnail_token")), "v"
        )
    clock.advance(3600 + 11)
    with pytest.raises(TokenRequired, match="expired"):
        await SignedPlayback.from_sessions(sessions, b"g" * 32, clock).check(
            playback(asset, pid), Viewer(token=stream), "v"
        )


async def test_the_pem_itself_works_too(board: Board, signed: tuple[Asset, str, str]) -> None:
    asset, _, pid = signed
    key = await new_key(board)
    pem = base64.b64decode(key["private_key"]).decode()
    response = await board.post_json(
        f"/dashboard/api/assets/{asset.id}/signed-urls",
        {"playback_id": pid, "key_id": key["id"], "private_key": pem, "expires_in": "86400"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"key_id": ""}, 400, "Choose a signing key."),
        (
            {"key_id": "nosuchkey0000000000000"},
            400,
            "There is no signing key 'nosuchkey0000000000000' here.",
        ),
        ({"private_key": ""}, 400, "Paste the private key of the signing key."),
        ({"private_key": "hello"}, 400, "The private key is neither a PEM nor base64 of one."),
        (
            {"private_key": "-----BEGIN RSA PRIVATE KEY-----\nxx\n-----END RSA PRIVATE KEY-----"},
            400,
            "The private key could not be read (a PEM RSA key).",
        ),
        ({"private_key": "OTHER"}, 400, "That private key is not the one of signing key"),
        ({"expires_in": 10}, 400, "A signed link lasts from one minute to one year."),
        ({"expires_in": "soon"}, 400, "Choose how long the link stays valid."),
        ({"playback_id": "PUBLIC"}, 400, "A public playback id needs no token."),
        (
            {"playback_id": "nosuchplayback000000000"},
            404,
            "That signed playback id is not on this video.",
        ),
    ],
)
async def test_refusals_say_why(
    board: Board,
    signed: tuple[Asset, str, str],
    change: dict[str, Any],
    status: int,
    message: str,
) -> None:
    asset, public_id, pid = signed
    body = link_form(pid, await new_key(board)) | change
    if body["private_key"] == "OTHER":
        body["private_key"] = (await new_key(board))["private_key"]
    if body["playback_id"] == "PUBLIC":
        body["playback_id"] = public_id
    response = await board.post_json(f"/dashboard/api/assets/{asset.id}/signed-urls", body)
    assert response.status_code == status, response.text
    assert response.json()["error"].startswith(message)


async def test_another_assets_playback_id_is_not_found(
    board: Board, sessions: Sessions, environment_id: str, signed: tuple[Asset, str, str]
) -> None:
    _, _, pid = signed
    other = await url_asset(sessions, environment_id, at=START)
    body = link_form(pid, await new_key(board), expires_in=60)
    response = await board.post_json(f"/dashboard/api/assets/{other.id}/signed-urls", body)
    assert response.status_code == 404


async def test_csrf_and_permissions(
    sessions: Sessions, environment_id: str, tmp_path: Path, signed: tuple[Asset, str, str]
) -> None:
    asset, _, pid = signed
    async with board_client(sessions, environment_id, tmp_path) as anonymous:
        refused = await anonymous.http.post("/dashboard/api/signing-keys", json={})
        assert refused.status_code == 401
    async with board_client(sessions, environment_id, tmp_path) as board:
        await board.sign_in(["video:read", "video:write"])
        no_system = await board.post_json("/dashboard/api/signing-keys", {})
        assert no_system.status_code == 403
        assert "system:write" in no_system.json()["error"]
        page = (await board.http.get(f"/assets/{asset.id}")).text
        assert 'id="create-key"' not in page
        assert 'id="signing-key-help"' in page  # no system:read: the key id is typed in
        no_csrf = await board.http.post(
            f"/dashboard/api/assets/{asset.id}/signed-urls", json={"playback_id": pid}
        )
        assert no_csrf.status_code == 403
    async with sessions() as session:
        assert (
            await session.scalars(
                select(SigningKey).where(SigningKey.environment_id == environment_id)
            )
        ).all() == []


async def test_the_page_lists_keys_and_signed_ids(
    board: Board, sessions: Sessions, environment_id: str, signed: tuple[Asset, str, str]
) -> None:
    asset, _, pid = signed
    page = (await board.http.get(f"/assets/{asset.id}")).text
    assert 'id="no-keys"' in page and 'id="create-key"' in page
    async with sessions.begin() as session:
        _, public_pem = signing_keys.generate_key_pair()
        row = await signing_keys.create_signing_key(session, environment_id, public_pem, now=START)
    page = (await board.http.get(f"/assets/{asset.id}")).text
    assert f'<option value="{row.id}">' in page
    assert f'<option value="{pid}">{pid}</option>' in page
    assert 'id="no-keys"' not in page


def test_private_key_pem_accepts_pem_and_base64_only() -> None:
    pem = b"-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n"
    assert signing_keys.private_key_pem(pem.decode()) == pem.strip()
    assert signing_keys.private_key_pem(base64.b64encode(pem).decode()) == pem
    for bad in ("", "   ", "!!!", base64.b64encode(b"not a key").decode(), "A" * 20_000):
        with pytest.raises(InvalidParameters):
            signing_keys.private_key_pem(bad)
