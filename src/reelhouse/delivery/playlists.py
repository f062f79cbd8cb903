"""Manifests as served: the HLS multivariant playlist rendered from the rendition rows, and the
stored DASH manifest given a ``BaseURL``. Pure.

Served URIs are relative to ``/stream/``: the multivariant playlist at
``/stream/{playback_id}.m3u8`` lists ``{playback_id}/v{version}/{rendition}/index.m3u8``, so the
same text works behind any host, port, path prefix or CDN. The media playlists are served as
stored; their segment URIs are relative to themselves and need no rewriting. For a signed
playback id the prefix carries a grant (``{playback_id}/t/{grant}/v{version}/``, see
:mod:`.tokens`), which every relative URI below it inherits. Ready text tracks are listed as a
``SUBTITLES`` group whose playlists live beside the versions (``{playback_id}/text/{id}.m3u8``,
served by :mod:`.text`), and as ``text/vtt`` AdaptationSets in the DASH manifest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from xml.sax.saxutils import escape

from reelhouse.delivery.errors import AssetNotReady, CorruptManifest
from reelhouse.delivery.playbacks import Playback, PublishedRendition, PublishedTextTrack
from reelhouse.delivery.tokens import GRANT_SEGMENT
from reelhouse.pipeline.dash import TextRepresentation, text_adaptation_sets
from reelhouse.pipeline.playlists import (
    AudioRendition,
    Bandwidth,
    RenditionOrder,
    SubtitleRendition,
    VideoVariant,
    render_multivariant,
)
from reelhouse.storage.layout import asset_version_prefix

_RESOLUTION = re.compile(r"([1-9][0-9]{2,3})p")
_MPD_START = re.compile(r"""<MPD\b(?:[^>"']|"[^"]*"|'[^']*')*>""")
_UNQUOTABLE = re.compile(r'["\x00-\x1f\x7f]')


@dataclass(frozen=True)
class PlaylistOptions:
    """The query modifiers Mux's stream URLs take (``max_resolution=720p`` ...)."""

    min_resolution: int | None = None
    max_resolution: int | None = None
    order: RenditionOrder = RenditionOrder.APPLE
    default_subtitles_lang: str | None = None


def parse_resolution(value: str | None) -> int | None:
    """``"720p"`` -> 720; anything else -> None (an unknown modifier is ignored, not an error:
    mux-player would report a 400 as an invalid playback id)."""
    if value is None:
        return None
    match = _RESOLUTION.fullmatch(value.strip().lower())
    return int(match.group(1)) if match else None


def options_from_query(query: Mapping[str, str]) -> PlaylistOptions:
    order = RenditionOrder.DESCENDING if query.get("rendition_order") == "desc" else None
    return PlaylistOptions(
        min_resolution=parse_resolution(query.get("min_resolution")),
        max_resolution=parse_resolution(query.get("max_resolution")),
        order=order or RenditionOrder.APPLE,
        default_subtitles_lang=query.get("default_subtitles_lang") or None,
    )


def served_prefix(playback: Playback, grant: str | None = None) -> str:
    """Where the published version's files are served, relative to ``/stream/``; with
    ``grant``, the signed form of that path."""
    granted = f"{GRANT_SEGMENT}/{grant}/" if grant else ""
    return f"{playback.playback_id}/{granted}v{playback.version}/"


def text_prefix(playback: Playback, grant: str | None = None) -> str:
    """Where the text tracks are served, relative to ``/stream/`` (grant-carrying for a
    signed id): ``{playback_id}/[t/{grant}/]text/``."""
    granted = f"{GRANT_SEGMENT}/{grant}/" if grant else ""
    return f"{playback.playback_id}/{granted}text/"


def _subtitles(
    playback: Playback, grant: str | None, default_lang: str | None
) -> list[SubtitleRendition]:
    """One rendition per ready text track; NAMEs made unique in the group (HLS requires it),
    the first track of ``default_lang`` (or of its primary subtag) marked DEFAULT."""
    wanted = (default_lang or "").lower()
    default = next(
        (t for t in playback.text_tracks if wanted and t.language_code.lower() == wanted),
        None,
    ) or next(
        (
            t
            for t in playback.text_tracks
            if wanted and t.language_code.lower().split("-")[0] == wanted.split("-")[0]
        ),
        None,
    )
    seen: set[str] = set()
    out: list[SubtitleRendition] = []
    for track in playback.text_tracks:
        name = _UNQUOTABLE.sub("", track.name) or track.language_code
        unique, n = name, 2
        while unique in seen:
            unique, n = f"{name} ({n})", n + 1
        seen.add(unique)
        uri = f"{text_prefix(playback, grant)}{track.id}.m3u8"
        out.append(
            SubtitleRendition(
                uri,
                unique,
                _UNQUOTABLE.sub("", track.language_code),
                track.closed_captions,
                track is default,
            )
        )
    return out


def with_text_tracks(mpd: str, tracks: tuple[PublishedTextTrack, ...]) -> str:
    """``mpd`` with a ``text/vtt`` AdaptationSet per track before the end of its Period. Each
    BaseURL (``../text/{id}.vtt``) resolves against the MPD's own BaseURL
    (``{playback_id}/[t/{grant}/]v{n}/``), so a grant is inherited."""
    if not tracks:
        return mpd
    at = mpd.rfind("</Period>")
    if at < 0:
        raise CorruptManifest("The stored DASH manifest has no Period element")
    sets = text_adaptation_sets(
        [
            TextRepresentation(
                f"text-{t.id}", t.language_code, t.name, f"../text/{t.id}.vtt", t.closed_captions
            )
            for t in tracks
        ]
    )
    line_start = mpd.rfind("\n", 0, at) + 1
    return mpd[:line_start] + sets + mpd[line_start:]


def _relative(rendition: PublishedRendition, version_prefix: str) -> str | None:
    key = rendition.playlist_key
    return key[len(version_prefix) :] if key.startswith(version_prefix) else None


def _variant(rendition: PublishedRendition, uri: str) -> VideoVariant | None:
    if not rendition.width or not rendition.height:
        return None
    return VideoVariant(
        uri=uri,
        codecs=rendition.codecs,
        width=rendition.width,
        height=rendition.height,
        frame_rate=Fraction(rendition.frame_rate or 0).limit_denominator(1001),
        bandwidth=Bandwidth(rendition.bandwidth, rendition.average_bandwidth),
    )


def _audio(rendition: PublishedRendition, uri: str) -> AudioRendition:
    return AudioRendition(
        uri=uri,
        codecs=rendition.codecs,
        channels=rendition.channels or 2,
        bandwidth=Bandwidth(rendition.bandwidth, rendition.average_bandwidth),
    )


def render_master(
    playback: Playback, options: PlaylistOptions = PlaylistOptions(), grant: str | None = None
) -> str:
    """The multivariant playlist of the published version (its URIs carrying ``grant`` when
    given). Renditions whose playlist is not under that version's prefix are left out; with
    none left the asset is not playable."""
    version_prefix = asset_version_prefix(
        playback.environment_id, playback.asset_id, playback.version
    )
    variants: list[VideoVariant] = []
    audio: AudioRendition | None = None
    for rendition in playback.renditions:
        uri = _relative(rendition, version_prefix)
        if uri is None:
            continue
        if rendition.kind == "audio":
            audio = audio or _audio(rendition, uri)
        elif (variant := _variant(rendition, uri)) is not None:
            variants.append(variant)
    if not variants and audio is None:
        raise AssetNotReady("This asset has no playable renditions")
    return render_multivariant(
        variants,
        audio,
        order=options.order,
        min_resolution=options.min_resolution,
        max_resolution=options.max_resolution,
        uri_prefix=served_prefix(playback, grant),
        subtitles=_subtitles(playback, grant, options.default_subtitles_lang),
    )


def with_base_url(mpd: str, base_url: str) -> str:
    """``mpd`` with ``<BaseURL>base_url</BaseURL>`` as the MPD element's first child, so its
    relative segment URLs resolve under ``base_url`` (itself relative to the MPD's URL)."""
    match = _MPD_START.search(mpd)
    if match is None:
        raise CorruptManifest("The stored DASH manifest has no MPD element")
    at = match.end()
    return f"{mpd[:at]}\n  <BaseURL>{escape(base_url)}</BaseURL>{mpd[at:]}"
