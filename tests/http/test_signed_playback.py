"""Signed playback over ``/stream/``: one JWT check on the manifest, HMAC grants on the files.

Reuses the real encoded clip of ``test_stream``. Every forged or wrong token is refused on the
multivariant playlist, on a media playlist and on a segment (the image and static-MP4 routes
call the same ``PlaybackGate.check`` with their audiences ``t``/``g``/``s``/``v`` and get
the same refusals; their own tests cover them once those routes exist).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from reelhouse.db.models import Environment
from reelhouse.delivery.routes import DeliveryDeps, stream_routes
from reelhouse.delivery.signed import SignedPlayback
from reelhouse.media import playback_restrictions, signing_keys
from reelhouse.media.signing_keys import sign_playback_token as sign
from tests.http.test_stream import (  # noqa: F401  (fixtures)
    BASE,
    Env,
    Published,
    env,
    media_uris,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET = b"g" * 32


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Key:
    id: str
    pem: bytes
    public_pem: str

    def token(self, playback_id: str, aud: str = "v", ttl: int = 3600, **kw: Any) -> str:
        exp = int(datetime.now(UTC).timestamp()) + ttl
        header = bool(kw.pop("kid_in_header", False))
        return sign(
            self.pem,
            key_id=self.id,
            playback_id=playback_id,
            audience=aud,
            expires_at=exp,
            params=kw,
            kid_in_header=header,
        )


async def new_key(sessions: async_sessionmaker[AsyncSession], environment_id: str) -> Key:
    private_pem, public_pem = signing_keys.generate_key_pair()
    async with sessions.begin() as s:
        row = await signing_keys.create_signing_key(
            s, environment_id, public_pem, now=datetime.now(UTC)
        )
    return Key(row.id, private_pem, public_pem)


@dataclass
class World:
    env: Env
    client: httpx.AsyncClient
    clock: Clock
    key: Key
    signed: Published

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.get(url, **kw)


@pytest.fixture
async def world(env: Env) -> AsyncIterator[World]:  # noqa: F811  (the imported fixture)
    clock = Clock()
    gate = SignedPlayback.from_sessions(env.sessions, SECRET, clock)
    deps = DeliveryDeps(env.sessions, env.store, clock, gate=gate, cache_ttl=0)
    app = Starlette(routes=stream_routes(deps))
    key = await new_key(env.sessions, env.environment_id)
    signed = await env.publish(policy="signed")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield World(env, client, clock, key, signed)


def assert_forbidden(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 403, response.text
    body = response.json()["error"]
    assert body["type"] == "forbidden"
    assert fragment in body["messages"][0], body["messages"][0]
    assert response.headers["cache-control"] == "no-store"


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def file_uris(media_playlist: str) -> list[str]:
    uris = lines(media_playlist)
    uris += [
        line.split('URI="')[1].split('"')[0]
        for line in media_playlist.splitlines()
        if 'URI="' in line
    ]
    return uris


async def play(world: World, url: str, **kw: Any) -> list[httpx.Response]:
    """Fetch ``url`` (a master playlist) and everything it leads to, as a player would."""
    master = await world.get(url, **kw)
    assert master.status_code == 200, master.text
    fetched = [master]
    for uri in media_uris(master.text):
        media_url = urllib.parse.urljoin(str(master.url), uri)
        media = await world.get(media_url, **kw)
        assert media.status_code == 200, (media_url, media.text)
        fetched.append(media)
        for file_uri in file_uris(media.text)[:3]:
            file = await world.get(urllib.parse.urljoin(media_url, file_uri), **kw)
            assert file.status_code == 200, (file_uri, file.text)
            fetched.append(file)
    return fetched


@pytest.mark.parametrize("kid_in_header", [False, True], ids=["kid-in-payload", "kid-in-header"])
async def test_a_signed_id_plays_with_a_token(world: World, kid_in_header: bool) -> None:
    token = world.key.token(world.signed.playback_id, kid_in_header=kid_in_header)
    fetched = await play(world, world.signed.url(f".m3u8?token={token}"))
    pid = world.signed.playback_id
    assert all(f"{pid}/t/" in uri for uri in media_uris(fetched[0].text))
    assert len(fetched) > 4
    for response in fetched:
        assert response.headers["cache-control"].startswith("private"), response.url
        assert "token=" not in str(response.url) or response is fetched[0]


async def test_public_ids_stay_public(world: World) -> None:
    public = await world.env.publish()
    for response in await play(world, public.url(".m3u8")):
        assert response.headers["cache-control"].startswith("public"), response.url


async def test_a_signed_id_without_a_token_is_403(world: World) -> None:
    assert_forbidden(await world.get(world.signed.url(".m3u8")), "?token=")
    assert_forbidden(await world.get(world.signed.url("/v1/360p/index.m3u8")), "grant")
    assert_forbidden(await world.get(world.signed.url("/v1/360p/seg_00001.m4s")), "grant")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(alg: str, payload: dict[str, Any], secret: bytes | None) -> str:
    header = json.dumps({"alg": alg, "typ": "JWT"}).encode()
    signing_input = f"{_b64(header)}.{_b64(json.dumps(payload).encode())}"
    if secret is None:
        return signing_input + "."
    return (
        signing_input
        + "."
        + _b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
    )


Forger = Callable[[World], Any]


async def _other_environment_key(world: World) -> str:
    other = f"env_other_{world.key.id[:8]}"
    async with world.env.sessions.begin() as s:
        s.add(Environment(id=other, name=other, created_at=datetime.now(UTC)))
    key = await new_key(world.env.sessions, other)
    return key.token(world.signed.playback_id)


async def _deleted_key(world: World) -> str:
    async with world.env.sessions.begin() as s:
        await signing_keys.delete_signing_key(
            s, world.env.environment_id, world.key.id, now=datetime.now(UTC)
        )
    return world.key.token(world.signed.playback_id)


def _claims(world: World, **changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": world.signed.playback_id,
        "aud": "v",
        "exp": int(datetime.now(UTC).timestamp()) + 600,
        "kid": world.key.id,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def _unsigned(world: World) -> str:
    return _forge("none", _claims(world), None)


async def _hs256_public_key(world: World) -> str:
    return _forge("HS256", _claims(world), world.key.public_pem.encode())


async def _unknown_kid(world: World) -> str:
    return jwt.encode(_claims(world, kid="Z" * 28), world.key.pem, algorithm="RS256")


async def _expired(world: World) -> str:
    return world.key.token(world.signed.playback_id, ttl=-120)


async def _no_exp(world: World) -> str:
    return jwt.encode(_claims(world, exp=None), world.key.pem, algorithm="RS256")


async def _wrong_aud(world: World) -> str:
    return world.key.token(world.signed.playback_id, aud="t")


async def _wrong_sub(world: World) -> str:
    other = await world.env.publish(policy="signed", files=False)
    return world.key.token(other.playback_id)


async def _garbage(world: World) -> str:
    return "eyJhbGciOiJSUzI1NiJ9.garbage.garbage"


FORGERIES = [
    ("alg-none", _unsigned, "alg must be RS256"),
    ("hs256-with-public-key", _hs256_public_key, "alg must be RS256"),
    ("unknown-kid", _unknown_kid, "unknown signing key"),
    ("other-environment-key", _other_environment_key, "another environment"),
    ("deleted-key", _deleted_key, "has been deleted"),
    ("expired", _expired, "expired"),
    ("no-exp", _no_exp, "exp claim is required"),
    ("wrong-aud", _wrong_aud, "this URL needs 'v'"),
    ("wrong-sub", _wrong_sub, "sub is not this playback ID"),
    ("garbage", _garbage, "not a well-formed JWT"),
]


@pytest.mark.parametrize(
    ("make", "fragment"), [(m, f) for _, m, f in FORGERIES], ids=[n for n, _, _ in FORGERIES]
)
async def test_forged_and_wrong_tokens_are_403_everywhere(
    world: World, make: Any, fragment: str
) -> None:
    token = await make(world)
    for path in (".m3u8", "/v1/360p/index.m3u8", "/v1/360p/seg_00001.m4s", ".mpd"):
        response = await world.get(world.signed.url(f"{path}?token={token}"))
        assert_forbidden(response, fragment)


async def _granted_media_url(world: World) -> str:
    token = world.key.token(world.signed.playback_id)
    master = await world.get(world.signed.url(f".m3u8?token={token}"))
    return urllib.parse.urljoin(str(master.url), media_uris(master.text)[0])


def _with_grant(url: str, change: Callable[[str], str]) -> str:
    head, _, rest = url.partition("/t/")
    grant, _, tail = rest.partition("/")
    return f"{head}/t/{change(grant)}/{tail}"


def _tamper(grant: str) -> str:
    head, _, mac = grant.rpartition(".")
    return f"{head}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"


def _extend(grant: str) -> str:
    _, _, rest = grant.partition(".")
    return f"{int(datetime.now(UTC).timestamp()) + 10**6}.{rest}"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [(_tamper, "not valid"), (_extend, "not valid"), (lambda g: g[:-1], "malformed")],
    ids=["tampered-mac", "extended-expiry", "truncated"],
)
async def test_tampered_grants_are_403(
    world: World, change: Callable[[str], str], fragment: str
) -> None:
    url = await _granted_media_url(world)
    assert (await world.get(url)).status_code == 200
    bad = _with_grant(url, change)
    assert_forbidden(await world.get(bad), fragment)
    assert_forbidden(await world.get(bad.replace("index.m3u8", "seg_00001.m4s")), fragment)


async def test_an_expired_grant_is_403(world: World) -> None:
    url = await _granted_media_url(world)
    world.clock.offset = timedelta(hours=7)  # past the 6 h grant lifetime
    assert_forbidden(await world.get(url), "expired")


async def test_a_grant_is_bound_to_its_playback_id(world: World) -> None:
    other = await world.env.publish(policy="signed")
    url = await _granted_media_url(world)
    moved = url.replace(world.signed.playback_id, other.playback_id)
    assert_forbidden(await world.get(moved), "not valid for this playback ID")


async def test_stream_options_of_a_signed_id_come_from_the_token(world: World) -> None:
    pid = world.signed.playback_id
    plain = world.key.token(pid)
    capped = world.key.token(pid, max_resolution="240p")
    ignored = await world.get(world.signed.url(f".m3u8?token={plain}&max_resolution=240p"))
    assert [uri.rsplit("/", 2)[1] for uri in lines(ignored.text)] == ["360p", "240p"]
    applied = await world.get(world.signed.url(f".m3u8?token={capped}"))
    assert [uri.rsplit("/", 2)[1] for uri in lines(applied.text)] == ["240p"]


async def test_signed_dash_carries_the_grant_in_its_base_url(world: World) -> None:
    token = world.key.token(world.signed.playback_id)
    response = await world.get(world.signed.url(f".mpd?token={token}"))
    assert response.status_code == 200
    base = response.text.split("<BaseURL>")[1].split("</BaseURL>")[0]
    assert base.startswith(f"{world.signed.playback_id}/t/")
    segment = response.text.split('<SegmentURL media="')[1].split('"')[0]
    fetched = await world.get(urllib.parse.urljoin(str(response.url), base) + segment)
    assert fetched.status_code == 200
    assert fetched.headers["cache-control"].startswith("private")


# -- a token from Mux's own Node SDK -------------------------------------------------------

SIGN_SCRIPT = """
const Mux = require('@mux/mux-node');
const [playbackId, keyId, keySecret] = process.argv.slice(1);
new Mux({ tokenId: 'unused', tokenSecret: 'unused' }).jwt
  .signPlaybackId(playbackId, { keyId, keySecret, type: 'video', expiration: '1h' })
  .then((token) => console.log(token));
