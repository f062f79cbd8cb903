"""Signed playback on the image routes and static MP4s, over in-process ASGI.

The stream's forgery matrix (``test_signed_playback``) again, on ``/image/{id}/thumbnail.jpg``
(aud ``t``), ``animated.gif`` (``g``), ``storyboard.vtt`` (``s``) and
``/stream/{id}/capped-1080p.mp4`` (``v``): every forged or wrong token is 403 with Mux's error
JSON, a valid token of the right audience plays with a ``private`` Cache-Control, and the
image modifiers of a signed id come from the token's claims, never from the URL.

The asset is the static-rendition tests' real 2 s encode, published through
``processing.publish`` and with its ``capped-1080p.mp4`` made by the real job; its playback id
is then made ``signed``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import httpx
import jwt
import pytest
from sqlalchemy import update
from starlette.applications import Starlette

from reelhouse import ids
from reelhouse.db.models import Environment, PlaybackId
from reelhouse.delivery.images import ImageDeps, image_routes
from reelhouse.delivery.routes import DeliveryDeps, stream_routes
from reelhouse.delivery.signed import SignedPlayback
from reelhouse.delivery.static import static_routes
from reelhouse.media import playback_restrictions, signing_keys
from reelhouse.storage.local import LocalObjectStore
from reelhouse.worker.media_tasks import MediaDeps
from tests.http.conftest import Caller, build_app, make_caller
from tests.http.test_signed_playback import Key, _forge, assert_forbidden, new_key
from tests.http.test_static_renditions import (  # noqa: F401  (the session fixture)
    Packaged,
    Sessions,
    packaged,
)
from tests.http.test_static_renditions import World as StaticWorld
from tests.mediagen import FFMPEG

BASE = "http://signed.test"
SECRET = b"s" * 32
MP4 = "capped-1080p.mp4"

# (label, path under the playback id, the audience it needs, a wrong audience for it)
TARGETS = [
    ("thumbnail", "/image/{pid}/thumbnail.jpg", "t", "v"),
    ("animated", "/image/{pid}/animated.gif", "g", "t"),
    ("storyboard", "/image/{pid}/storyboard.vtt", "s", "v"),
    ("mp4", f"/stream/{{pid}}/{MP4}", "v", "t"),
]


@dataclass
class Signed:
    """One ready asset with a signed playback id, its ``capped-1080p.mp4`` made."""

    world: StaticWorld
    caller: Caller
    client: httpx.AsyncClient
    key: Key
    asset_id: str
    playback_id: str

    @property
    def sessions(self) -> Sessions:
        return self.world.sessions

    def url(self, path: str, token: str | None = None, query: str = "") -> str:
        params = "&".join(p for p in (f"token={token}" if token else "", query) if p)
        return path.format(pid=self.playback_id) + (f"?{params}" if params else "")

    def token(self, aud: str, **params: Any) -> str:
        return self.key.token(self.playback_id, aud=aud, **params)

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.get(url, **kw)


@dataclass
class Seeded:
    world: StaticWorld
    caller: Caller
    client: httpx.AsyncClient
    asset_id: str
    playback_id: str


@pytest.fixture(scope="module")
async def seeded(
    sessions: Sessions,
    packaged: Packaged,  # noqa: F811  (the imported fixture)
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Seeded]:
    """The asset, made once per module (each test gets its own signing key)."""
    folder = tmp_path_factory.mktemp("signed-images")
    store = LocalObjectStore(folder / "objects", fsync=False)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    media = MediaDeps(
        sessions=sessions,
        store=store,
        clock=clock,
        ffmpeg=FFMPEG,
        uploads_dir=folder / "uploads",
        inputs_dir=folder / "inputs",
        scratch_dir=folder / "scratch",
    )
    gate = SignedPlayback.from_sessions(sessions, SECRET, clock)
    delivery = DeliveryDeps(sessions, store, clock, gate=gate, cache_ttl=0)
    images = ImageDeps(
        sessions, store, clock, ffmpeg=FFMPEG, scratch_dir=folder / "scratch", gate=gate
    )
    app = Starlette(
        routes=[*static_routes(delivery), *stream_routes(delivery), *image_routes(images)]
    )
    caller = await make_caller(sessions)
    api_transport = httpx.ASGITransport(app=build_app(sessions))
    async with (
        httpx.AsyncClient(transport=api_transport, base_url=BASE) as api,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client,
    ):
        world = StaticWorld(sessions, store, media, packaged, api, client)
        asset_id, playback_id = await world.asset(caller, {"mp4_support": "capped-1080p"})
        await world.run_job(asset_id)
        async with sessions.begin() as s:
            await s.execute(
                update(PlaybackId).where(PlaybackId.id == playback_id).values(policy="signed")
            )
        state = (await world.wire(caller, asset_id))["static_renditions"]
        assert [(f["name"], f["status"]) for f in state["files"]] == [(MP4, "ready")]
        yield Seeded(world, caller, client, asset_id, playback_id)


@pytest.fixture
async def signed(seeded: Seeded) -> Signed:
    key = await new_key(seeded.world.sessions, seeded.caller.environment_id)
    return Signed(
        seeded.world, seeded.caller, seeded.client, key, seeded.asset_id, seeded.playback_id
    )


# -- the forgery matrix -------------------------------------------------------------------------

Forger = Callable[[Signed, str], Awaitable[str | None]]


def claims(s: Signed, aud: str, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": s.playback_id,
        "aud": aud,
        "exp": int(datetime.now(UTC).timestamp()) + 600,
        "kid": s.key.id,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


async def _no_token(s: Signed, aud: str) -> str | None:
    return None


async def _alg_none(s: Signed, aud: str) -> str | None:
    return _forge("none", claims(s, aud), None)


async def _alg_none_capitalised(s: Signed, aud: str) -> str | None:
    return _forge("None", claims(s, aud), None)


async def _hs256_public_key(s: Signed, aud: str) -> str | None:
    return _forge("HS256", claims(s, aud), s.key.public_pem.encode())


async def _unknown_kid(s: Signed, aud: str) -> str | None:
    return jwt.encode(claims(s, aud, kid="Z" * 28), s.key.pem, algorithm="RS256")


async def _other_environment_key(s: Signed, aud: str) -> str | None:
    other = f"env_other_{ids.new_id()[:12]}"
    async with s.sessions.begin() as session:
        session.add(Environment(id=other, name=other, created_at=datetime.now(UTC)))
    key = await new_key(s.sessions, other)
    return key.token(s.playback_id, aud=aud)


async def _deleted_key(s: Signed, aud: str) -> str | None:
    async with s.sessions.begin() as session:
        row = await signing_keys.find_key(session, s.key.id)
        if row is not None and row.deleted_at is None:
            await signing_keys.delete_signing_key(
                session, s.caller.environment_id, s.key.id, now=datetime.now(UTC)
            )
    return s.token(aud)


async def _bad_signature(s: Signed, aud: str) -> str | None:
    impostor_pem, _ = signing_keys.generate_key_pair()
    return jwt.encode(claims(s, aud), impostor_pem, algorithm="RS256")


async def _expired(s: Signed, aud: str) -> str | None:
    return s.key.token(s.playback_id, aud=aud, ttl=-120)


async def _no_exp(s: Signed, aud: str) -> str | None:
    return jwt.encode(claims(s, aud, exp=None), s.key.pem, algorithm="RS256")


async def _wrong_sub(s: Signed, aud: str) -> str | None:
    return s.key.token(ids.new_id(), aud=aud)


async def _malformed(s: Signed, aud: str) -> str | None:
    return "eyJhbGciOiJSUzI1NiJ9.garbage.garbage"


async def _not_yet_valid(s: Signed, aud: str) -> str | None:
    nbf = int(datetime.now(UTC).timestamp()) + 600
    return jwt.encode(claims(s, aud, nbf=nbf, exp=nbf + 600), s.key.pem, algorithm="RS256")


async def _crit_header(s: Signed, aud: str) -> str | None:
    headers = {"crit": ["exp"], "kid": s.key.id}
    return jwt.encode(claims(s, aud), s.key.pem, algorithm="RS256", headers=headers)


async def _kids_disagree(s: Signed, aud: str) -> str | None:
    headers = {"kid": "Y" * 28}
    return jwt.encode(claims(s, aud), s.key.pem, algorithm="RS256", headers=headers)


async def _too_long(s: Signed, aud: str) -> str | None:
    return s.token(aud, padding="p" * 4096)


FORGERIES: list[tuple[str, Forger, str]] = [
    ("no-token", _no_token, "?token="),
    ("alg-none", _alg_none, "alg must be RS256"),
    ("alg-None", _alg_none_capitalised, "alg must be RS256"),
    ("hs256-with-public-key", _hs256_public_key, "alg must be RS256"),
    ("unknown-kid", _unknown_kid, "unknown signing key"),
    ("other-environment-key", _other_environment_key, "another environment"),
    ("deleted-key", _deleted_key, "has been deleted"),
    ("bad-signature", _bad_signature, "signature does not verify"),
    ("expired", _expired, "expired"),
    ("no-exp", _no_exp, "exp claim is required"),
    ("wrong-sub", _wrong_sub, "sub is not this playback ID"),
    ("malformed", _malformed, "not a well-formed JWT"),
    ("not-yet-valid", _not_yet_valid, "not valid yet"),
    ("crit-header", _crit_header, "crit header"),
    ("kids-disagree", _kids_disagree, "differ"),
    ("too-long", _too_long, "longer than 4096"),
]


def assert_mux_forbidden(response: httpx.Response, fragment: str) -> None:
    assert_forbidden(response, fragment)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"] and sorted(body["error"]) == ["messages", "type"]
    assert len(body["error"]["messages"]) == 1
    assert response.headers["access-control-allow-origin"] == "*"


def fragment_of(response: httpx.Response) -> str:
    message: str = response.json()["error"]["messages"][0]
    return message


@pytest.mark.parametrize(
    ("make", "fragment"), [(m, f) for _, m, f in FORGERIES], ids=[n for n, _, _ in FORGERIES]
)
async def test_forged_and_wrong_tokens_are_403_on_images_and_mp4(
    signed: Signed, make: Forger, fragment: str
) -> None:
    for label, path, aud, _ in TARGETS:
        token = await make(signed, aud)
        response = await signed.get(signed.url(path, token))
        assert response.status_code == 403, (label, response.status_code, response.text)
        assert_mux_forbidden(response, fragment)


@pytest.mark.parametrize(
    ("path", "wrong"), [(p, w) for _, p, _, w in TARGETS], ids=[n for n, *_ in TARGETS]
)
async def test_a_token_of_another_audience_is_403(signed: Signed, path: str, wrong: str) -> None:
    response = await signed.get(signed.url(path, signed.token(wrong)))
    assert_mux_forbidden(response, "but this URL needs")
    right = next(aud for _, p, aud, _ in TARGETS if p == path)
    assert f"aud is '{wrong}', but this URL needs '{right}'" in fragment_of(response)


async def test_every_other_audience_is_refused_everywhere(signed: Signed) -> None:
    for label, path, aud, _ in TARGETS:
        for other in {"v", "t", "g", "s"} - {aud}:
            response = await signed.get(signed.url(path, signed.token(other)))
            assert response.status_code == 403, (label, other, response.text)


# -- the right token ----------------------------------------------------------------------------


def decoded_size(data: bytes, tmp_path: Path, ext: str) -> tuple[int, int, int]:
    path = tmp_path / f"decoded.{ext}"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    return frames[0].width, frames[0].height, len(frames)


def assert_private(response: httpx.Response) -> None:
    assert response.status_code in (200, 206), (response.url, response.text)
    assert response.headers["cache-control"].startswith("private"), response.headers
    assert "public" not in response.headers["cache-control"]


async def test_the_right_token_plays_each_with_private_caching(
    signed: Signed, tmp_path: Path
) -> None:
    thumb = await signed.get(signed.url("/image/{pid}/thumbnail.jpg", signed.token("t")))
    assert_private(thumb)
    assert thumb.headers["cache-control"] == "private, max-age=3600"
    assert thumb.headers["content-type"] == "image/jpeg"
    assert decoded_size(thumb.content, tmp_path, "jpg")[:2] == (640, 360)

    gif = await signed.get(signed.url("/image/{pid}/animated.gif", signed.token("g")))
    assert_private(gif)
    assert gif.headers["content-type"] == "image/gif"
    assert decoded_size(gif.content, tmp_path, "gif")[0] == 320

    mp4 = await signed.get(signed.url(f"/stream/{{pid}}/{MP4}", signed.token("v")))
    assert_private(mp4)
    assert mp4.headers["cache-control"] == "private, max-age=300"
    assert mp4.headers["content-type"] == "video/mp4"
    path = tmp_path / "got.mp4"
    path.write_bytes(mp4.content)
    with av.open(str(path)) as container:
        assert sorted(s.type for s in container.streams) == ["audio", "video"]


async def test_signed_storyboard_vtt_points_at_the_sprite_with_its_token(
    signed: Signed, tmp_path: Path
) -> None:
    token = signed.token("s")
    vtt = await signed.get(signed.url("/image/{pid}/storyboard.vtt", token, "format=webp"))
    assert_private(vtt)
    assert vtt.text.startswith("WEBVTT")
    cues = re.findall(r"^(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$", vtt.text, re.MULTILINE)
    sprite_url = f"{BASE}/image/{signed.playback_id}/storyboard.webp?token={token}"
    assert cues and {c[0] for c in cues} == {sprite_url}
    sprite = await signed.get(sprite_url)
    assert_private(sprite)
    width, height, _ = decoded_size(sprite.content, tmp_path, "webp")
    for _, x, y, w, h in cues:
        assert int(x) + int(w) <= width and int(y) + int(h) <= height
    document = await signed.get(signed.url("/image/{pid}/storyboard.json", token))
    assert_private(document)
    assert document.json()["url"].endswith(f"/storyboard.jpg?token={token}")
    # the sprite itself wants aud "s" too
    assert_mux_forbidden(
        await signed.get(signed.url("/image/{pid}/storyboard.webp", signed.token("t"))),
        "this URL needs 's'",
    )


async def test_ranges_on_a_signed_mp4(signed: Signed) -> None:
    url = signed.url(f"/stream/{{pid}}/{MP4}", signed.token("v"))
    whole = await signed.get(url)
    assert_private(whole)
    first = await signed.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.content == whole.content[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{len(whole.content)}"
    assert_private(first)
    head = await signed.client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert_private(head)
    # the same v token plays the HLS of the id too (one audience for all video)
    assert_private(await signed.get(signed.url("/stream/{pid}.m3u8", signed.token("v"))))


async def test_thumbnail_modifiers_come_from_the_claims(signed: Signed, tmp_path: Path) -> None:
    path = "/image/{pid}/thumbnail.jpg"
    sized = await signed.get(signed.url(path, signed.token("t", width=320, time="1.8")))
    assert_private(sized)
    assert decoded_size(sized.content, tmp_path, "jpg")[:2] == (320, 180)

    # mux-node sends claim values as strings; numbers and strings mean the same
    as_strings = await signed.get(signed.url(path, signed.token("t", width="320", time=1.8)))
    assert as_strings.status_code == 200
    assert as_strings.content == sized.content

    # URL modifiers of a signed id are ignored: only the claims count
    plain = signed.token("t", width=320)
    ignored = await signed.get(signed.url(path, plain, "width=100&time=1.8"))
    assert ignored.status_code == 200
    assert decoded_size(ignored.content, tmp_path, "jpg")[:2] == (320, 180)
    middle = await signed.get(signed.url(path, plain))
    assert middle.content == ignored.content  # time from the URL ignored: the middle frame
    assert middle.content != sized.content  # time 1.8 from the claims was honoured

    unsized = await signed.get(signed.url(path, signed.token("t"), "width=100"))
    assert decoded_size(unsized.content, tmp_path, "jpg")[:2] == (640, 360)


async def test_bad_modifiers_in_the_claims_are_400(signed: Signed) -> None:
    response = await signed.get(
        signed.url("/image/{pid}/thumbnail.jpg", signed.token("t", width=5000))
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_parameters"
    assert response.json()["error"]["messages"][0].startswith("width")


async def test_animated_modifiers_come_from_the_claims(signed: Signed, tmp_path: Path) -> None:
    token = signed.token("g", start=0.5, end=1.5, fps="10", width=160)
    answer = await signed.get(signed.url("/image/{pid}/animated.gif", token, "width=640"))
    assert_private(answer)
    width, height, frames = decoded_size(answer.content, tmp_path, "gif")
    assert (width, height) == (160, 90)
    assert 9 <= frames <= 11


async def test_a_public_id_of_the_same_asset_stays_public(signed: Signed) -> None:
    public_id = ids.new_id()
    async with signed.sessions.begin() as s:
        s.add(
            PlaybackId(
                id=public_id,
                environment_id=signed.caller.environment_id,
                asset_id=signed.asset_id,
                policy="public",
                created_at=datetime.now(UTC),
            )
        )
    for path in ("/image/{pid}/thumbnail.jpg?width=64", f"/stream/{{pid}}/{MP4}"):
        response = await signed.get(path.format(pid=public_id))
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"].startswith("public")


async def test_the_token_is_not_spliced_raw_into_the_storyboard(signed: Signed) -> None:
    """The ``?token=`` a storyboard URL carries is copied into the sprite URLs; an unverified
    one (a public id ignores it) must not break lines or add cues to the WebVTT."""
    public_id = ids.new_id()
    async with signed.sessions.begin() as s:
        s.add(
            PlaybackId(
                id=public_id,
                environment_id=signed.caller.environment_id,
                asset_id=signed.asset_id,
                policy="public",
                created_at=datetime.now(UTC),
            )
        )
    evil = "x%0A%0A00:00:00.000 --> 99:00:00.000%0Ahttps://evil.example/a.jpg%23xywh=0,0,1,1"
    vtt = await signed.get(f"/image/{public_id}/storyboard.vtt?token={evil}")
    assert vtt.status_code == 200
    assert "evil.example" not in vtt.text.replace("https%3A%2F%2Fevil.example", "")
    blocks = vtt.text.strip().split("\n\n")
    assert blocks[0] == "WEBVTT"
    for block in blocks[1:]:
        timing, url = block.split("\n")
        assert " --> " in timing
        assert url.startswith(f"{BASE}/image/{public_id}/storyboard.jpg?token=x%0A")
        assert url.count("#xywh=") == 1
    document = (await signed.get(f"/image/{public_id}/storyboard.json?token={evil}")).json()
    assert "\n" not in document["url"] and "#" not in document["url"]


async def test_a_playback_restriction_in_the_token_applies_to_images_and_mp4(
    signed: Signed,
) -> None:
    async with signed.sessions.begin() as session:
        row = await playback_restrictions.create_restriction(
            session,
            signed.caller.environment_id,
            referrer=playback_restrictions.referrer_rules(
                allowed_domains=["*.example.com"], allow_no_referrer=False
            ),
            user_agent=playback_restrictions.user_agent_rules(True, True),
            now=datetime.now(UTC),
        )
    allowed = {"Referer": "https://learn.example.com/lesson/1"}
    foreign = {"Referer": "https://pirate.example.net/"}
    for label, path, aud, _ in TARGETS:
        url = signed.url(path, signed.token(aud, playback_restriction_id=row.id))
        assert_mux_forbidden(await signed.get(url, headers=foreign), "is not allowed")
        assert_mux_forbidden(await signed.get(url), "Referer")
        answer = await signed.get(url, headers=allowed)
        assert answer.status_code == 200, (label, answer.text)
