"""Text tracks end to end, in process: ``POST``/``DELETE .../tracks``, the real fetch job
against a caption server on 127.0.0.1 (allowed by ``allow_hosts``, as an operator would), then
the master playlist, the subtitles playlist, the ``.vtt`` and the DASH manifest over
``/stream/``, on a real 2 s HLS output held in a LocalObjectStore."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from starlette.applications import Starlette

from reelhouse import ids, outbound
from reelhouse.db.models import OutboxEvent, PlaybackId, TextTrack
from reelhouse.delivery.routes import DeliveryDeps, stream_routes
from reelhouse.delivery.signed import SignedPlayback
from reelhouse.delivery.text import text_routes
from reelhouse.media import text_tracks
from reelhouse.pipeline.captions import parse_captions
from reelhouse.pipeline.playlists import parse_media_playlist
from reelhouse.storage.local import LocalObjectStore
from reelhouse.worker.media_tasks import MediaDeps
from reelhouse.worker.text_track_tasks import delete_text_track_object, fetch_text_track
from tests.http.conftest import JSON, Caller, build_app
from tests.http.test_signed_playback import SECRET, new_key
from tests.http.test_static_renditions import Packaged, Sessions, World, packaged  # noqa: F401
from tests.mediagen import FFMPEG

BASE = "http://reelhouse.test"
SRT_FILE = (
    "1\r\n00:00:00,200 --> 00:00:01,000\r\n<i>Hello</i> & welcome\r\n\r\n"
    "2\r\n00:00:01,000 --> 00:00:01,900\r\nSecond cue\r\n"
)
VTT_FILE = "WEBVTT\n\nNOTE hi\n\n00:00.100 --> 00:01.500 line:0\nBonjour\n"
LOOPBACK_ONLY = outbound.Policy(allow_hosts=outbound.AllowList.parse("127.0.0.1"))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def captions_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A plain HTTP server on 127.0.0.1 serving a folder: (base URL, folder)."""
    folder = tmp_path_factory.mktemp("captions-site")
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Site:
    base: str
    folder: Path

    def put(self, name: str, body: bytes | str) -> str:
        data = body.encode() if isinstance(body, str) else body
        (self.folder / name).write_bytes(data)
        return f"{self.base}/{name}"


@pytest.fixture
def site(captions_site: tuple[str, Path]) -> Site:
    return Site(*captions_site)


@pytest.fixture
async def world(
    sessions: Sessions,
    packaged: Packaged,  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[World]:
    store = LocalObjectStore(tmp_path / "objects", fsync=False)
    media = MediaDeps(
        sessions=sessions,
        store=store,
        clock=lambda: datetime.now(UTC),
        ffmpeg=FFMPEG,
        uploads_dir=tmp_path / "uploads",
        inputs_dir=tmp_path / "inputs",
        scratch_dir=tmp_path / "scratch",
        outbound_policy=LOOPBACK_ONLY,
    )
    delivery = DeliveryDeps(sessions, store, lambda: datetime.now(UTC), cache_ttl=0)
    stream_app = Starlette(routes=[*text_routes(delivery), *stream_routes(delivery)])
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_app(sessions)), base_url=BASE
        ) as api,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=stream_app), base_url=BASE) as stream,
    ):
        yield World(sessions, store, media, packaged, api, stream)


async def add_track(
    world: World, caller: Caller, asset_id: str, url: str, **fields: Any
) -> httpx.Response:
    body = {"url": url, "type": "text", "text_type": "subtitles", "language_code": "en"}
    return await world.api.post(
        f"/video/v1/assets/{asset_id}/tracks",
        json={**body, **fields},
        headers=JSON,
        auth=caller.auth,
    )


