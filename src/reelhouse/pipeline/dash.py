"""DASH MPD over the same fMP4 segments as the HLS renditions. Pure.

One static Period; one AdaptationSet for video (a Representation per rung) and one for audio.
Each Representation lists its init segment and media segments in a ``SegmentList`` with a
``SegmentTimeline`` (timescale 1000) built from the HLS segment durations. Text tracks, added
after publishing, are AdaptationSets of their own spliced in when the MPD is served
(:func:`text_adaptation_sets`): one WebVTT file each, named by the Representation's BaseURL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from xml.sax.saxutils import escape, quoteattr

from reelhouse.pipeline.playlists import MediaSegment

TIMESCALE = 1000


@dataclass(frozen=True)
class Representation:
    id: str
    codecs: str
    bandwidth: int  # bit/s, peak
    init_uri: str
    segments: tuple[MediaSegment, ...]
    width: int | None = None
    height: int | None = None
    frame_rate: Fraction | None = None
    sample_rate: int | None = None
    channels: int | None = None


def _timeline(segments: Sequence[MediaSegment]) -> str:
    """``<S>`` elements, consecutive equal durations folded into ``r``."""
    runs: list[list[int]] = []  # [duration, repeat]
    for segment in segments:
        d = round(segment.duration * TIMESCALE)
        if runs and runs[-1][0] == d:
            runs[-1][1] += 1
        else:
            runs.append([d, 0])
    items = []
    for i, (d, r) in enumerate(runs):
        start = ' t="0"' if i == 0 else ""
        repeat = f' r="{r}"' if r else ""
        items.append(f'<S{start} d="{d}"{repeat}/>')
    return "".join(items)


def _representation(rep: Representation) -> list[str]:
    attrs = [f"id={quoteattr(rep.id)}", f'codecs="{rep.codecs}"', f'bandwidth="{rep.bandwidth}"']
    if rep.width and rep.height:
        attrs += [f'width="{rep.width}"', f'height="{rep.height}"', 'sar="1:1"']
    if rep.frame_rate:
        attrs.append(f'frameRate="{rep.frame_rate.numerator}/{rep.frame_rate.denominator}"')
    if rep.sample_rate:
        attrs.append(f'audioSamplingRate="{rep.sample_rate}"')
    lines = [f"      <Representation {' '.join(attrs)}>"]
    if rep.channels:
        lines.append(
            '        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:'
            f'audio_channel_configuration:2011" value="{rep.channels}"/>'
        )
    lines += [
        f'        <SegmentList timescale="{TIMESCALE}">',
        f"          <Initialization sourceURL={quoteattr(rep.init_uri)}/>",
        f"          <SegmentTimeline>{_timeline(rep.segments)}</SegmentTimeline>",
        *(f"          <SegmentURL media={quoteattr(s.uri)}/>" for s in rep.segments),
        "        </SegmentList>",
        "      </Representation>",
    ]
    return lines


def _duration(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


def render_mpd(
    video: Sequence[Representation], audio: Representation | None, duration: float
) -> str:
    """A static (VOD) MPD; ``video`` is listed highest bandwidth first."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'profiles="urn:mpeg:dash:profile:isoff-live:2011" '
        f'mediaPresentationDuration="{_duration(duration)}" minBufferTime="PT4S">',
        '  <Period id="0" start="PT0S">',
    ]
    if video:
        lines.append(
            '    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" '
            'segmentAlignment="true" startWithSAP="1">'
        )
        for rep in sorted(video, key=lambda r: -r.bandwidth):
            lines += _representation(rep)
        lines.append("    </AdaptationSet>")
    if audio is not None:
        lines.append(
            '    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" '
            'segmentAlignment="true" startWithSAP="1" lang="und">'
        )
        lines += _representation(audio)
        lines.append("    </AdaptationSet>")
    lines += ["  </Period>", "</MPD>"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class TextRepresentation:
    """A WebVTT subtitles file (``base_url`` relative to the MPD's BaseURL)."""

    id: str
    language: str
    label: str
    base_url: str
    closed_captions: bool = False


def text_adaptation_sets(tracks: Sequence[TextRepresentation], first_id: int = 2) -> str:
    """One ``<AdaptationSet contentType="text" mimeType="text/vtt">`` per track, ids from
    ``first_id`` (0 and 1 are video and audio), each followed by a newline."""
    lines: list[str] = []
    for number, track in enumerate(tracks, start=first_id):
        role = "caption" if track.closed_captions else "subtitle"
        lines += [
            f'    <AdaptationSet id="{number}" contentType="text" mimeType="text/vtt" '
            f"lang={quoteattr(track.language)}>",
            f"      <Label>{escape(track.label)}</Label>",
            f'      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="{role}"/>',
            f'      <Representation id={quoteattr(track.id)} bandwidth="256">',
            f"        <BaseURL>{escape(track.base_url)}</BaseURL>",
            "      </Representation>",
            "    </AdaptationSet>",
        ]
    return "".join(line + "\n" for line in lines)
