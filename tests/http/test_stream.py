"""``/stream/``: manifests and files of a published asset, over in-process ASGI.

A real 2 s clip is encoded once per session with the pipeline and its output stored in a
LocalObjectStore per test; file tests run against both ways of sending bytes (the store's
local path through FileResponse, and ``open_range`` streaming for stores without one). The
last test downloads the served HLS as a player would and decodes it with PyAV.
"""

from __future__ import annotations

import gzip
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from reelhouse import ids
from reelhouse.db.models import Asset, PlaybackId, Rendition
from reelhouse.delivery.responses import GZIP_MIN_SIZE
from reelhouse.delivery.routes import DeliveryDeps, stream_routes
from reelhouse.pipeline.playlists import parse_media_playlist
from reelhouse.storage.layout import asset_version_prefix
from reelhouse.storage.local import LocalObjectStore
from tests.http.conftest import Encoded

BASE = "http://stream.test"
FRAMES = 60  # 2 s at 30 fps
IDENTITY = {"Accept-Encoding": "identity"}
NOT_READY = {"error": {"type": "not_ready", "messages": ["This asset is still being prepared"]}}


class StreamingOnlyStore:
    """A store without ``local_path`` (like S3): the routes must stream ``open_range``."""

    def __init__(self, inner: LocalObjectStore) -> None:
        self._inner = inner
        self.stat = inner.stat
        self.get_bytes = inner.get_bytes
        self.open_range = inner.open_range


@dataclass
class Env:
    sessions: async_sessionmaker[AsyncSession]
    store: LocalObjectStore
    environment_id: str
    encoded: Encoded

    async def publish(
        self, *, status: str = "ready", version: int = 1, policy: str = "public", files: bool = True
    ) -> Published:
        now = datetime.now(UTC)
        asset_id, playback_id = ids.new_id(), ids.new_id()
        prefix = asset_version_prefix(self.environment_id, asset_id, max(version, 1))
        async with self.sessions.begin() as s:
            s.add(asset_row(asset_id, self.environment_id, status, version, now))
            await s.flush()
            s.add(
                PlaybackId(
                    id=playback_id,
                    environment_id=self.environment_id,
                    asset_id=asset_id,
                    policy=policy,
                    created_at=now,
                )
            )
            for r in self.encoded.result.renditions:
                s.add(rendition_row(asset_id, version, prefix, r, now))
        if files:
            await self.upload(prefix)
        return Published(playback_id, asset_id, prefix)

    async def upload(self, prefix: str) -> None:
        for path in sorted(self.encoded.out_dir.rglob("*")):
            if path.is_file():
                await self.store.put_file(
                    prefix + path.relative_to(self.encoded.out_dir).as_posix(), path
                )

    async def set_version(self, asset_id: str, version: int) -> None:
        async with self.sessions.begin() as s:
            await s.execute(update(Asset).where(Asset.id == asset_id).values(version=version))


def asset_row(asset_id: str, env: str, status: str, version: int, now: datetime) -> Asset:
    return Asset(
        id=asset_id,
        environment_id=env,
        status=status,
        ingest_type="on_demand_direct_upload",
        inputs=[],
        settings={},
        tracks=[],
        version=version,
        created_at=now,
        updated_at=now,
    )


def rendition_row(asset_id: str, version: int, prefix: str, r: Any, now: datetime) -> Rendition:
    return Rendition(
        asset_id=asset_id,
        version=version,
        name=r.name,
        kind=r.kind,
        width=r.width,
        height=r.height,
        frame_rate=float(r.frame_rate) if r.frame_rate else None,
        bandwidth=r.bandwidth.peak,
        average_bandwidth=r.bandwidth.average,
        codecs=r.codecs,
        channels=2 if r.kind == "audio" else None,
        passthrough=r.passthrough,
        playlist_key=prefix + r.playlist,
        created_at=now,
    )


@dataclass(frozen=True)
class Published:
    playback_id: str
    asset_id: str
    prefix: str

    def url(self, path: str = "") -> str:
        return f"/stream/{self.playback_id}{path}"