async def ready_track(world: World, caller: Caller, site: Site, **fields: Any) -> tuple[str, str]:
    """(playback id, track id) of a published asset with a ready text track from SRT_FILE."""
    asset_id, playback_id = await world.asset(caller)
    made = await add_track(world, caller, asset_id, site.put("subs.srt", SRT_FILE), **fields)
    assert made.status_code == 201, made.text
    track_id = made.json()["data"]["id"]
    await fetch_text_track(world.media, track_id)
    return playback_id, track_id


def text_tracks_of(asset: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in asset["tracks"] if t["type"] == "text"]


async def track_events(world: World, asset_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (e.type, e.data)
        for e in await world.events(asset_id)
        if e.type.startswith("video.asset.track.")
    ]


# --- the API -----------------------------------------------------------------------------------


async def test_post_answers_a_preparing_track_and_announces_it(
    world: World, caller: Caller, site: Site
) -> None:
    asset_id, _ = await world.asset(caller)
    response = await add_track(
        world,
        caller,
        asset_id,
        site.put("a.srt", SRT_FILE),
        name="English CC",
        closed_captions=True,
        passthrough="p1",
    )
    assert response.status_code == 201
    track = response.json()["data"]
    assert track == {
        "id": track["id"],
        "type": "text",
        "text_type": "subtitles",
        "text_source": "uploaded",
        "language_code": "en",
        "name": "English CC",
        "closed_captions": True,
        "passthrough": "p1",
        "status": "preparing",
    }
    [(kind, data)] = await track_events(world, asset_id)
    assert kind == "video.asset.track.created"
    assert data == {**track, "asset_id": asset_id}
    asset = await world.wire(caller, asset_id)
    assert text_tracks_of(asset) == [track]
    assert [t["type"] for t in asset["tracks"]][:2] == ["video", "audio"]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"language_code": None}, 400),
        ({"type": "audio"}, 400),
        ({"type": "video"}, 400),
        ({"text_type": "captions"}, 400),
        ({"url": "ftp://example.com/a.srt"}, 400),
        ({"url": "file:///etc/passwd"}, 400),
        ({"language_code": "english please"}, 400),
        ({"name": 'say "hi"'}, 400),
        ({"name": "a\nb"}, 400),
        ({"extra": 1}, 400),
        ({"language_code": "pt-BR", "name": "Português"}, 201),
    ],
)
async def test_post_validation(
    world: World, caller: Caller, fields: dict[str, Any], status: int
) -> None:
    asset_id, _ = await world.asset(caller, publish=False)
    body: dict[str, Any] = {
        "url": "https://example.com/a.srt",
        "type": "text",
        "language_code": "en",
    }
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    response = await world.api.post(
        f"/video/v1/assets/{asset_id}/tracks", json=body, headers=JSON, auth=caller.auth
    )
    assert response.status_code == status, response.text


async def test_post_to_unknown_or_foreign_asset_is_404(
    world: World, caller: Caller, other_caller: Caller
) -> None:
    asset_id, _ = await world.asset(other_caller, publish=False)
    for target in (asset_id, "nope"):
        response = await add_track(world, caller, target, "https://example.com/a.srt")
        assert response.status_code == 404


async def test_delete_text_track(world: World, caller: Caller, site: Site) -> None:
    playback_id, track_id = await ready_track(world, caller, site)
    async with world.sessions() as s:
        track = await s.get(TextTrack, track_id)
        assert track is not None and track.object_key is not None
        asset_id, key = track.asset_id, track.object_key
    assert await world.store.exists(key)
    path = f"/video/v1/assets/{asset_id}/tracks/{track_id}"
    assert (await world.api.delete(path, auth=caller.auth)).status_code == 204
    assert (await world.api.delete(path, auth=caller.auth)).status_code == 404
    assert text_tracks_of(await world.wire(caller, asset_id)) == []
    kinds = [kind for kind, _ in await track_events(world, asset_id)]
    assert kinds[-1] == "video.asset.track.deleted"
    async with world.sessions() as s:
        args = (
            await s.execute(
                text(
                    "SELECT args FROM procrastinate_jobs WHERE task_name = :t AND args->>'key' = :k"
                ),
                {"t": text_tracks.DELETE_OBJECT_TASK, "k": key},
            )
        ).scalar_one()
    await delete_text_track_object(world.media, args["key"])
    assert not await world.store.exists(key)
    master = await world.stream.get(f"/stream/{playback_id}.m3u8")
    assert "SUBTITLES" not in master.text
    assert (await world.stream.get(f"/stream/{playback_id}/text/{track_id}.vtt")).status_code == 404


