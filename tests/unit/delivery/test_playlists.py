"""Manifests as served: the multivariant playlist from rendition rows, the MPD's BaseURL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from fractions import Fraction

import pytest

from reelhouse.delivery.errors import AssetNotReady, CorruptManifest
from reelhouse.delivery.playbacks import Playback, PublishedRendition
from reelhouse.delivery.playlists import (
    PlaylistOptions,
    options_from_query,
    parse_resolution,
    render_master,
    with_base_url,
)
from reelhouse.pipeline import dash
from reelhouse.pipeline.playlists import MediaSegment, RenditionOrder

PID = "pb0123456789abcdefXYZ"
PREFIX = "env/e1/assets/a1/v2/"


def video(name: str, width: int, height: int, peak: int, average: int) -> PublishedRendition:
    return PublishedRendition(
        name=name,
        kind="video",
        width=width,
        height=height,
        frame_rate=30.0,
        bandwidth=peak,
        average_bandwidth=average,
        codecs="avc1.64001f",
        channels=None,
        playlist_key=f"{PREFIX}{name}/index.m3u8",
    )


AUDIO = PublishedRendition(
    name="audio",
    kind="audio",
    width=None,
    height=None,
    frame_rate=None,
    bandwidth=130_000,
    average_bandwidth=128_000,
    codecs="mp4a.40.2",
    channels=2,
    playlist_key=f"{PREFIX}audio/index.m3u8",
)
LADDER = (
    video("1080p", 1920, 1080, 6_000_000, 5_000_000),
    video("720p", 1280, 720, 3_000_000, 2_500_000),
    video("480p", 854, 480, 1_400_000, 1_200_000),
    video("360p", 640, 360, 800_000, 700_000),
    AUDIO,
)


def playback(*renditions: PublishedRendition) -> Playback:
    return Playback(PID, "public", "e1", "a1", "ready", 2, renditions)


def inf(peak: int, average: int, resolution: str) -> str:
    return (
        f"#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},"
        f'CODECS="avc1.64001f,mp4a.40.2",RESOLUTION={resolution},FRAME-RATE=30.000,AUDIO="aud"'
    )


HEADER = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
MEDIA = (
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Default",DEFAULT=YES,AUTOSELECT=YES,'
    f'CHANNELS="2",URI="{PID}/v2/audio/index.m3u8"'
)
LINES = {
    "1080p": [inf(6_130_000, 5_128_000, "1920x1080"), f"{PID}/v2/1080p/index.m3u8"],
    "720p": [inf(3_130_000, 2_628_000, "1280x720"), f"{PID}/v2/720p/index.m3u8"],
    "480p": [inf(1_530_000, 1_328_000, "854x480"), f"{PID}/v2/480p/index.m3u8"],
    "360p": [inf(930_000, 828_000, "640x360"), f"{PID}/v2/360p/index.m3u8"],
}


def golden(*names: str) -> str:
    return "\n".join([*HEADER, MEDIA, *(line for n in names for line in LINES[n])]) + "\n"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        # Apple 1.32: the ~2 Mbit/s variant first, then the others from the top down.
        (PlaylistOptions(), golden("720p", "1080p", "480p", "360p")),
        (
            PlaylistOptions(order=RenditionOrder.DESCENDING),
            golden("1080p", "720p", "480p", "360p"),
        ),
        (PlaylistOptions(max_resolution=720), golden("720p", "480p", "360p")),
        (PlaylistOptions(min_resolution=720), golden("720p", "1080p")),
        (
            PlaylistOptions(
                min_resolution=480, max_resolution=720, order=RenditionOrder.DESCENDING
            ),
            golden("720p", "480p"),
        ),
        # Nothing in bounds: the rung nearest the bound rather than an empty playlist.
        (PlaylistOptions(max_resolution=270), golden("360p")),
        (PlaylistOptions(min_resolution=2160), golden("1080p")),
    ],
)
def test_master_playlist_golden(options: PlaylistOptions, expected: str) -> None:
    assert render_master(playback(*LADDER), options) == expected


def test_rows_in_any_order_render_the_same() -> None:
    assert render_master(playback(*reversed(LADDER))) == render_master(playback(*LADDER))


def test_audio_only_asset_lists_the_audio_as_the_variant() -> None:
    assert render_master(playback(AUDIO)) == "\n".join(
        [
            *HEADER,
            '#EXT-X-STREAM-INF:BANDWIDTH=130000,AVERAGE-BANDWIDTH=128000,CODECS="mp4a.40.2"',
            f"{PID}/v2/audio/index.m3u8",
            "",
        ]
    )


def test_video_without_audio_has_no_audio_group() -> None:
    text = render_master(playback(LADDER[1]))
    assert "#EXT-X-MEDIA" not in text and 'AUDIO="aud"' not in text
    assert 'CODECS="avc1.64001f",RESOLUTION=1280x720' in text


def test_fractional_frame_rate_and_portrait_short_side() -> None:
    portrait = replace(video("720p", 720, 1280, 3_000_000, 2_500_000), frame_rate=29.97)
    text = render_master(playback(portrait), PlaylistOptions(max_resolution=720))
    assert "RESOLUTION=720x1280,FRAME-RATE=29.970" in text


def test_renditions_outside_the_published_version_are_left_out() -> None:
    stale = replace(LADDER[0], playlist_key="env/e1/assets/a1/v1/1080p/index.m3u8")
    other_asset = replace(LADDER[2], playlist_key="env/e1/assets/a9/v2/480p/index.m3u8")
    text = render_master(playback(stale, LADDER[1], other_asset, AUDIO))
    assert "1080p" not in text and "480p" not in text and "720p/index.m3u8" in text


@pytest.mark.parametrize(
    "renditions",
    [(), (replace(AUDIO, playlist_key="env/e1/assets/a1/v1/audio/index.m3u8"),)],
)
def test_nothing_playable_is_not_ready(renditions: tuple[PublishedRendition, ...]) -> None:
    with pytest.raises(AssetNotReady):
        render_master(playback(*renditions))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("720p", 720),
        ("1080p", 1080),
        ("2160p", 2160),
        ("270p", 270),
        (" 720P ", 720),
        ("720", None),
        ("p", None),
        ("0720p", None),
        ("12345p", None),
        ("hd", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_resolution(value: str | None, expected: int | None) -> None:
    assert parse_resolution(value) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, PlaylistOptions()),
        ({"rendition_order": "desc"}, PlaylistOptions(order=RenditionOrder.DESCENDING)),
        ({"rendition_order": "sideways"}, PlaylistOptions()),
        (
            {"max_resolution": "720p", "min_resolution": "480p", "token": "x"},
            PlaylistOptions(min_resolution=480, max_resolution=720),
        ),
        ({"max_resolution": "big"}, PlaylistOptions()),
    ],
)
def test_options_from_query(query: dict[str, str], expected: PlaylistOptions) -> None:
    assert options_from_query(query) == expected


def stored_mpd() -> str:
    segments = (MediaSegment("720p/seg_00001.m4s", 2.0), MediaSegment("720p/seg_00002.m4s", 1.5))
    rep = dash.Representation(
        "720p", "avc1.64001f", 3_000_000, "720p/init_0.mp4", segments, 1280, 720, Fraction(30)
    )
    return dash.render_mpd([rep], None, 3.5)


def test_mpd_gets_a_base_url_as_the_first_child_of_mpd() -> None:
    text = with_base_url(stored_mpd(), f"{PID}/v2/")
    root = ET.fromstring(text)
    ns = "{urn:mpeg:dash:schema:mpd:2011}"
    assert root[0].tag == f"{ns}BaseURL" and root[0].text == f"{PID}/v2/"
    assert root.find(f".//{ns}SegmentURL") is not None
    # Everything else is untouched.
    assert text.replace(f"\n  <BaseURL>{PID}/v2/</BaseURL>", "") == stored_mpd()


def test_mpd_base_url_is_escaped_and_attributes_with_gt_are_skipped() -> None:
    mpd = '<?xml version="1.0"?>\n<MPD a="x>y" b=\'1\'>\n  <Period/>\n</MPD>\n'
    text = with_base_url(mpd, "a&b/")
    assert text.splitlines() == [
        '<?xml version="1.0"?>',
        "<MPD a=\"x>y\" b='1'>",
        "  <BaseURL>a&amp;b/</BaseURL>",
        "  <Period/>",
        "</MPD>",
    ]
    assert ET.fromstring(text)[0].text == "a&b/"


def test_mpd_without_an_mpd_element_is_corrupt() -> None:
    with pytest.raises(CorruptManifest):
        with_base_url("<html/>", "x/")
