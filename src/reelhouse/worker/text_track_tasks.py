"""The text-track jobs.

``reelhouse.fetch_text_track`` {track_id}: download the caption file through the outbound guard
(the media policy, capped at :data:`~reelhouse.pipeline.captions.MAX_BYTES`), or read it from the
store when it was uploaded to the dashboard, parse and check it (SRT or WebVTT), store the
converted WebVTT under the asset's prefix and mark the track ready; a file that cannot be fetched
or used marks it errored with a message saying why. An uploaded file is deleted once its track is
settled. Idempotent: a track no longer preparing is left alone, the object is rewritten with the
same bytes, and a track deleted while it was fetched gets its object removed again. Storage and
database trouble raises (and is retried).

``reelhouse.delete_text_track_object`` {key}: delete a deleted track's WebVTT (missing is fine).
"""

from __future__ import annotations

import dataclasses

import procrastinate

from reelhouse import outbound
from reelhouse.logs import get_logger
from reelhouse.media import text_tracks
from reelhouse.pipeline import captions
from reelhouse.storage.errors import ObjectNotFound
from reelhouse.worker.media_tasks import MediaDeps

log = get_logger("reelhouse.text_tracks")


def caption_policy(policy: outbound.Policy) -> outbound.Policy:
    """``policy`` with its byte limit brought down to the caption file limit."""
    return dataclasses.replace(policy, max_bytes=min(policy.max_bytes, captions.MAX_BYTES))


UPLOAD_GONE = "The uploaded caption file is gone: upload it again."


def _fetch_message(error: outbound.OutboundRefused | outbound.OutboundFailed) -> str:
    if isinstance(error, outbound.OutboundRefused):
        return f"The caption file URL was refused: {error.message}"
    if error.reason == "too_large":
        return f"The caption file is larger than {captions.MAX_BYTES // (1024 * 1024)} MiB."
    return f"The caption file could not be fetched: {error.message}"


async def fetch_text_track(deps: MediaDeps, track_id: str) -> None:
    """Fetch, check, convert and store one track's caption file (see the module docstring)."""
    async with deps.sessions() as session:
        work = await text_tracks.fetch_work(session, track_id)
    if work is None:
        return
    uploaded = text_tracks.is_uploaded(work.url)
    source = text_tracks.uploaded_source_key(work.environment_id, work.asset_id, track_id)
    try:
        data = await (deps.store.get_bytes(source) if uploaded else _download(deps, work))
        vtt = captions.render_webvtt(captions.parse_captions(data))
    except (outbound.OutboundRefused, outbound.OutboundFailed) as error:
        await _errored(deps, track_id, _fetch_message(error), error.reason)
        return
    except captions.CaptionRejected as error:
        await _errored(deps, track_id, error.message, error.code)
        await _forget_upload(deps, uploaded, source)
        return
    except ObjectNotFound:
        await _errored(deps, track_id, UPLOAD_GONE, "upload_gone")
        return
    key = text_tracks.vtt_key(work.environment_id, work.asset_id, track_id)
    await deps.store.put_bytes(key, vtt.encode(), content_type="text/vtt")
    async with deps.sessions.begin() as session:
        recorded = await text_tracks.record_ready(session, track_id, key, now=deps.clock())
    await _forget_upload(deps, uploaded, source)
    if not recorded:  # deleted (or settled) meanwhile: do not leave the file behind
        await deps.store.delete(key)
        return
    log.info("text_track.ready", track_id=track_id, asset_id=work.asset_id, bytes=len(vtt))


async def _download(deps: MediaDeps, work: text_tracks.FetchWork) -> bytes:
    folder = deps.scratch_dir / "text"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{work.track_id}.src"
    try:
        await outbound.download_to(work.url, target, caption_policy(deps.outbound_policy))
        return target.read_bytes()
    finally:
        target.unlink(missing_ok=True)


async def _forget_upload(deps: MediaDeps, uploaded: bool, source: str) -> None:
    # Only after the track settled: a retry before that still finds the file.
    if uploaded:
        await deps.store.delete(source)


async def _errored(deps: MediaDeps, track_id: str, message: str, reason: str) -> None:
    async with deps.sessions.begin() as session:
        await text_tracks.record_errored(session, track_id, message, now=deps.clock())
    log.info("text_track.errored", track_id=track_id, reason=reason)


async def delete_text_track_object(deps: MediaDeps, key: str) -> None:
    """Delete a deleted track's WebVTT; a key of any other shape is refused (logged)."""
    if not text_tracks.is_vtt_key(key):
        log.warning("text_track.delete_refused", key=key)
        return
    await deps.store.delete(key)


def register_text_track_tasks(app: procrastinate.App, deps: MediaDeps) -> None:
    """Register ``reelhouse.fetch_text_track`` and ``reelhouse.delete_text_track_object``."""
    retry = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=5)

    @app.task(name=text_tracks.FETCH_TASK, retry=retry, pass_context=False)
    async def fetch_asset_text_track(track_id: str) -> None:
        await fetch_text_track(deps, track_id)

    @app.task(name=text_tracks.DELETE_OBJECT_TASK, retry=retry, pass_context=False)
    async def delete_asset_text_track_object(key: str) -> None:
        await delete_text_track_object(deps, key)