async def test_delete_video_or_audio_track_is_400(world: World, caller: Caller) -> None:
    asset_id, _ = await world.asset(caller)
    for track in (await world.wire(caller, asset_id))["tracks"]:
        path = f"/video/v1/assets/{asset_id}/tracks/{track['id']}"
        response = await world.api.delete(path, auth=caller.auth)
        assert response.status_code == 400
        assert response.json()["error"]["messages"] == ["only text tracks can be deleted"]


async def test_delete_object_job_touches_nothing_but_track_files(world: World) -> None:
    await world.store.put_bytes("env/e/assets/a/source", b"keep")
    await delete_text_track_object(world.media, "env/e/assets/a/source")
    await delete_text_track_object(world.media, "env/e/assets/a/text/../source")
    assert await world.store.exists("env/e/assets/a/source")


# --- the job -----------------------------------------------------------------------------------


async def test_job_makes_the_track_ready(world: World, caller: Caller, site: Site) -> None:
    _, track_id = await ready_track(world, caller, site, name="English")
    async with world.sessions() as s:
        track = await s.get(TextTrack, track_id)
        assert track is not None
        asset_id = track.asset_id
    [ready] = [t for t in text_tracks_of(await world.wire(caller, asset_id))]
    assert ready["status"] == "ready" and ready["name"] == "English"
    kinds = await track_events(world, asset_id)
    assert [k for k, _ in kinds] == ["video.asset.track.created", "video.asset.track.ready"]
    assert kinds[-1][1]["asset_id"] == asset_id and kinds[-1][1]["status"] == "ready"
    # idempotent: a rerun changes nothing and announces nothing
    await fetch_text_track(world.media, track_id)
    assert len(await track_events(world, asset_id)) == 2


async def test_bad_caption_file_errors_the_track_with_a_message(
    world: World, caller: Caller, site: Site
) -> None:
    asset_id, playback_id = await world.asset(caller)
    bad = "1\n00:00:01,000 --> 00:00:02,000\nfine\n\n2\nno timing\nhere\n"
    made = await add_track(world, caller, asset_id, site.put("bad.srt", bad))
    track_id = made.json()["data"]["id"]
    await fetch_text_track(world.media, track_id)
    [track] = text_tracks_of(await world.wire(caller, asset_id))
    assert track["status"] == "errored"
    assert track["error"] == {
        "type": "invalid_input",
        "messages": ["The caption file is not valid SRT or WebVTT: line 6 has no timestamp"],
    }
    kind, data = (await track_events(world, asset_id))[-1]
    assert kind == "video.asset.track.errored" and data["error"] == track["error"]
    assert "SUBTITLES" not in (await world.stream.get(f"/stream/{playback_id}.m3u8")).text
    vtt = await world.stream.get(f"/stream/{playback_id}/text/{track_id}.vtt")
    assert vtt.status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\x00\x01\x02binary", "The caption file is binary data, not SRT or WebVTT text."),
        (b"", "The caption file has no cues."),
        (b"x" * (5 * 1024 * 1024 + 1), "The caption file is larger than 5 MiB."),
    ],
)
async def test_unusable_files(
    world: World, caller: Caller, site: Site, body: bytes, message: str
) -> None:
    asset_id, _ = await world.asset(caller, publish=False)
    made = await add_track(world, caller, asset_id, site.put("file.bin", body))
    await fetch_text_track(world.media, made.json()["data"]["id"])
    [track] = text_tracks_of(await world.wire(caller, asset_id))
    assert (track["status"], track["error"]["messages"]) == ("errored", [message])


