"""Static renditions end to end, in process: the API (``PUT mp4-support``, ``POST`` and
``DELETE static-renditions``), the publish hook and the real job (FFmpeg remuxing a real 2 s
HLS output held in a LocalObjectStore), then the files over ``/stream/{playback_id}/{name}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import httpx
import mux_python as mux
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from reelhouse import ids
from reelhouse.db.models import Asset, OutboxEvent, PlaybackId
from reelhouse.delivery.routes import DeliveryDeps, stream_routes
from reelhouse.delivery.static import content_disposition, download_filename, static_routes
from reelhouse.media import processing
from reelhouse.storage.layout import asset_version_prefix
from reelhouse.storage.local import LocalObjectStore
from reelhouse.worker.media_tasks import MediaDeps, asset_facts, rendition_facts
from reelhouse.worker.static_tasks import make_static_renditions
from tests.http.conftest import JSON, Caller, Encoded, build_app
from tests.http.test_mux_python import server_url  # noqa: F401  (the fixture)
from tests.mediagen import FFMPEG

BASE = "http://reelhouse.test"
Sessions = async_sessionmaker[AsyncSession]


Packaged = Encoded


@pytest.fixture(scope="session")
def packaged(encoded: Encoded) -> Encoded:
    return encoded


@dataclass
class World:
    sessions: Sessions
    store: LocalObjectStore
    media: MediaDeps
    packaged: Packaged
    api: httpx.AsyncClient
    stream: httpx.AsyncClient

    async def asset(
        self, caller: Caller, settings: dict[str, Any] | None = None, *, publish: bool = True
    ) -> tuple[str, str]:
        """A new asset of ``caller`` (and its public playback id), published on version 1
        from the real outputs unless ``publish`` is False (then it stays preparing)."""
        now = datetime.now(UTC)
        asset_id, playback_id = ids.new_id(), ids.new_id()
        async with self.sessions.begin() as s:
            s.add(
                Asset(
                    id=asset_id,
                    environment_id=caller.environment_id,
                    status="preparing",
                    ingest_type="on_demand_direct_upload",
                    inputs=[],
                    settings={"video_quality": "plus", **(settings or {})},
                    tracks=[],
                    version=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            await s.flush()
            s.add(
                PlaybackId(
                    id=playback_id,
                    environment_id=caller.environment_id,
                    asset_id=asset_id,
                    policy="public",
                    created_at=now,
                )
            )
        if publish:
            await self.publish(caller, asset_id)
        return asset_id, playback_id

    async def publish(self, caller: Caller, asset_id: str) -> None:
        prefix = asset_version_prefix(caller.environment_id, asset_id, 1)
        for path in sorted(self.packaged.out_dir.rglob("*")):
            if path.is_file():
                key = prefix + path.relative_to(self.packaged.out_dir).as_posix()
                await self.store.put_file(key, path)
        result = self.packaged.result
        async with self.sessions.begin() as s:
            locked = await processing.lock_asset(s, asset_id)
            assert locked is not None
            await processing.publish(
                s,
                locked,
                version=1,
                renditions=rendition_facts(result, prefix),
                facts=asset_facts(result),
                now=datetime.now(UTC),
            )

    async def run_job(self, asset_id: str) -> None:
        await make_static_renditions(self.media, asset_id, 1)

    async def wire(self, caller: Caller, asset_id: str) -> dict[str, Any]:
        response = await self.api.get(f"/video/v1/assets/{asset_id}", auth=caller.auth)
        assert response.status_code == 200
        data: dict[str, Any] = response.json()["data"]
        return data

    async def events(self, asset_id: str) -> list[OutboxEvent]:
        async with self.sessions() as s:
            rows = await s.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.object_id == asset_id)
                .order_by(OutboxEvent.seq)
            )
            return list(rows.all())


@pytest.fixture
async def world(sessions: Sessions, packaged: Packaged, tmp_path: Path) -> AsyncIterator[World]:
    store = LocalObjectStore(tmp_path / "objects", fsync=False)
    media = MediaDeps(
        sessions=sessions,
        store=store,
        clock=lambda: datetime.now(UTC),
        ffmpeg=FFMPEG,
        uploads_dir=tmp_path / "uploads",
        inputs_dir=tmp_path / "inputs",
        scratch_dir=tmp_path / "scratch",
    )
    delivery = DeliveryDeps(sessions, store, lambda: datetime.now(UTC), cache_ttl=0)
    stream_app = Starlette(routes=[*static_routes(delivery), *stream_routes(delivery)])
    api_transport = httpx.ASGITransport(app=build_app(sessions))
    stream_transport = httpx.ASGITransport(app=stream_app)
    async with (
        httpx.AsyncClient(transport=api_transport, base_url=BASE) as api,
        httpx.AsyncClient(transport=stream_transport, base_url=BASE) as stream,
    ):
        yield World(sessions, store, media, packaged, api, stream)


@pytest.fixture
async def capped(world: World, caller: Caller) -> str:
    """The playback id of an asset whose ``capped-1080p.mp4`` and ``audio.m4a`` are made."""
    asset_id, playback_id = await world.asset(caller, {"mp4_support": "audio-only,capped-1080p"})
    await world.run_job(asset_id)
    return playback_id


# --- the asset's state and the API -------------------------------------------------------------


async def test_mp4_support_files_turn_ready(world: World, caller: Caller) -> None:
    asset_id, _ = await world.asset(caller, {"mp4_support": "capped-1080p"})
    before = (await world.wire(caller, asset_id))["static_renditions"]
    assert before["status"] == "preparing"
    assert [(f["name"], f["status"], f["type"]) for f in before["files"]] == [
        ("capped-1080p.mp4", "preparing", "standard")
    ]
    await world.run_job(asset_id)
    asset = await world.wire(caller, asset_id)
    assert asset["mp4_support"] == "capped-1080p"
    assert asset["static_renditions"]["status"] == "ready"
    [file] = asset["static_renditions"]["files"]
    assert file["status"] == "ready" and file["ext"] == "mp4"
    assert (file["width"], file["height"], file["resolution_tier"]) == (640, 360, "720p")
    assert file["filesize"].isdigit() and int(file["filesize"]) > 10_000
    assert file["bitrate"] == pytest.approx(int(file["filesize"]) * 8 / 2.0, rel=0.1)
    assert "version" not in file
    types = [e.type for e in await world.events(asset_id)]
    assert types.index("video.asset.static_renditions.preparing") < types.index("video.asset.ready")
    assert types[-2:] == [
        "video.asset.static_renditions.ready",
        "video.asset.static_rendition.ready",
    ]


async def test_static_renditions_requested_at_creation(world: World, caller: Caller) -> None:
    wanted = [{"resolution": "highest", "passthrough": "hi"}, {"resolution": "2160p"}]
    asset_id, _ = await world.asset(caller, {"static_renditions": wanted})
    await world.run_job(asset_id)
    state = (await world.wire(caller, asset_id))["static_renditions"]
    files = {f["name"]: f for f in state["files"]}
    assert state["status"] == "ready"
    assert files["highest.mp4"]["status"] == "ready"
    assert files["highest.mp4"]["passthrough"] == "hi"
    assert files["highest.mp4"]["resolution"] == "highest"
    assert files["2160p.mp4"]["status"] == "skipped"  # never upscaled
    assert {f["type"] for f in state["files"]} == {"advanced"}
    events = [e.type for e in await world.events(asset_id)]
    assert "video.asset.static_rendition.skipped" in events
    assert "video.asset.static_renditions.ready" not in events  # legacy: mp4_support only


async def test_post_static_rendition_is_201_then_ready(world: World, caller: Caller) -> None:
    asset_id, playback_id = await world.asset(caller)
    response = await world.api.post(
        f"/video/v1/assets/{asset_id}/static-renditions",
        json={"resolution": "audio-only", "passthrough": "track"},
        auth=caller.auth,
    )
    assert response.status_code == 201
    made = response.json()["data"]
    assert made["name"] == "audio.m4a" and made["ext"] == "m4a"
    assert (made["status"], made["type"], made["passthrough"]) == ("preparing", "advanced", "track")
    assert (await world.stream.get(f"/stream/{playback_id}/audio.m4a")).status_code == 412
    again = await world.api.post(
        f"/video/v1/assets/{asset_id}/static-renditions",
        json={"resolution": "audio-only"},
        auth=caller.auth,
    )
    assert again.status_code == 400
    await world.run_job(asset_id)
    [file] = (await world.wire(caller, asset_id))["static_renditions"]["files"]
    assert file["id"] == made["id"] and file["status"] == "ready"
    assert file["resolution_tier"] == "audio-only"
    assert (await world.stream.get(f"/stream/{playback_id}/audio.m4a")).status_code == 200


async def test_requests_while_preparing_are_made_on_publish(world: World, caller: Caller) -> None:
    asked = {"static_renditions": [{"resolution": "highest"}]}
    asset_id, playback_id = await world.asset(caller, asked, publish=False)
    base = f"/video/v1/assets/{asset_id}"
    response = await world.api.post(
        f"{base}/static-renditions", json={"resolution": "360p"}, auth=caller.auth
    )
    assert response.status_code == 201
    put = await world.api.put(
        f"{base}/mp4-support", json={"mp4_support": "audio-only"}, auth=caller.auth
    )
    assert put.status_code == 200
    assert (await world.stream.get(f"/stream/{playback_id}/360p.mp4")).status_code == 412
    await world.publish(caller, asset_id)
    await world.run_job(asset_id)
    files = (await world.wire(caller, asset_id))["static_renditions"]["files"]
    made = {f["name"]: (f["status"], f["type"], f.get("height")) for f in files}
    assert made == {
        "highest.mp4": ("ready", "advanced", 360),
        "360p.mp4": ("ready", "advanced", 360),
        "audio.m4a": ("ready", "standard", None),
    }
    created = [e for e in await world.events(asset_id) if e.type.endswith(".created")]
    assert sorted(e.data["name"] for e in created if "name" in e.data) == sorted(made)


async def test_a_file_ffmpeg_cannot_make_is_errored(world: World, caller: Caller) -> None:
    asset_id, playback_id = await world.asset(caller, {"mp4_support": "capped-1080p"})
    prefix = asset_version_prefix(caller.environment_id, asset_id, 1)
    init = world.packaged.result.renditions[0].init
    await world.store.put_bytes(prefix + init, b"\x00\x00\x00\x08junk" * 8)
    await world.run_job(asset_id)
    state = (await world.wire(caller, asset_id))["static_renditions"]
    assert state["status"] == "errored"
    assert [f["status"] for f in state["files"]] == ["errored"]
    types = [e.type for e in await world.events(asset_id)]
    assert types[-2:] == [
        "video.asset.static_renditions.errored",
        "video.asset.static_rendition.errored",
    ]
    assert (await world.stream.get(f"/stream/{playback_id}/capped-1080p.mp4")).status_code == 404
    await world.run_job(asset_id)  # idempotent: nothing left to make
    assert len(await world.events(asset_id)) == len(types)


async def test_put_mp4_support_and_delete(world: World, caller: Caller) -> None:
    asset_id, playback_id = await world.asset(caller)
    url = f"/video/v1/assets/{asset_id}/mp4-support"
    response = await world.api.put(url, json={"mp4_support": "standard"}, auth=caller.auth)
    assert response.status_code == 200
    asset = response.json()["data"]
    assert asset["mp4_support"] == "standard"
    assert [f["name"] for f in asset["static_renditions"]["files"]] == ["low.mp4"]
    await world.run_job(asset_id)
    [file] = (await world.wire(caller, asset_id))["static_renditions"]["files"]
    assert file["status"] == "ready"
    assert (await world.stream.head(f"/stream/{playback_id}/low.mp4")).status_code == 200

    gone = f"/video/v1/assets/{asset_id}/static-renditions/{file['id']}"
    assert (await world.api.delete(gone, auth=caller.auth)).status_code == 204
    assert (await world.api.delete(gone, auth=caller.auth)).status_code == 404
    assert "static_renditions" not in await world.wire(caller, asset_id)
    assert (await world.stream.get(f"/stream/{playback_id}/low.mp4")).status_code == 404

    none = await world.api.put(url, json={"mp4_support": "none"}, auth=caller.auth)
    assert none.status_code == 200 and none.json()["data"]["mp4_support"] == "none"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("PUT", "mp4-support", {"mp4_support": "sometimes"}, 400),
        ("PUT", "mp4-support", {}, 400),
        ("POST", "static-renditions", {"resolution": "4320p"}, 400),
        ("POST", "static-renditions", {"resolution": "720p", "extra": 1}, 400),
        ("DELETE", "static-renditions/nope", None, 404),
    ],
)
async def test_bad_requests(
    world: World, caller: Caller, method: str, path: str, body: Any, status: int
) -> None:
    asset_id, _ = await world.asset(caller, publish=False)
    response = await world.api.request(
        method, f"/video/v1/assets/{asset_id}/{path}", json=body, auth=caller.auth
    )
    assert response.status_code == status


async def test_another_environments_asset_is_404(
    world: World, caller: Caller, other_caller: Caller
) -> None:
    asset_id, _ = await world.asset(caller, publish=False)
    for method, path, body in [
        ("PUT", "mp4-support", {"mp4_support": "standard"}),
        ("POST", "static-renditions", {"resolution": "highest"}),
    ]:
        response = await world.api.request(
            method,
            f"/video/v1/assets/{asset_id}/{path}",
            json=body,
            headers=JSON,
            auth=other_caller.auth,
        )
        assert response.status_code == 404


# --- serving the files -------------------------------------------------------------------------


async def test_get_whole_file_plays(world: World, capped: str, tmp_path: Path) -> None:
    response = await world.stream.get(f"/stream/{capped}/capped-1080p.mp4")
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "content-disposition" not in response.headers
    path = tmp_path / "got.mp4"
    path.write_bytes(response.content)
    with av.open(str(path)) as container:
        assert sorted(s.type for s in container.streams) == ["audio", "video"]
        assert container.duration is not None
        assert container.duration / 1_000_000 == pytest.approx(2.0, abs=0.15)
    audio = await world.stream.get(f"/stream/{capped}/audio.m4a")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mp4"


async def test_ranges(world: World, capped: str) -> None:
    url = f"/stream/{capped}/capped-1080p.mp4"
    whole = (await world.stream.get(url)).content
    size = len(whole)
    first = await world.stream.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.content == whole[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{size}"
    suffix = await world.stream.get(url, headers={"Range": "bytes=-500"})
    assert suffix.status_code == 206 and suffix.content == whole[-500:]
    assert suffix.headers["content-range"] == f"bytes {size - 500}-{size - 1}/{size}"
    past = await world.stream.get(url, headers={"Range": f"bytes={size}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{size}"


async def test_head_and_etag(world: World, capped: str) -> None:
    url = f"/stream/{capped}/capped-1080p.mp4"
    head = await world.stream.head(url)
    got = await world.stream.get(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["etag"] == got.headers["etag"]
    again = await world.stream.get(url, headers={"If-None-Match": got.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("download=lesson.mp4", 'attachment; filename="lesson.mp4"'),
        ("download=", 'attachment; filename="capped-1080p.mp4"'),
        ("download=../..%2Fetc%2Fpasswd", 'attachment; filename="etc_passwd"'),
        ('download=a"b%0d%0aX-Evil: 1.mp4', 'attachment; filename="a_b_X-Evil_ 1.mp4"'),
    ],
)
async def test_download_names_the_file(
    world: World, capped: str, query: str, expected: str
) -> None:
    response = await world.stream.get(f"/stream/{capped}/capped-1080p.mp4?{query}")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == expected


def test_download_filename_rules() -> None:
    assert download_filename("Leçon 1.mp4") == "Lecon 1.mp4"
    assert download_filename("...") == "download"
    assert download_filename("x" * 500) == "x" * 200
    assert content_disposition("日本.mp4") == (
        "attachment; filename=\"mp4\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.mp4"
    )


@pytest.mark.parametrize(
    "name", ["highest.mp4", "low.mp4", "1080p.mp4", "nope.mp4", "master.m3u8", "capped-1080p"]
)
async def test_files_not_made_are_404(world: World, capped: str, name: str) -> None:
    assert (await world.stream.get(f"/stream/{capped}/{name}")).status_code == 404


async def test_preparing_is_412(world: World, caller: Caller) -> None:
    _, playback_id = await world.asset(caller, {"mp4_support": "capped-1080p"})
    response = await world.stream.get(f"/stream/{playback_id}/capped-1080p.mp4")
    assert response.status_code == 412
    assert response.json()["error"]["type"] == "not_ready"
    _, other_id = await world.asset(caller, {"mp4_support": "capped-1080p"}, publish=False)
    assert (await world.stream.get(f"/stream/{other_id}/capped-1080p.mp4")).status_code == 412


async def test_unknown_and_malformed_playback_ids(world: World) -> None:
    assert (await world.stream.get(f"/stream/{ids.new_id()}/highest.mp4")).status_code == 404
    assert (await world.stream.get("/stream/not-an-id!/highest.mp4")).status_code == 400


async def test_hls_still_served_beside_static_routes(world: World, capped: str) -> None:
    response = await world.stream.get(f"/stream/{capped}.m3u8")
    assert response.status_code == 200
    segment = await world.stream.get(f"/stream/{capped}/v1/360p/seg_00001.m4s")
    assert segment.status_code == 200


async def test_cors_preflight(world: World, capped: str) -> None:
    response = await world.stream.options(f"/stream/{capped}/capped-1080p.mp4")
    assert response.status_code == 204
    assert "GET" in response.headers["access-control-allow-methods"]


# --- mux-python --------------------------------------------------------------------------------


def test_mux_python_static_renditions(server_url: str, caller: Caller) -> None:  # noqa: F811
    config = mux.Configuration(host=server_url)
    config.username, config.password = caller.token_id, caller.secret
    assets = mux.AssetsApi(mux.ApiClient(config))
    request = mux.CreateAssetRequest(input=[mux.InputSettings(url="https://media.example/a.mp4")])
    asset = assets.create_asset(request).data
    created = assets.create_asset_static_rendition(
        asset.id, mux.CreateStaticRenditionRequest(resolution="highest", passthrough="p")
    )
    assert created is not None, "a create must answer 201 or mux-python returns None"
    assert (created.data.name, created.data.status) == ("highest.mp4", "preparing")
    updated = assets.update_asset_mp4_support(
        asset.id, mux.UpdateAssetMP4SupportRequest(mp4_support="capped-1080p")
    )
    assert updated is not None and updated.data.mp4_support == "capped-1080p"
    got = assets.get_asset(asset.id).data
    assert got.static_renditions.status == "preparing"
    assert [f.name for f in got.static_renditions.files] == ["highest.mp4"]
    assets.delete_asset_static_rendition(asset.id, created.data.id)
    assert assets.get_asset(asset.id).data.static_renditions is None
