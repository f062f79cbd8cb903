"""The job that makes static renditions: ``reelhouse.make_static_renditions`` {asset_id, version}.

For every ``preparing`` file of the asset's published version it gathers the rung's fMP4 init
and media segments (and the audio rendition's) from the object store into scratch, remuxes them
with FFmpeg (no re-encode; a passed-through top rung is read from the source when it is still on
this machine), stores the file under ``v{version}/static/{name}`` and records it ready, one
transaction per file. Idempotent: a rerun makes only what is still ``preparing``; a file that
FFmpeg cannot make is recorded ``errored``; storage or database trouble raises (and is retried).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import procrastinate

from reelhouse.db.models import Asset
from reelhouse.logs import get_logger
from reelhouse.media import static_renditions
from reelhouse.media.static_renditions import Track, Work
from reelhouse.pipeline import mp4, runner
from reelhouse.pipeline.errors import EncodeFailed, PipelineError
from reelhouse.pipeline.playlists import parse_media_playlist
from reelhouse.pipeline.probe import probe
from reelhouse.states import AssetStatus
from reelhouse.storage import layout
from reelhouse.worker.media_tasks import MediaDeps, source_path

log = get_logger("reelhouse.static")


async def make_static_renditions(deps: MediaDeps, asset_id: str, version: int) -> None:
    """Make every preparing file of the asset's current version (``version`` is the one that
    was published when the job was queued; a newer one is made instead)."""
    async with deps.sessions() as session:
        asset = await session.get(Asset, asset_id)
        if asset is None or asset.status != AssetStatus.READY or asset.version < version:
            return
        work = await static_renditions.pending_work(session, asset)
    if not work:
        return
    scratch = deps.scratch_dir / asset_id / f"static-v{asset.version}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        gathered: dict[str, Path] = {}
        for item in work:
            await _make_one(deps, asset, item, scratch, gathered)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


async def _make_one(
    deps: MediaDeps, asset: Asset, item: Work, scratch: Path, gathered: dict[str, Path]
) -> None:
    output = scratch / item.name
    try:
        video = await _video_source(deps, asset, item.video, scratch, gathered)
        audio = await _track_source(deps, item.audio, "a:0", scratch, gathered)
        argv = mp4.remux_argv(deps.ffmpeg, output, video=video, audio=audio)
        done = await runner.run(argv, timeout=mp4.remux_timeout(asset.duration))
        if not done.ok:
            raise EncodeFailed(
                f"FFmpeg exited with {done.returncode}", stderr_tail=done.stderr_text()
            )
    except PipelineError as error:
        stderr = getattr(error, "stderr_tail", "")[-2000:]
        log.warning(
            "static.failed", asset_id=asset.id, name=item.name, error=error.code, stderr=stderr
        )
        async with deps.sessions.begin() as session:
            await static_renditions.record_failed(
                session, item, asset.id, status="errored", now=deps.clock()
            )
        return
    key = layout.static_rendition_key(asset.environment_id, asset.id, item.version, item.name)
    await deps.store.put_file(key, output)
    size = output.stat().st_size
    async with deps.sessions.begin() as session:
        await static_renditions.record_made(
            session, item, asset.id, filesize=size, duration=asset.duration, now=deps.clock()
        )
    log.info("static.ready", asset_id=asset.id, name=item.name, bytes=size)


async def _video_source(
    deps: MediaDeps, asset: Asset, track: Track | None, scratch: Path, gathered: dict[str, Path]
) -> mp4.Source | None:
    if track is None:
        return None
    source = source_path(deps, asset)
    if track.passthrough and source.exists():
        try:
            probed = await probe(source)
        except PipelineError:  # the segments hold the same video
            probed = None
        video = next((v for v in probed.video if v.decodable), None) if probed else None
        if probed is not None and video is not None:
            return mp4.Source(source, probed.demuxer, str(video.index))
    return await _track_source(deps, track, "v:0", scratch, gathered)


async def _track_source(
    deps: MediaDeps, track: Track | None, stream: str, scratch: Path, gathered: dict[str, Path]
) -> mp4.Source | None:
    """The rendition as one local fragmented MP4: its init segment, then its media segments."""
    if track is None:
        return None
    if track.name not in gathered:
        gathered[track.name] = await _gather(deps, track, scratch / f"{track.name}.src.mp4")
    return mp4.Source(gathered[track.name], mp4.FMP4_DEMUXER, stream)


async def _gather(deps: MediaDeps, track: Track, target: Path) -> Path:
    playlist = parse_media_playlist((await deps.store.get_bytes(track.playlist_key)).decode())
    if playlist.init_uri is None or not playlist.segments:
        raise EncodeFailed(f"The {track.name} playlist has no init segment or no segments")
    base = track.playlist_key.rsplit("/", 1)[0] + "/"
    with target.open("wb") as out:
        for uri in [playlist.init_uri, *(s.uri for s in playlist.segments)]:
            if "/" in uri or uri.startswith("."):  # ours, but never leave the rendition
                raise EncodeFailed(f"The {track.name} playlist names a file outside it")
            out.write(await deps.store.get_bytes(base + uri))
    return target


def register_static_tasks(app: procrastinate.App, deps: MediaDeps) -> None:
    """Register ``reelhouse.make_static_renditions`` on ``app``."""
    retry = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=5)

    @app.task(name=static_renditions.MAKE_TASK, retry=retry, pass_context=False)
    async def make_asset_static_renditions(asset_id: str, version: int) -> None:
        await make_static_renditions(deps, asset_id, version)
