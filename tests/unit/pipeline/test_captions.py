"""Caption files: parsing SRT and WebVTT, the rules they must pass, the WebVTT written, and
the one-segment HLS subtitles playlist."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelhouse.pipeline.captions import (
    MAX_BYTES,
    MAX_CUE_CHARS,
    MAX_CUES,
    SRT,
    WEBVTT,
    CaptionRejected,
    format_timestamp,
    parse_captions,
    render_webvtt,
    srt_text_to_webvtt,
    subtitles_playlist,
)
from reelhouse.pipeline.playlists import parse_media_playlist

GOLDEN = Path(__file__).parent / "captions_golden"
BOM = b"\xef\xbb\xbf"


def srt(*cues: tuple[str, str]) -> bytes:
    blocks = [f"{n}\n{timing}\n{text}\n" for n, (timing, text) in enumerate(cues, start=1)]
    return "\n".join(blocks).encode()


@pytest.mark.parametrize("name", ["basic.srt", "full.vtt"])
def test_conversion_matches_golden(name: str) -> None:
    captions = parse_captions((GOLDEN / name).read_bytes())
    assert render_webvtt(captions) == (GOLDEN / f"{name}.vtt").read_text()


def test_output_parses_back_to_the_same_cues() -> None:
    for name in ("basic.srt", "full.vtt"):
        first = parse_captions((GOLDEN / name).read_bytes())
        again = parse_captions(render_webvtt(first).encode())
        assert again.cues == first.cues
        assert again.source_format == WEBVTT


@pytest.mark.parametrize(
    ("data", "source_format", "times"),
    [
        # commas, one-digit hours, CRLF
        (b"1\r\n0:00:01,000 --> 0:00:02,000\r\nhi\r\n", SRT, [(1000, 2000)]),
        # a dot instead of the comma, and no index line
        (b"00:00:01.250 --> 00:00:02.000\nhi\n", SRT, [(1250, 2000)]),
        # BOM tolerated (SRT and WebVTT)
        (BOM + b"1\n00:00:01,000 --> 00:00:02,000\nhi\n", SRT, [(1000, 2000)]),
        (BOM + b"WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n", WEBVTT, [(1000, 2000)]),
        # WebVTT without hours, header lines, a cue with an empty payload
        (b"WEBVTT\nKind: captions\n\n00:01.000 --> 01:02.000\n", WEBVTT, [(1000, 62000)]),
        # equal start times and zero-length cues are allowed
        (
            srt(("00:00:01,000 --> 00:00:01,000", "a"), ("00:00:01,000 --> 00:00:03,000", "b")),
            SRT,
            [(1000, 1000), (1000, 3000)],
        ),
        # a trailing index with nothing after it? no: trailing blank lines only
        (b"1\n00:00:01,000 --> 00:00:02,000\nhi\n\n\n\n", SRT, [(1000, 2000)]),
    ],
)
def test_valid_files(data: bytes, source_format: str, times: list[tuple[int, int]]) -> None:
    captions = parse_captions(data)
    assert captions.source_format == source_format
    assert [(c.start_ms, c.end_ms) for c in captions.cues] == times


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The caption file has no cues."),
        (b"\n\n  \n", "The caption file has no cues."),
        (b"WEBVTT\n\nNOTE only a note\n", "The caption file has no cues."),
        (
            b"1\n00:00:01,000 --> 00:00:02,000\nhi\n\n2\nno timing here\n",
            "The caption file is not valid SRT or WebVTT: line 6 has no timestamp",
        ),
        (
            b"Hello there\nthis is prose\n",
            "The caption file is not valid SRT or WebVTT: line 1 has no timestamp",
        ),
        (
            b"1\n00:00:01 --> 00:00:02\nhi\n",
            "The caption file is not valid SRT or WebVTT: line 2 has a malformed timestamp",
        ),
        (
            b"1\n00:00:03,000 --> 00:00:02,000\nhi\n",
            "The caption file is not valid SRT or WebVTT: line 2 has a cue that ends before "
            "it starts",
        ),
        (
            srt(("00:00:05,000 --> 00:00:06,000", "a"), ("00:00:01,000 --> 00:00:02,000", "b")),
            "The caption file is not valid SRT or WebVTT: line 6 has a cue that starts before "
            "the previous one",
        ),
        (
            b"1\n00:61:00,000 --> 00:62:00,000\nhi\n",
            "The caption file is not valid SRT or WebVTT: line 2 has a timestamp out of range",
        ),
        (
            b"1\n101:00:00,000 --> 102:00:00,000\nhi\n",
            "The caption file is not valid SRT or WebVTT: line 2 has a timestamp past 100 hours",
        ),
        (
            b"WEBVTT\n\n00:01.000 -> 00:02.000\nhi\n",
            "The caption file is not valid WebVTT: line 4 has no timestamp",
        ),
        (
            b"WEBVTT\n\n00:01,000 --> 00:02,000\nhi\n",
            "The caption file is not valid WebVTT: line 3 has a malformed timestamp",
        ),
        (
            b"WEBVTTX\n\n00:01.000 --> 00:02.000\nhi\n",
            "The caption file is not valid WebVTT: line 1 must be WEBVTT, alone or followed by "
            "a space",
        ),
        (
            b"WEBVTT\n\n00:05.000 --> 00:06.000\na\n\n00:01.000 --> 00:02.000\nb\n",
            "The caption file is not valid WebVTT: line 6 has a cue that starts before the "
            "previous one",
        ),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "The caption file is binary data, not SRT or WebVTT text.",
        ),
        (
            b"1\n00:00:01,000 --> 00:00:02,000\ncaf\xe9\n",
            "The caption file is not UTF-8 text (invalid byte at offset 35).",
        ),
        (b"\xff\xfe1\x00", "The caption file is binary data, not SRT or WebVTT text."),
    ],
)
def test_invalid_files(data: bytes, message: str) -> None:
    with pytest.raises(CaptionRejected) as caught:
        parse_captions(data)
    assert caught.value.message == message
    assert caught.value.code == "invalid_caption_file"


def test_overlong_file_is_refused_before_parsing() -> None:
    data = b"1\n00:00:01,000 --> 00:00:02,000\n" + b"a" * MAX_BYTES
    with pytest.raises(CaptionRejected, match="larger than 5 MiB"):
        parse_captions(data)


def test_file_of_exactly_the_limit_is_read() -> None:
    head = b"1\n00:00:01,000 --> 00:00:02,000\n"
    line = b"x" * 99 + b"\n"
    body = head + line * ((MAX_BYTES - len(head)) // len(line))
    body += b"y" * (MAX_BYTES - len(body))
    assert len(body) == MAX_BYTES
    with pytest.raises(CaptionRejected, match=f"more than {MAX_CUE_CHARS} characters"):
        parse_captions(body)  # read (not refused for size), then the cue is too long


def test_cue_count_cap() -> None:
    cues = [
        (f"{format_timestamp(n)} --> {format_timestamp(n + 1)}".replace(".", ","), "x")
        for n in range(MAX_CUES + 1)
    ]
    with pytest.raises(CaptionRejected, match=f"more than {MAX_CUES} cues"):
        parse_captions(srt(*cues))


@pytest.mark.parametrize(
    ("text", "vtt"),
    [
        ("<i>a</i> <B>b</B> <u>c</u>", "<i>a</i> <b>b</b> <u>c</u>"),
        ('<font color="#fff">a</font>', "a"),
        ("{\\an8}top", "top"),
        ("Tom & Jerry <3", "Tom &amp; Jerry &lt;3"),
        ("a --> b", "a -&gt; b"),
        ("<script>alert(1)</script>", "alert(1)"),
    ],
)
def test_srt_markup(text: str, vtt: str) -> None:
    assert srt_text_to_webvtt(text) == vtt


def test_vtt_cue_settings_are_filtered() -> None:
    data = b"WEBVTT\n\n00:01.000 --> 00:02.000 position:10% evil:<x> size:50%\nhi\n"
    [cue] = parse_captions(data).cues
    assert cue.settings == "position:10% size:50%"


def test_timestamp_format() -> None:
    assert format_timestamp(0) == "00:00:00.000"
    assert format_timestamp(3_723_004) == "01:02:03.004"
    assert format_timestamp(100 * 3_600_000) == "100:00:00.000"


def test_subtitles_playlist_is_one_segment_of_the_whole_duration() -> None:
    text = subtitles_playlist("trk1.vtt", 12.3456)
    assert text == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:13\n#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:12.346,\ntrk1.vtt\n#EXT-X-ENDLIST\n"
    )
    parsed = parse_media_playlist(text)
    assert parsed.ended and parsed.playlist_type == "VOD"
    assert [(s.uri, s.duration) for s in parsed.segments] == [("trk1.vtt", 12.346)]


def test_subtitles_playlist_of_unknown_duration_is_still_valid() -> None:
    assert "#EXT-X-TARGETDURATION:1\n" in subtitles_playlist("x.vtt", 0.0)
