"""HLS playlists: parsing and rendering media playlists, measuring bit rates, rendering the
multivariant playlist. Pure.

BANDWIDTH is the peak segment bit rate and AVERAGE-BANDWIDTH the average over the whole
rendition, measured from the segment files (Apple HLS authoring spec 1.26/1.27); a variant's
figures include its audio group's.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

AUDIO_GROUP = "aud"
SUBTITLES_GROUP = "subs"
# Apple's characteristics of subtitles for the deaf and hard of hearing (SDH).
CLOSED_CAPTION_CHARACTERISTICS = (
    "public.accessibility.transcribes-spoken-dialog,public.accessibility.describes-music-and-sound"
)


class RenditionOrder(enum.StrEnum):
    APPLE = "default"  # the ~2 Mbit/s variant first, then the others from highest down
    DESCENDING = "desc"
    ASCENDING = "asc"


@dataclass(frozen=True)
class MediaSegment:
    uri: str
    duration: float


@dataclass(frozen=True)
class MediaPlaylist:
    init_uri: str | None
    segments: tuple[MediaSegment, ...]
    playlist_type: str | None
    ended: bool

    @property
    def duration(self) -> float:
        return sum(s.duration for s in self.segments)


@dataclass(frozen=True)
class Bandwidth:
    peak: int  # bit/s
    average: int  # bit/s

    def __add__(self, other: Bandwidth) -> Bandwidth:
        return Bandwidth(self.peak + other.peak, self.average + other.average)


@dataclass(frozen=True)
class VideoVariant:
    uri: str
    codecs: str  # video codec only, e.g. "avc1.64001f"
    width: int
    height: int
    frame_rate: Fraction
    bandwidth: Bandwidth  # video only; the audio group's is added when rendering


@dataclass(frozen=True)
class AudioRendition:
    uri: str
    codecs: str
    channels: int
    bandwidth: Bandwidth
    name: str = "Default"
    language: str | None = None


@dataclass(frozen=True)
class SubtitleRendition:
    """A WebVTT subtitles playlist; ``uri`` is used as given (no ``uri_prefix``): it lives
    beside the output versions, not in one. ``name`` and ``language`` are quoted-string safe
    (the caller checked them)."""

    uri: str
    name: str
    language: str
    closed_captions: bool = False
    default: bool = False


def _attribute(line: str, name: str) -> str | None:
    for part in line.split(":", 1)[1].split(","):
        key, _, value = part.partition("=")
        if key == name:
            return value.strip('"')
    return None


def parse_media_playlist(text: str) -> MediaPlaylist:
    """Parse an HLS media playlist (the subset ffmpeg's hls muxer writes for VOD)."""
    init, ptype, ended = None, None, False
    segments: list[MediaSegment] = []
    pending: float | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXT-X-MAP:"):
            init = _attribute(line, "URI")
        elif line.startswith("#EXT-X-PLAYLIST-TYPE:"):
            ptype = line.split(":", 1)[1]
        elif line.startswith("#EXTINF:"):
            pending = float(line.split(":", 1)[1].split(",")[0])
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif line and not line.startswith("#") and pending is not None:
            segments.append(MediaSegment(line, pending))
            pending = None
    return MediaPlaylist(init, tuple(segments), ptype, ended)


def render_media_playlist(
    init_uri: str, segments: Sequence[MediaSegment], *, independent_segments: bool
) -> str:
    """A VOD media playlist in the form ffmpeg's hls muxer writes one: ``EXT-X-MAP``, one
    ``EXTINF`` per segment (6 decimals), ``EXT-X-TARGETDURATION`` the longest segment rounded to
    the nearest second (RFC 8216 4.3.3.1), ``EXT-X-ENDLIST``."""
    if not segments:
        raise ValueError("A media playlist needs at least one segment")
    target = max(1, *(round(s.duration) for s in segments))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:1",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    if independent_segments:
        lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    lines.append(f'#EXT-X-MAP:URI="{init_uri}"')
    for segment in segments:
        lines += [f"#EXTINF:{segment.duration:.6f},", segment.uri]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def measure_bandwidth(segments: Iterable[tuple[float, int]]) -> Bandwidth:
    """Peak and average bit rate over ``(duration seconds, size bytes)`` pairs."""
    pairs = [(d, n) for d, n in segments if d > 0]
    if not pairs:
        return Bandwidth(0, 0)
    peak = max(n * 8 / d for d, n in pairs)
    average = sum(n for _, n in pairs) * 8 / sum(d for d, _ in pairs)
    return Bandwidth(math.ceil(peak), math.ceil(average))


def _ordered(variants: Sequence[VideoVariant], order: RenditionOrder) -> list[VideoVariant]:
    desc = sorted(variants, key=lambda v: (-v.height * v.width, -v.bandwidth.average))
    if order is RenditionOrder.DESCENDING or not desc:
        return desc
    if order is RenditionOrder.ASCENDING:
        return desc[::-1]
    first = min(desc, key=lambda v: abs(v.bandwidth.average - 2_000_000))
    return [first, *(v for v in desc if v is not first)]


def _filtered(
    variants: Sequence[VideoVariant], min_resolution: int | None, max_resolution: int | None
) -> list[VideoVariant]:
    """Keep variants whose short side is within bounds; never return nothing when given some."""
    kept = [
        v
        for v in variants
        if (min_resolution is None or min(v.width, v.height) >= min_resolution)
        and (max_resolution is None or min(v.width, v.height) <= max_resolution)
    ]
    if kept or not variants:
        return kept
    target = max_resolution if max_resolution is not None else min_resolution or 0
    return [min(variants, key=lambda v: abs(min(v.width, v.height) - target))]


def _stream_inf(
    variant: VideoVariant, audio: AudioRendition | None, subtitles: bool = False
) -> list[str]:
    bandwidth = variant.bandwidth + audio.bandwidth if audio else variant.bandwidth
    codecs = f"{variant.codecs},{audio.codecs}" if audio else variant.codecs
    attrs = [
        f"BANDWIDTH={bandwidth.peak}",
        f"AVERAGE-BANDWIDTH={bandwidth.average}",
        f'CODECS="{codecs}"',
        f"RESOLUTION={variant.width}x{variant.height}",
        f"FRAME-RATE={float(variant.frame_rate):.3f}",
    ]
    if audio:
        attrs.append(f'AUDIO="{AUDIO_GROUP}"')
    if subtitles:
        attrs.append(f'SUBTITLES="{SUBTITLES_GROUP}"')
    return [f"#EXT-X-STREAM-INF:{','.join(attrs)}", variant.uri]


def _media_line(audio: AudioRendition) -> str:
    language = f',LANGUAGE="{audio.language}"' if audio.language else ""
    return (
        f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="{audio.name}"{language},'
        f'DEFAULT=YES,AUTOSELECT=YES,CHANNELS="{audio.channels}",URI="{audio.uri}"'
    )


def _subtitles_line(track: SubtitleRendition) -> str:
    attrs = [
        "TYPE=SUBTITLES",
        f'GROUP-ID="{SUBTITLES_GROUP}"',
        f'NAME="{track.name}"',
        f'LANGUAGE="{track.language}"',
        "AUTOSELECT=YES",
        f"DEFAULT={'YES' if track.default else 'NO'}",
    ]
    if track.closed_captions:
        attrs.append(f'CHARACTERISTICS="{CLOSED_CAPTION_CHARACTERISTICS}"')
    attrs.append(f'URI="{track.uri}"')
    return "#EXT-X-MEDIA:" + ",".join(attrs)


def render_multivariant(
    variants: Sequence[VideoVariant],
    audio: AudioRendition | None,
    *,
    order: RenditionOrder = RenditionOrder.APPLE,
    min_resolution: int | None = None,
    max_resolution: int | None = None,
    uri_prefix: str = "",
    subtitles: Sequence[SubtitleRendition] = (),
) -> str:
    """The multivariant playlist text. With no video variants (audio-only media) the audio
    rendition is listed as the one variant. ``uri_prefix`` is prepended to every URI but the
    subtitles'; with ``subtitles`` every variant names their group."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    lines += [_subtitles_line(track) for track in subtitles]
    subs = f',SUBTITLES="{SUBTITLES_GROUP}"' if subtitles else ""
    chosen = _ordered(_filtered(variants, min_resolution, max_resolution), order)
    if not chosen and audio is not None:
        attrs = f"BANDWIDTH={audio.bandwidth.peak},AVERAGE-BANDWIDTH={audio.bandwidth.average}"
        lines += [
            f'#EXT-X-STREAM-INF:{attrs},CODECS="{audio.codecs}"{subs}',
            uri_prefix + audio.uri,
        ]
        return "\n".join(lines) + "\n"
    if audio is not None:
        lines.append(_media_line(_prefixed_audio(audio, uri_prefix)))
    for variant in chosen:
        inf, uri = _stream_inf(variant, audio, bool(subtitles))
        lines += [inf, uri_prefix + uri]
    return "\n".join(lines) + "\n"


def _prefixed_audio(audio: AudioRendition, prefix: str) -> AudioRendition:
    return AudioRendition(
        prefix + audio.uri,
        audio.codecs,
        audio.channels,
        audio.bandwidth,
        audio.name,
        audio.language,
    )