async def test_missing_file_errors_the_track(world: World, caller: Caller, site: Site) -> None:
    asset_id, _ = await world.asset(caller, publish=False)
    made = await add_track(world, caller, asset_id, f"{site.base}/nothing-here.srt")
    await fetch_text_track(world.media, made.json()["data"]["id"])
    [track] = text_tracks_of(await world.wire(caller, asset_id))
    assert track["error"]["messages"] == [
        "The caption file could not be fetched: The URL answered HTTP 404."
    ]


async def test_default_policy_refuses_loopback(world: World, caller: Caller, site: Site) -> None:
    asset_id, _ = await world.asset(caller, publish=False)
    made = await add_track(world, caller, asset_id, site.put("ok.srt", SRT_FILE))
    guarded = MediaDeps(
        sessions=world.media.sessions,
        store=world.store,
        clock=world.media.clock,
        ffmpeg=FFMPEG,
        uploads_dir=world.media.uploads_dir,
        inputs_dir=world.media.inputs_dir,
        scratch_dir=world.media.scratch_dir,
    )
    await fetch_text_track(guarded, made.json()["data"]["id"])
    [track] = text_tracks_of(await world.wire(caller, asset_id))
    assert track["status"] == "errored"
    [message] = track["error"]["messages"]
    assert message.startswith("The caption file URL was refused: ")


async def test_track_deleted_while_fetching_leaves_no_file(
    world: World, caller: Caller, site: Site
) -> None:
    asset_id, _ = await world.asset(caller)
    made = await add_track(world, caller, asset_id, site.put("x.srt", SRT_FILE))
    track_id = made.json()["data"]["id"]
    async with world.sessions() as s:
        work = await text_tracks.fetch_work(s, track_id)
    assert work is not None
    await world.api.delete(f"/video/v1/assets/{asset_id}/tracks/{track_id}", auth=caller.auth)
    async with world.sessions.begin() as s:  # the job's late record finds nothing
        key = text_tracks.vtt_key(caller.environment_id, asset_id, track_id)
        assert not await text_tracks.record_ready(s, track_id, key, now=datetime.now(UTC))
    await fetch_text_track(world.media, track_id)  # nothing to do
    assert not await world.store.exists(key)


# --- delivery ----------------------------------------------------------------------------------


async def test_master_playlist_lists_the_subtitles_group(
    world: World, caller: Caller, site: Site
) -> None:
    playback_id, track_id = await ready_track(world, caller, site, name="English")
    master = await world.stream.get(f"/stream/{playback_id}.m3u8")
    assert master.status_code == 200
    lines = master.text.splitlines()
    [media] = [line for line in lines if "TYPE=SUBTITLES" in line]
    assert media == (
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",'
        f'AUTOSELECT=YES,DEFAULT=NO,URI="{playback_id}/text/{track_id}.m3u8"'
    )
    infs = [line for line in lines if line.startswith("#EXT-X-STREAM-INF")]
    assert infs and all('SUBTITLES="subs"' in line for line in infs)