@pytest.fixture
async def env(
    sessions: async_sessionmaker[AsyncSession],
    environment_id: str,
    encoded: Encoded,
    tmp_path: Path,
) -> Env:
    return Env(
        sessions, LocalObjectStore(tmp_path / "objects", fsync=False), environment_id, encoded
    )


def make_client(env: Env, *, streaming: bool = False, cache_ttl: float = 0) -> httpx.AsyncClient:
    store: Any = StreamingOnlyStore(env.store) if streaming else env.store
    deps = DeliveryDeps(env.sessions, store, lambda: datetime.now(UTC), cache_ttl=cache_ttl)
    app = Starlette(routes=stream_routes(deps))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


@pytest.fixture
async def client(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(env) as client:
        yield client


@pytest.fixture(params=["local_path", "open_range"])
async def file_client(request: pytest.FixtureRequest, env: Env) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(env, streaming=request.param == "open_range") as client:
        yield client


@pytest.fixture
async def ready(env: Env) -> Published:
    return await env.publish()


def assert_cors(response: httpx.Response) -> None:
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"content-length", "content-range", "etag"} <= exposed


# -- manifests ---------------------------------------------------------------------------


async def test_master_playlist(client: httpx.AsyncClient, ready: Published) -> None:
    response = await client.get(ready.url(".m3u8"), headers=IDENTITY)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert response.headers["cache-control"] == "public, max-age=10"
    assert "content-encoding" not in response.headers
    assert_cors(response)
    lines = response.text.splitlines()
    assert lines[:3] == ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    pid = ready.playback_id
    assert lines[3].startswith('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud"')
    assert f'URI="{pid}/v1/audio/index.m3u8"' in lines[3]
    infs = [line for line in lines if line.startswith("#EXT-X-STREAM-INF:")]
    assert len(infs) == 2
    for inf in infs:
        assert "BANDWIDTH=" in inf and "AVERAGE-BANDWIDTH=" in inf and 'AUDIO="aud"' in inf
        assert 'CODECS="avc1.' in inf and ',mp4a.40.2"' in inf
    assert "RESOLUTION=640x360" in infs[0] and "RESOLUTION=426x240" in infs[1]
    assert [line for line in lines if not line.startswith("#")] == [
        f"{pid}/v1/360p/index.m3u8",
        f"{pid}/v1/240p/index.m3u8",
    ]
    # playback-core fetches the first media playlist itself: exactly 200, VOD.
    for uri in media_uris(response.text):
        media = await client.get(f"/stream/{uri}")
        assert media.status_code == 200
        assert media.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in media.text and "#EXT-X-ENDLIST" in media.text
        assert_cors(media)


def media_uris(master: str) -> list[str]:
    uris = [line for line in master.splitlines() if line and not line.startswith("#")]
    uris += [part.split('"')[1] for part in master.split(",") if part.startswith("URI=")]
    return uris


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?max_resolution=240p", ["240p"]),
        ("?min_resolution=360p", ["360p"]),
        ("?rendition_order=desc", ["360p", "240p"]),
        ("?max_resolution=720p&min_resolution=270p", ["360p"]),
        ("?max_resolution=bogus", ["360p", "240p"]),
    ],
)
async def test_master_playlist_modifiers(
    client: httpx.AsyncClient, ready: Published, query: str, expected: list[str]
) -> None:
    response = await client.get(ready.url(".m3u8" + query))
    variants = [
        line.split("/")[2] for line in response.text.splitlines() if line and line[0] != "#"
    ]
    assert response.status_code == 200 and variants == expected


async def test_extensionless_url_is_the_master_playlist(
    client: httpx.AsyncClient, ready: Published
) -> None:
    with_ext = await client.get(ready.url(".m3u8"))
    without = await client.get(ready.url())
    assert without.status_code == 200 and without.text == with_ext.text


