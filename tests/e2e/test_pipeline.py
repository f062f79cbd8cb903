"""Upload to playback with real processes: tuspy uploads a generated clip, the worker encodes
it, the app hears signed webhooks, and every rendition decodes."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from reelhouse.webhooks.signatures import verify

from .assets import SECRET, upload_and_wait, wait_for_asset
from .hls import decode, download_rendition, source_packet_hashes, variants
from .receiver import Receiver
from .server import ServerProcess


def test_upload_becomes_a_playable_ladder_with_signed_webhooks(
    media_server: ServerProcess, receiver: Receiver, clip, tmp_path: Path
) -> None:
    asset = upload_and_wait(media_server, clip("lesson"))
    assert asset["status"] == "ready", asset
    assert abs(asset["duration"] - 10.0) < 0.2
    assert asset["resolution_tier"] == "720p"
    assert asset["aspect_ratio"] == "16:9"
    assert asset["max_stored_frame_rate"] == 30
    playback_id = asset["playback_ids"][0]["id"]

    base = media_server.base_url + "/stream/"
    with httpx.Client(timeout=30) as player:
        master = player.get(f"{base}{playback_id}.m3u8")
        assert master.status_code == 200
        video, audio = variants(master.text)
        assert video and audio
        for variant in video:
            assert "CODECS" in variant.attributes and "AVERAGE-BANDWIDTH" in variant.attributes
            path, text = download_rendition(
                player, base + variant.uri, tmp_path / f"{abs(hash(variant.uri))}.mp4"
            )
            assert "#EXT-X-PLAYLIST-TYPE:VOD" in text
            decoded = decode(path)
            assert decoded.height is not None and decoded.height <= 720
            assert abs(decoded.frames - 300) <= 2, (variant.uri, decoded.frames)
        audio_path, _ = download_rendition(player, base + audio[0].uri, tmp_path / "audio.mp4")
        assert decode(audio_path, "audio").frames > 400
        mpd = player.get(f"{base}{playback_id}.mpd")
        assert mpd.status_code == 200 and "<MPD" in mpd.text

    for event_type in ("video.upload.asset_created", "video.asset.created"):
        receiver.wait_for(asset["upload_id"] if "upload" in event_type else asset["id"], event_type)
    ready = receiver.wait_for(asset["id"], "video.asset.ready")
    verify(SECRET, ready.body, ready.headers["mux-signature"], now=int(time.time()))
    assert ready.event["data"]["status"] == "ready"


def test_hd_source_passes_the_top_rung_through(
    media_server: ServerProcess, clip, tmp_path: Path
) -> None:
    source = clip("hd")
    asset = upload_and_wait(media_server, source)
    assert asset["status"] == "ready", asset
    assert asset["resolution_tier"] == "1080p"
    playback_id = asset["playback_ids"][0]["id"]
    base = media_server.base_url + "/stream/"
    with httpx.Client(timeout=30) as player:
        video, _ = variants(player.get(f"{base}{playback_id}.m3u8").text)
        top = next(v for v in video if v.attributes["RESOLUTION"] == "1920x1080")
        path, _ = download_rendition(player, base + top.uri, tmp_path / "top.mp4")
    assert decode(path).packet_hashes == source_packet_hashes(source)


def test_metrics_report_processing_and_queue(media_server: ServerProcess) -> None:
    text = httpx.get(media_server.base_url + "/metrics", timeout=30).text
    ready = [ln for ln in text.splitlines() if ln.startswith('reelhouse_assets{status="ready"}')]
    assert ready and float(ready[0].split()[-1]) >= 1
    count = [
        ln
        for ln in text.splitlines()
        if ln.startswith("reelhouse_processing_seconds_per_video_minute_count")
    ]
    assert count and float(count[0].split()[-1]) >= 1
    assert "reelhouse_job_oldest_waiting_seconds" in text
    assert 'reelhouse_webhook_deliveries{outcome="delivered"}' in text
    assert "reelhouse_upload_bytes_received_total" in text


@pytest.mark.parametrize(
    ("start", "tolerance"),
    [
        (1.0, 1 / 30 + 0.05),  # between the source's keyframes: re-encoded, to the frame
        (2.0, 2.0),  # on a keyframe (2 s GOPs): stream-copied, its end within a GOP
    ],
)
def test_clip_of_a_ready_asset_has_the_requested_duration(
    media_server: ServerProcess, clip, start: float, tolerance: float
) -> None:
    source = upload_and_wait(media_server, clip("small"))
    with media_server.client() as api:
        created = api.post(
            "/video/v1/assets",
            json={
                "input": [
                    {"url": f"mux://assets/{source['id']}", "start_time": start, "end_time": 3.5}
                ],
                "playback_policy": ["public"],
            },
        )
        assert created.status_code == 201, created.text
        clipped = wait_for_asset(api, created.json()["data"]["id"])
    assert clipped["status"] == "ready", clipped.get("errors")
    assert clipped["ingest_type"] == "on_demand_clip"
    assert abs(clipped["duration"] - (3.5 - start)) <= tolerance