async def test_subtitles_playlist_and_vtt_decode(world: World, caller: Caller, site: Site) -> None:
    """What a player does: master -> subtitles playlist -> the one segment -> cues."""
    playback_id, track_id = await ready_track(world, caller, site)
    master_url = httpx.URL(f"{BASE}/stream/{playback_id}.m3u8")
    master = await world.stream.get(master_url)
    [media] = [line for line in master.text.splitlines() if "TYPE=SUBTITLES" in line]
    playlist_url = master_url.join(media.split('URI="')[1].rstrip('"'))
    playlist = await world.stream.get(playlist_url)
    assert playlist.status_code == 200
    assert playlist.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    parsed = parse_media_playlist(playlist.text)
    assert parsed.playlist_type == "VOD" and parsed.ended
    [segment] = parsed.segments
    async with world.sessions() as s:
        asset = await s.scalar(select(TextTrack.asset_id).where(TextTrack.id == track_id))
    assert asset is not None
    assert segment.duration == pytest.approx(2.0, abs=0.1)  # the asset's duration
    vtt = await world.stream.get(playlist_url.join(segment.uri))
    assert vtt.status_code == 200
    assert str(vtt.url).endswith(f"/stream/{playback_id}/text/{track_id}.vtt")
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.headers["access-control-allow-origin"] == "*"
    cues = parse_captions(vtt.content).cues
    assert [(c.start_ms, c.end_ms, c.text) for c in cues] == [
        (200, 1000, "<i>Hello</i> &amp; welcome"),
        (1000, 1900, "Second cue"),
    ]
    ranged = await world.stream.get(playlist_url.join(segment.uri), headers={"Range": "bytes=0-5"})
    assert (ranged.status_code, ranged.content) == (206, b"WEBVTT")


async def test_ffmpeg_reads_the_served_vtt(
    world: World, caller: Caller, site: Site, tmp_path: Path
) -> None:
    playback_id, track_id = await ready_track(world, caller, site)
    vtt = await world.stream.get(f"/stream/{playback_id}/text/{track_id}.vtt")
    path = tmp_path / "served.vtt"
    path.write_bytes(vtt.content)
    out = tmp_path / "decoded.srt"
    done = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-y", "-i", str(path), "-f", "srt", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "webvtt" in done.stderr
    cues = parse_captions(out.read_bytes()).cues  # FFmpeg's SRT of our WebVTT
    assert [(c.start_ms, c.end_ms) for c in cues] == [(200, 1000), (1000, 1900)]


async def test_dash_manifest_has_the_text_adaptation_set(
    world: World, caller: Caller, site: Site
) -> None:
    playback_id, track_id = await ready_track(world, caller, site)
    mpd = await world.stream.get(f"/stream/{playback_id}.mpd")
    assert mpd.status_code == 200
    assert 'contentType="text" mimeType="text/vtt" lang="en"' in mpd.text
    assert f"<BaseURL>../text/{track_id}.vtt</BaseURL>" in mpd.text
    # the BaseURLs resolve to the served file
    base = httpx.URL(f"{BASE}/stream/{playback_id}.mpd").join(f"{playback_id}/v1/")
    vtt = await world.stream.get(base.join(f"../text/{track_id}.vtt"))
    assert vtt.status_code == 200


async def test_webvtt_source_is_served_converted(world: World, caller: Caller, site: Site) -> None:
    asset_id, playback_id = await world.asset(caller)
    made = await add_track(
        world, caller, asset_id, site.put("fr.vtt", VTT_FILE), language_code="fr"
    )
    track_id = made.json()["data"]["id"]
    await fetch_text_track(world.media, track_id)
    vtt = await world.stream.get(f"/stream/{playback_id}/text/{track_id}.vtt")
    assert vtt.text == "WEBVTT\n\n00:00:00.100 --> 00:00:01.500 line:0\nBonjour\n"


async def test_preparing_track_or_asset_is_412(world: World, caller: Caller, site: Site) -> None:
    asset_id, playback_id = await world.asset(caller)
    made = await add_track(world, caller, asset_id, site.put("p.srt", SRT_FILE))
    track_id = made.json()["data"]["id"]
    for ext in ("vtt", "m3u8"):
        response = await world.stream.get(f"/stream/{playback_id}/text/{track_id}.{ext}")
        assert response.status_code == 412
    unpublished, pid2 = await world.asset(caller, publish=False)
    made = await add_track(world, caller, unpublished, site.put("p.srt", SRT_FILE))
    await fetch_text_track(world.media, made.json()["data"]["id"])
    response = await world.stream.get(f"/stream/{pid2}/text/{made.json()['data']['id']}.vtt")
    assert response.status_code == 412