async def test_playlists_are_gzipped_when_accepted(
    client: httpx.AsyncClient, ready: Published
) -> None:
    plain = await client.get(ready.url(".m3u8"), headers=IDENTITY)
    async with client.stream("GET", ready.url(".m3u8"), headers={"Accept-Encoding": "gzip"}) as r:
        raw = b"".join([chunk async for chunk in r.aiter_raw()])
    assert r.headers["content-encoding"] == "gzip" and r.headers["vary"] == "Accept-Encoding"
    assert int(r.headers["content-length"]) == len(raw) < len(plain.content)
    assert gzip.decompress(raw) == plain.content
    # Media playlists too, from GZIP_MIN_SIZE bytes up (smaller ones are not worth it).
    url = ready.url("/v1/360p/index.m3u8")
    size = len((await client.get(url, headers=IDENTITY)).content)
    media = await client.get(url, headers={"Accept-Encoding": "gzip"})
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in media.text
    assert ("content-encoding" in media.headers) is (size >= GZIP_MIN_SIZE)


async def test_head_of_master_playlist(client: httpx.AsyncClient, ready: Published) -> None:
    get = await client.get(ready.url(".m3u8"), headers=IDENTITY)
    head = await client.head(ready.url(".m3u8"), headers=IDENTITY)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))


