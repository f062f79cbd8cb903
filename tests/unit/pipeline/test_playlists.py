from __future__ import annotations

from fractions import Fraction

import pytest

from reelhouse.pipeline.dash import Representation, render_mpd
from reelhouse.pipeline.fmp4 import avc_codec_string, codec_string
from reelhouse.pipeline.playlists import (
    AudioRendition,
    Bandwidth,
    MediaSegment,
    RenditionOrder,
    VideoVariant,
    measure_bandwidth,
    parse_media_playlist,
    render_media_playlist,
    render_multivariant,
)

FFMPEG_MEDIA = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init_0.mp4"
#EXTINF:6.000000,
seg_00001.m4s
#EXTINF:4.500000,
seg_00002.m4s
#EXT-X-ENDLIST
"""


def variant(name: str, w: int, h: int, avg: int) -> VideoVariant:
    return VideoVariant(
        f"{name}/index.m3u8", "avc1.64001f", w, h, Fraction(30), Bandwidth(2 * avg, avg)
    )


VARIANTS = [
    variant("1080p", 1920, 1080, 5_000_000),
    variant("720p", 1280, 720, 2_500_000),
    variant("540p", 960, 540, 1_800_000),
    variant("360p", 640, 360, 700_000),
]
AUDIO = AudioRendition("audio/index.m3u8", "mp4a.40.2", 2, Bandwidth(140_000, 130_000))

GOLDEN = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Default",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=3740000,AVERAGE-BANDWIDTH=1930000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=960x540,FRAME-RATE=30.000,AUDIO="aud"
540p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=10140000,AVERAGE-BANDWIDTH=5130000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1920x1080,FRAME-RATE=30.000,AUDIO="aud"
1080p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=5140000,AVERAGE-BANDWIDTH=2630000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO="aud"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1540000,AVERAGE-BANDWIDTH=830000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO="aud"
360p/index.m3u8
"""


def test_parse_media_playlist() -> None:
    media = parse_media_playlist(FFMPEG_MEDIA)
    assert media.init_uri == "init_0.mp4"
    assert media.playlist_type == "VOD" and media.ended
    assert media.segments == (
        MediaSegment("seg_00001.m4s", 6.0),
        MediaSegment("seg_00002.m4s", 4.5),
    )
    assert media.duration == 10.5


def test_render_media_playlist_as_ffmpeg_writes_one() -> None:
    segments = parse_media_playlist(FFMPEG_MEDIA).segments
    text = render_media_playlist("init_0.mp4", segments, independent_segments=True)
    assert text == FFMPEG_MEDIA
    audio = render_media_playlist(
        "init_2.mp4",
        [MediaSegment("seg_00001.m4s", 2.005), MediaSegment("seg_00002.m4s", 6.49)],
        independent_segments=False,
    )
    # the longest segment rounded to the nearest second; no INDEPENDENT-SEGMENTS for audio
    assert "#EXT-X-TARGETDURATION:6\n" in audio and "INDEPENDENT" not in audio
    assert "#EXTINF:2.005000,\nseg_00001.m4s\n" in audio
    with pytest.raises(ValueError, match="at least one segment"):
        render_media_playlist("init.mp4", [], independent_segments=True)


def test_measure_bandwidth() -> None:
    assert measure_bandwidth([(6.0, 750_000), (4.0, 1_000_000), (0.0, 5)]) == Bandwidth(
        2_000_000, 1_400_000
    )
    assert measure_bandwidth([]) == Bandwidth(0, 0)


def test_multivariant_golden() -> None:
    assert render_multivariant(VARIANTS, AUDIO) == GOLDEN


def uris(text: str) -> list[str]:
    return [
        line for line in text.splitlines() if line.endswith(".m3u8") and not line.startswith("#")
    ]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"order": RenditionOrder.DESCENDING}, ["1080p", "720p", "540p", "360p"]),
        ({"order": RenditionOrder.ASCENDING}, ["360p", "540p", "720p", "1080p"]),
        ({"max_resolution": 720}, ["540p", "720p", "360p"]),
        ({"min_resolution": 720, "order": RenditionOrder.DESCENDING}, ["1080p", "720p"]),
        ({"min_resolution": 2160}, ["1080p"]),
        ({"max_resolution": 144}, ["360p"]),
    ],
)
def test_order_and_filters(kwargs: dict[str, object], expected: list[str]) -> None:
    text = render_multivariant(VARIANTS, None, **kwargs)  # type: ignore[arg-type]
    assert [u.split("/")[0] for u in uris(text)] == expected
    assert "AUDIO=" not in text and "EXT-X-MEDIA" not in text


def test_audio_only_master() -> None:
    assert render_multivariant([], AUDIO, uri_prefix="x/") == (
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=140000,AVERAGE-BANDWIDTH=130000,CODECS="mp4a.40.2"\n'
        "x/audio/index.m3u8\n"
    )


def test_codec_strings() -> None:
    init = b"\x00\x00\x00\x30avcC\x01\x64\x00\x1f\xff"
    assert avc_codec_string(init) == "avc1.64001f"
    assert codec_string(b"....mp4a....esds") == "mp4a.40.2"


MPD_GOLDEN = """<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" profiles="urn:mpeg:dash:profile:isoff-live:2011" mediaPresentationDuration="PT16.500S" minBufferTime="PT4S">
  <Period id="0" start="PT0S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="720p" codecs="avc1.64001f" bandwidth="3000000" width="1280" height="720" sar="1:1" frameRate="30000/1001">
        <SegmentList timescale="1000">
          <Initialization sourceURL="720p/init_0.mp4"/>
          <SegmentTimeline><S t="0" d="6000" r="1"/><S d="4500"/></SegmentTimeline>
          <SegmentURL media="720p/seg_00001.m4s"/>
          <SegmentURL media="720p/seg_00002.m4s"/>
          <SegmentURL media="720p/seg_00003.m4s"/>
        </SegmentList>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" segmentAlignment="true" startWithSAP="1" lang="und">
      <Representation id="audio" codecs="mp4a.40.2" bandwidth="130000" audioSamplingRate="48000">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>
        <SegmentList timescale="1000">
          <Initialization sourceURL="audio/init_1.mp4"/>
          <SegmentTimeline><S t="0" d="16500"/></SegmentTimeline>
          <SegmentURL media="audio/seg_00001.m4s"/>
        </SegmentList>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
"""  # noqa: E501


def test_mpd_golden() -> None:
    segs = tuple(
        MediaSegment(f"720p/seg_0000{i}.m4s", d) for i, d in [(1, 6.0), (2, 6.0), (3, 4.5)]
    )
    video = Representation(
        "720p", "avc1.64001f", 3_000_000, "720p/init_0.mp4", segs, 1280, 720, Fraction(30000, 1001)
    )
    audio = Representation(
        "audio",
        "mp4a.40.2",
        130_000,
        "audio/init_1.mp4",
        (MediaSegment("audio/seg_00001.m4s", 16.5),),
        sample_rate=48000,
        channels=2,
    )
    assert render_mpd([video], audio, 16.5) == MPD_GOLDEN