@pytest.mark.parametrize("name", ["nope.vtt", "x.txt", "..%2Fsource.vtt", "a.b.vtt"])
async def test_unknown_text_files_are_404(
    world: World, caller: Caller, site: Site, name: str
) -> None:
    playback_id, _ = await ready_track(world, caller, site)
    assert (await world.stream.get(f"/stream/{playback_id}/text/{name}")).status_code == 404


async def test_other_assets_track_is_not_served(world: World, caller: Caller, site: Site) -> None:
    _, track_id = await ready_track(world, caller, site)
    _, other_playback = await world.asset(caller)
    response = await world.stream.get(f"/stream/{other_playback}/text/{track_id}.vtt")
    assert response.status_code == 404


async def test_outbox_rows_carry_the_asset(world: World, caller: Caller, site: Site) -> None:
    _, track_id = await ready_track(world, caller, site)
    async with world.sessions() as s:
        rows = (
            await s.scalars(select(OutboxEvent).where(OutboxEvent.type.like("video.asset.track.%")))
        ).all()
    mine = [r for r in rows if r.data.get("id") == track_id]
    assert {r.object_type for r in mine} == {"asset"}
    assert {r.object_id for r in mine} == {mine[0].data["asset_id"]}


async def test_signed_playback_id_plays_its_subtitles(
    world: World, caller: Caller, site: Site
) -> None:
    _, track_id = await ready_track(world, caller, site)
    async with world.sessions.begin() as s:
        asset_id = await s.scalar(select(TextTrack.asset_id).where(TextTrack.id == track_id))
        assert asset_id is not None
        signed_id = ids.new_id()
        s.add(
            PlaybackId(
                id=signed_id,
                environment_id=caller.environment_id,
                asset_id=asset_id,
                policy="signed",
                created_at=datetime.now(UTC),
            )
        )
    key = await new_key(world.sessions, caller.environment_id)
    token = key.token(signed_id)
    clock = world.media.clock
    gate = SignedPlayback.from_sessions(world.sessions, SECRET, clock)
    deps = DeliveryDeps(world.sessions, world.store, clock, gate=gate, cache_ttl=0)
    app = Starlette(routes=[*text_routes(deps), *stream_routes(deps)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        vtt_path = f"/stream/{signed_id}/text/{track_id}.vtt"
        assert (await c.get(vtt_path)).status_code == 403
        assert (await c.get(vtt_path, params={"token": token})).status_code == 200
        # through the master playlist: the grant rides in the paths
        master_url = httpx.URL(f"{BASE}/stream/{signed_id}.m3u8", params={"token": token})
        master = await c.get(master_url)
        [media] = [line for line in master.text.splitlines() if "TYPE=SUBTITLES" in line]
        uri = media.split('URI="')[1].rstrip('"')
        assert uri.startswith(f"{signed_id}/t/") and uri.endswith(f"/text/{track_id}.m3u8")
        playlist_url = httpx.URL(f"{BASE}/stream/").join(uri)
        playlist = await c.get(playlist_url)
        assert playlist.status_code == 200
        [segment] = parse_media_playlist(playlist.text).segments
        vtt = await c.get(playlist_url.join(segment.uri))
        assert vtt.status_code == 200 and vtt.content.startswith(b"WEBVTT")
        # the subtitles playlist fetched with ?token= hands out a granted segment URI
        direct_url = httpx.URL(f"{BASE}/stream/{signed_id}/text/{track_id}.m3u8")
        direct = await c.get(direct_url, params={"token": token})
        [segment] = parse_media_playlist(direct.text).segments
        assert segment.uri.startswith("../t/")
        assert (await c.get(direct_url.join(segment.uri))).status_code == 200
        assert direct.headers["cache-control"].startswith("private")