async def test_dash_manifest_has_a_base_url_that_resolves(
    client: httpx.AsyncClient, ready: Published
) -> None:
    response = await client.get(ready.url(".mpd"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/dash+xml"
    assert_cors(response)
    base = f"{ready.playback_id}/v1/"
    assert f"<BaseURL>{base}</BaseURL>" in response.text
    resolved = urllib.parse.urljoin(
        urllib.parse.urljoin(str(response.url), base), "360p/init_0.mp4"
    )
    assert resolved == f"{BASE}/stream/{base}360p/init_0.mp4"
    segment = response.text.split('<SegmentURL media="')[1].split('"')[0]
    fetched = await client.get(urllib.parse.urljoin(str(response.url), base) + segment)
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "video/iso.segment"


async def test_one_query_per_playlist_request(
    client: httpx.AsyncClient, ready: Published, engine: AsyncEngine
) -> None:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        response = await client.get(ready.url(".m3u8"))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert response.status_code == 200
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == statements
    assert len(statements) == 1


async def test_the_cache_answers_a_burst_with_one_query(
    env: Env, ready: Published, engine: AsyncEngine
) -> None:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    async with make_client(env, cache_ttl=60) as client:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            for path in (".m3u8", "/v1/360p/index.m3u8", "/v1/360p/init_0.mp4"):
                assert (await client.get(ready.url(path))).status_code == 200
            await env.set_version(ready.asset_id, 2)  # not yet seen: the cache holds v1
            assert (await client.get(ready.url("/v1/360p/index.m3u8"))).status_code == 200
            # A request for a newer version reloads at once.
            assert (await client.get(ready.url("/v2/360p/index.m3u8"))).status_code == 404
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert len([s for s in statements if "FROM playback_ids" in s]) == 2


# -- files -------------------------------------------------------------------------------


def stored(env: Env, published: Published, path: str) -> bytes:
    return env.store.local_path(published.prefix + path).read_bytes()


async def test_init_and_segment(file_client: httpx.AsyncClient, env: Env, ready: Published) -> None:
    for path, media_type in (
        ("360p/init_0.mp4", "video/mp4"),
        ("audio/seg_00001.m4s", "video/iso.segment"),
    ):
        response = await file_client.get(ready.url(f"/v1/{path}"))
        body = stored(env, ready, path)
        assert response.status_code == 200 and response.content == body
        assert response.headers["content-type"] == media_type
        assert response.headers["content-length"] == str(len(body))
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["accept-ranges"] == "bytes"
        info = await env.store.stat(ready.prefix + path)
        assert response.headers["etag"] == f'"{info.etag}"'
        assert "last-modified" in response.headers
        assert_cors(response)


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, None),
        ("bytes=-50", -50, None),
        ("bytes=10-10", 10, 10),
    ],
)
async def test_range_is_206(
    file_client: httpx.AsyncClient,
    env: Env,
    ready: Published,
    range_header: str,
    start: int,
    end: int | None,
) -> None:
    body = stored(env, ready, "360p/seg_00001.m4s")
    response = await file_client.get(
        ready.url("/v1/360p/seg_00001.m4s"), headers={"Range": range_header}
    )
    first = start % len(body)
    last = len(body) - 1 if end is None else end
    assert response.status_code == 206
    assert response.content == body[first : last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/{len(body)}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert_cors(response)


@pytest.mark.parametrize("range_header", ["bytes=999999999-", "bytes=-0"])
async def test_unsatisfiable_range_is_416(
    file_client: httpx.AsyncClient, env: Env, ready: Published, range_header: str
) -> None:
    size = len(stored(env, ready, "360p/seg_00001.m4s"))
    response = await file_client.get(
        ready.url("/v1/360p/seg_00001.m4s"), headers={"Range": range_header}
    )
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    assert_cors(response)


@pytest.mark.parametrize("range_header", ["bytes=0-1,5-9", "lines=1-2", "bytes=9-1"])
async def test_ignored_range_sends_everything(
    file_client: httpx.AsyncClient, env: Env, ready: Published, range_header: str
) -> None:
    response = await file_client.get(
        ready.url("/v1/360p/seg_00001.m4s"), headers={"Range": range_header}
    )
    assert response.status_code == 200
    assert response.content == stored(env, ready, "360p/seg_00001.m4s")


async def test_if_range(file_client: httpx.AsyncClient, ready: Published) -> None:
    url = ready.url("/v1/360p/seg_00001.m4s")
    etag = (await file_client.head(url)).headers["etag"]
    same = await file_client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    changed = await file_client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert (same.status_code, len(same.content)) == (206, 10)
    assert changed.status_code == 200 and len(changed.content) > 10


async def test_etag_revalidation_is_304(file_client: httpx.AsyncClient, ready: Published) -> None:
    url = ready.url("/v1/360p/seg_00001.m4s")
    etag = (await file_client.get(url)).headers["etag"]
    response = await file_client.get(url, headers={"If-None-Match": f'"nope", {etag}'})
    assert response.status_code == 304 and response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert_cors(response)
    miss = await file_client.get(url, headers={"If-None-Match": '"nope"'})
    assert miss.status_code == 200


async def test_head_of_segment(file_client: httpx.AsyncClient, env: Env, ready: Published) -> None:
    url = ready.url("/v1/360p/seg_00001.m4s")
    size = len(stored(env, ready, "360p/seg_00001.m4s"))
    head = await file_client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(size) and "etag" in head.headers
    ranged = await file_client.head(url, headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.content == b""
    assert ranged.headers["content-range"] == f"bytes 0-9/{size}"


async def test_only_the_published_version_is_served(
    client: httpx.AsyncClient, env: Env, ready: Published
) -> None:
    await env.upload(asset_version_prefix(env.environment_id, ready.asset_id, 2))
    await env.set_version(ready.asset_id, 2)
    assert (await client.get(ready.url("/v1/360p/seg_00001.m4s"))).status_code == 404
    assert (await client.get(ready.url("/v1/360p/index.m3u8"))).status_code == 404
    assert (await client.get(ready.url("/v3/360p/index.m3u8"))).status_code == 404
    assert (await client.get(ready.url("/v2/360p/seg_00001.m4s"))).status_code == 200


# -- errors ------------------------------------------------------------------------------


async def test_preparing_asset_is_412(client: httpx.AsyncClient, env: Env) -> None:
    preparing = await env.publish(status="preparing", version=0, files=False)
    for path in (".m3u8", ".mpd", "/v1/360p/index.m3u8", "/v1/360p/seg_00001.m4s"):
        response = await client.get(preparing.url(path))
        assert response.status_code == 412, path
        assert response.json() == NOT_READY
        assert response.headers["cache-control"] == "no-store"
        assert_cors(response)


async def test_reencoding_asset_is_412_even_with_old_outputs(
    client: httpx.AsyncClient, env: Env
) -> None:
    again = await env.publish(status="preparing", version=1)
    assert (await client.get(again.url(".m3u8"))).status_code == 412


async def test_errored_asset_is_412_and_says_so(client: httpx.AsyncClient, env: Env) -> None:
    errored = await env.publish(status="errored", version=0, files=False)
    response = await client.get(errored.url(".m3u8"))
    assert response.status_code == 412
    assert response.json() == {
        "error": {
            "type": "asset_errored",
            "messages": ["This asset errored while being prepared and cannot be played"],
        }
    }


async def test_signed_playback_id_is_403(client: httpx.AsyncClient, env: Env) -> None:
    signed = await env.publish(policy="signed")
    for path in (".m3u8?token=a.b.c", ".mpd", "/v1/360p/seg_00001.m4s"):
        response = await client.get(signed.url(path))
        assert response.status_code == 403, path
        assert response.json()["error"]["messages"] == ["This playback ID requires a signed token"]
        assert_cors(response)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/stream/{'A' * 28}.m3u8", 404),
        (f"/stream/{'A' * 28}.mpd", 404),
        (f"/stream/{'A' * 28}/v1/360p/seg_00001.m4s", 404),
        ("/stream/nope.m3u8", 400),
        ("/stream/bad-id!.m3u8", 400),
        ("/stream/nope/v1/360p/seg_00001.m4s", 400),
    ],
)
async def test_unknown_and_malformed_ids(client: httpx.AsyncClient, path: str, status: int) -> None:
    response = await client.get(path)
    assert response.status_code == status
    assert response.json()["error"]["type"] == {400: "invalid_parameters", 404: "not_found"}[status]
    assert_cors(response)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/360p/seg_99999.m4s",
        "/v1/360p/nothing.m3u8",
        "/v1/source",
        "/v1/manifest.mpd",
        "/v1/360p/.~rh-x.m4s",
        "/v1/360p/%2e%2e/%2e%2e/v1/audio/seg_00001.m4s",
        "/x1/360p/seg_00001.m4s",
        "/360p/seg_00001.m4s",
        ".mp4",
    ],
)
async def test_bad_file_paths_are_404(
    client: httpx.AsyncClient, ready: Published, path: str
) -> None:
    response = await client.get(ready.url(path))
    assert response.status_code == 404
    assert_cors(response)