"""


@pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules/@mux/mux-node").is_dir(),
    reason="needs node and `npm install` (@mux/mux-node)",
)
async def test_a_mux_node_token_plays(world: World) -> None:
    key_secret = base64.b64encode(world.key.pem).decode()
    done = subprocess.run(
        ["node", "-e", SIGN_SCRIPT, world.signed.playback_id, world.key.id, key_secret],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    token = done.stdout.strip()
    assert "kid" not in jwt.get_unverified_header(token)  # mux-node puts it in the payload
    assert jwt.decode(token, options={"verify_signature": False})["kid"] == world.key.id
    await play(world, world.signed.url(f".m3u8?token={token}"))


# -- playback restrictions -------------------------------------------------------------------


async def restricted_token(world: World, **referrer: Any) -> str:
    async with world.env.sessions.begin() as s:
        row = await playback_restrictions.create_restriction(
            s,
            world.env.environment_id,
            referrer=playback_restrictions.referrer_rules(**referrer),
            user_agent=playback_restrictions.user_agent_rules(True, False),
            now=datetime.now(UTC),
        )
    return world.key.token(world.signed.playback_id, playback_restriction_id=row.id)


async def test_an_allowed_wildcard_referrer_plays(world: World) -> None:
    token = await restricted_token(
        world, allowed_domains=["*.example.com"], allow_no_referrer=False
    )
    headers = {"Referer": "https://learn.example.com/lesson/7"}
    await play(world, world.signed.url(f".m3u8?token={token}"), headers=headers)


async def test_a_foreign_referrer_is_403_on_the_manifest_and_the_files(world: World) -> None:
    token = await restricted_token(
        world, allowed_domains=["*.example.com"], allow_no_referrer=False
    )
    foreign = {"Referer": "https://pirate.example.net/"}
    url = world.signed.url(f".m3u8?token={token}")
    assert_forbidden(await world.get(url, headers=foreign), "pirate.example.net is not allowed")
    allowed = await world.get(url, headers={"Origin": "https://app.example.com"})
    media = urllib.parse.urljoin(str(allowed.url), media_uris(allowed.text)[0])
    assert (
        await world.get(media, headers={"Origin": "https://app.example.com"})
    ).status_code == 200
    assert_forbidden(await world.get(media, headers=foreign), "is not allowed")


async def test_no_referrer_is_403_unless_allowed(world: World) -> None:
    token = await restricted_token(world, allowed_domains=["example.com"], allow_no_referrer=False)
    assert_forbidden(await world.get(world.signed.url(f".m3u8?token={token}")), "Referer")
    token = await restricted_token(world, allowed_domains=["example.com"], allow_no_referrer=True)
    assert (await world.get(world.signed.url(f".m3u8?token={token}"))).status_code == 200


async def test_a_download_tool_is_403_when_high_risk_agents_are_refused(world: World) -> None:
    token = await restricted_token(world, allowed_domains=["*"], allow_no_referrer=True)
    url = world.signed.url(f".m3u8?token={token}")
    assert_forbidden(await world.get(url, headers={"User-Agent": "curl/8.5.0"}), "user agent")
    browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"}
    assert (await world.get(url, headers=browser)).status_code == 200
