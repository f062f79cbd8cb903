"""Caption files sent from the asset page, in-process: the file is checked at once, stored
under the asset's prefix with its track in one transaction, and the real text-track job reads
it from the store, converts it, marks the track ready and deletes the upload; refusals say what
is wrong (too large, not SRT or WebVTT, empty, bad language code or name, permissions, CSRF)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from reelhouse.db.models import Asset, TextTrack
from reelhouse.media import text_tracks
from reelhouse.pipeline.captions import MAX_BYTES
from reelhouse.worker.media_tasks import MediaDeps
from reelhouse.worker.text_track_tasks import fetch_text_track

from .asset_board import START, Board, Sessions, board_client, publish, uploaded_asset

SRT = (
    "1\r\n00:00:00,500 --> 00:00:02,000\r\n<i>Hello</i> & welcome\r\n\r\n"
    "2\r\n00:00:02,000 --> 00:00:03,000\r\nBye\r\n"
)


async def send(
    board: Board, asset_id: str, body: bytes, *, csrf: str | None = None, **query: str
) -> httpx.Response:
    params = {"language_code": "en", "name": "English", "filename": "talk.srt", **query}
    return await board.http.post(
        f"/dashboard/api/assets/{asset_id}/text-tracks",
        params=params,
        content=body,
        headers={"X-CSRF-Token": board.csrf if csrf is None else csrf},
    )


def media_deps(board: Board, folder: Path) -> MediaDeps:
    return MediaDeps(
        sessions=board.sessions,
        store=board.store,
        clock=lambda: datetime.now(UTC),
        ffmpeg="ffmpeg",
        uploads_dir=folder / "uploads",
        inputs_dir=folder / "inputs",
        scratch_dir=folder / "scratch",
    )


async def tracks_of(sessions: Sessions, asset_id: str) -> list[TextTrack]:
    async with sessions() as session:
        rows = await session.scalars(select(TextTrack).where(TextTrack.asset_id == asset_id))
        return list(rows.all())


async def test_a_caption_file_becomes_a_ready_track(
    board: Board, sessions: Sessions, ready: Asset, tmp_path: Path
) -> None:
    response = await send(board, ready.id, SRT.encode(), closed_captions="1")
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["status"] == "preparing" and created["name"] == "English"
    [track] = await tracks_of(sessions, ready.id)
    assert track.url == "upload:talk.srt" and track.closed_captions
    source = text_tracks.uploaded_source_key(ready.environment_id, ready.id, track.id)
    assert await board.store.get_bytes(source) == SRT.encode()
    async with sessions() as session:
        jobs = (
            await session.execute(
                text("SELECT task_name FROM procrastinate_jobs WHERE args->>'track_id' = :id"),
                {"id": track.id},
            )
        ).all()
    assert [j[0] for j in jobs] == [text_tracks.FETCH_TASK]
    page = (await board.http.get(f"/assets/{ready.id}?done=caption-added")).text
    assert "Caption file received" in page
    assert f'data-track-id="{track.id}" data-status="preparing"' in page
    assert 'data-pending="true"' in page

    await fetch_text_track(media_deps(board, tmp_path), track.id)
    [track] = await tracks_of(sessions, ready.id)
    assert track.status == "ready"
    assert track.object_key is not None
    vtt = (await board.store.get_bytes(track.object_key)).decode()
    assert vtt.startswith("WEBVTT") and "00:00:00.500 --> 00:00:02.000" in vtt
    assert "<i>Hello</i> &amp; welcome" in vtt
    assert not await board.store.exists(source)
    page = (await board.http.get(f"/assets/{ready.id}")).text
    assert f'data-track-id="{track.id}" data-status="ready"' in page
    assert "English (en) · closed captions" in page


async def test_a_track_deleted_before_the_job_leaves_no_upload(
    board: Board, sessions: Sessions, ready: Asset
) -> None:
    response = await send(board, ready.id, SRT.encode())
    track_id = response.json()["id"]
    async with sessions.begin() as session:
        await text_tracks.delete_text_track(
            session, ready.environment_id, ready.id, track_id, now=START
        )
    async with sessions() as session:
        keys = (
            await session.execute(
                text(
                    "SELECT args->>'key' FROM procrastinate_jobs WHERE task_name = :task "
                    "AND args->>'key' LIKE :like"
                ),
                {"task": text_tracks.DELETE_OBJECT_TASK, "like": f"%{track_id}%"},
            )
        ).all()
    source = text_tracks.uploaded_source_key(ready.environment_id, ready.id, track_id)
    assert [k[0] for k in keys] == [source]
    assert text_tracks.is_vtt_key(source)


@pytest.mark.parametrize(
    ("body", "query", "status", "error"),
    [
        (b"x" * (MAX_BYTES + 1), {}, 413, "The caption file is larger than 5.0 MiB."),
        (b"\x00\x01\x02binary", {}, 400, "The caption file is binary data, not SRT or WebVTT"),
        (b"just some words\n", {}, 400, "The caption file is not valid SRT or WebVTT: line 1"),
        (b"", {}, 400, "The caption file has no cues."),
        (SRT.encode(), {"language_code": "english!"}, 400, "Give a language code such as en"),
        (SRT.encode(), {"name": 'say "hi"'}, 400, "The track name must be printable text"),
        (SRT.encode(), {"filename": ""}, 400, "Choose a caption file (.srt or .vtt)."),
    ],
)
async def test_refusals_say_what_is_wrong(
    board: Board,
    sessions: Sessions,
    ready: Asset,
    body: bytes,
    query: dict[str, str],
    status: int,
    error: str,
) -> None:
    response = await send(board, ready.id, body, **query)
    assert response.status_code == status, response.text
    assert response.json()["error"].startswith(error)
    assert await tracks_of(sessions, ready.id) == []


async def test_a_body_longer_than_declared_is_still_capped(board: Board, ready: Asset) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(6):
            yield b"y" * (1024 * 1024)

    response = await board.http.post(
        f"/dashboard/api/assets/{ready.id}/text-tracks",
        params={"language_code": "en", "filename": "a.vtt"},
        content=chunks(),
        headers={"X-CSRF-Token": board.csrf},
    )
    assert response.status_code == 413


async def test_errored_assets_and_missing_ones_are_refused(
    board: Board, sessions: Sessions, environment_id: str
) -> None:
    broken = await uploaded_asset(sessions, environment_id, "bad.mp4", at=START)
    await publish(sessions, broken.id, status="errored")
    response = await send(board, broken.id, SRT.encode())
    assert response.status_code == 400
    assert response.json()["error"] == "The asset errored: text tracks cannot be added to it."
    assert (await send(board, "nosuchasset00000000000", SRT.encode())).status_code == 404
    page = (await board.http.get(f"/assets/{broken.id}")).text
    assert 'id="caption-form"' not in page


async def test_csrf_and_permission(
    sessions: Sessions, environment_id: str, tmp_path: Path, ready: Asset
) -> None:
    async with board_client(sessions, environment_id, tmp_path) as board:
        await board.sign_in()
        assert (await send(board, ready.id, SRT.encode(), csrf="forged")).status_code == 403
    async with board_client(sessions, environment_id, tmp_path) as viewer:
        await viewer.sign_in(["video:read"])
        refused = await send(viewer, ready.id, SRT.encode())
        assert refused.status_code == 403
        assert "video:write" in refused.json()["error"]
    assert await tracks_of(sessions, ready.id) == []


async def test_remove_a_text_track(board: Board, sessions: Sessions, ready: Asset) -> None:
    track_id = (await send(board, ready.id, SRT.encode())).json()["id"]
    page = (await board.http.get(f"/assets/{ready.id}")).text
    assert f'action="/assets/{ready.id}/text-tracks/{track_id}/delete"' in page
    removed = await board.post_form(f"/assets/{ready.id}/text-tracks/{track_id}/delete")
    assert removed.status_code == 303
    assert removed.headers["location"] == f"/assets/{ready.id}?done=track-removed#tracks"
    assert await tracks_of(sessions, ready.id) == []
    gone = await board.post_form(f"/assets/{ready.id}/text-tracks/{track_id}/delete")
    assert gone.status_code == 404
    async with sessions.begin() as session:
        asset = await session.get_one(Asset, ready.id)
        asset.tracks = [{"id": "videotrack0000000000001", "type": "video"}]
    video = await board.post_form(f"/assets/{ready.id}/text-tracks/videotrack0000000000001/delete")
    assert video.status_code == 400
    assert "Only text tracks can be deleted." in video.text