async def test_cors_preflight(client: httpx.AsyncClient, ready: Published) -> None:
    for path in (".m3u8", "/v1/360p/seg_00001.m4s"):
        response = await client.options(
            ready.url(path),
            headers={
                "Origin": "https://player.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "range",
            },
        )
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == "*"
        assert "GET" in response.headers["access-control-allow-methods"]
        assert "range" in response.headers["access-control-allow-headers"].lower()


# -- a player's view ---------------------------------------------------------------------


async def test_served_hls_decodes(
    client: httpx.AsyncClient, tmp_path: Path, ready: Published
) -> None:
    """Fetch the master, every media playlist, its init and segments over HTTP, as a player
    would (URIs resolved against the response URL), into a directory; decode with PyAV."""
    master = await client.get(ready.url(".m3u8"))
    assert master.status_code == 200
    for uri in media_uris(master.text):
        playlist_url = urllib.parse.urljoin(str(master.url), uri)
        playlist = await client.get(playlist_url)
        assert playlist.status_code == 200
        local = tmp_path / uri
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(playlist.content)
        parsed = parse_media_playlist(playlist.text)
        assert parsed.playlist_type == "VOD" and parsed.ended and parsed.init_uri
        for part in [parsed.init_uri, *(s.uri for s in parsed.segments)]:
            fetched = await client.get(urllib.parse.urljoin(playlist_url, part))
            assert fetched.status_code == 200, part
            (local.parent / part).write_bytes(fetched.content)
        if "/audio/" in uri:
            assert decoded_audio_seconds(local) == pytest.approx(2.0, abs=0.1)
        else:
            assert decoded_video_frames(local) == FRAMES


def decoded_video_frames(playlist: Path) -> int:
    with av.open(str(playlist)) as container:
        return sum(1 for _ in container.decode(video=0))


def decoded_audio_seconds(playlist: Path) -> float:
    with av.open(str(playlist)) as container:
        return sum(frame.samples / frame.sample_rate for frame in container.decode(audio=0))
