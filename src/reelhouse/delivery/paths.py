"""The shape of stream URLs, checked strictly before anything is looked up. Pure.

``/stream/{playback_id}.m3u8`` (or extension-less), ``/stream/{playback_id}.mpd`` and
``/stream/{playback_id}/v{version}/{path}``, where ``path`` names one stored file of that
output version: ``/``-separated segments of ``[A-Za-z0-9_.-]`` that start with a letter or
digit (so no ``..``, no hidden or temporary files), at most :data:`MAX_DEPTH` deep, ending in a
known media extension.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from reelhouse import ids
from reelhouse.delivery.errors import MalformedPlaybackId, PlaybackNotFound

MAX_DEPTH = 4
MAX_PATH_LENGTH = 255
MEDIA_EXTENSIONS = frozenset({"m3u8", "m4s", "mp4", "m4a", "m4v", "ts", "aac", "vtt"})
PLAYLIST_EXTENSIONS = frozenset({"m3u8"})

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_VERSION = re.compile(r"v([1-9][0-9]{0,8})")


class Manifest(enum.Enum):
    HLS = "m3u8"
    DASH = "mpd"


@dataclass(frozen=True)
class ManifestRequest:
    playback_id: str
    manifest: Manifest


@dataclass(frozen=True)
class FileRequest:
    """``path`` is relative to the output version's prefix."""

    version: int
    path: str

    @property
    def extension(self) -> str:
        return self.path.rsplit(".", 1)[-1].lower()

    @property
    def is_playlist(self) -> bool:
        return self.extension in PLAYLIST_EXTENSIONS


def check_playback_id(value: str) -> str:
    """``value`` if it could be a playback id, else :class:`MalformedPlaybackId` (400)."""
    if not ids.is_well_formed(value):
        raise MalformedPlaybackId()
    return value


def parse_manifest_name(name: str) -> ManifestRequest:
    """``{id}.m3u8``, ``{id}.mpd`` or ``{id}`` (HLS, as mux-player allows since elements#1096)."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        return ManifestRequest(check_playback_id(name), Manifest.HLS)
    try:
        manifest = Manifest(extension)
    except ValueError:
        raise PlaybackNotFound() from None
    return ManifestRequest(check_playback_id(stem), manifest)


def parse_file_path(rest: str) -> FileRequest:
    """``v{version}/{path}`` -> :class:`FileRequest`; anything else is :class:`PlaybackNotFound`."""
    version_part, slash, path = rest.partition("/")
    version = _VERSION.fullmatch(version_part)
    if version is None or not slash or not is_safe_path(path):
        raise PlaybackNotFound()
    return FileRequest(int(version.group(1)), path)


def is_safe_path(path: str) -> bool:
    """Whether ``path`` may name a served file (see the module docstring)."""
    if not path or len(path) > MAX_PATH_LENGTH:
        return False
    segments = path.split("/")
    if len(segments) > MAX_DEPTH or not all(_SEGMENT.fullmatch(s) for s in segments):
        return False
    name = segments[-1]
    return "." in name and name.rsplit(".", 1)[-1].lower() in MEDIA_EXTENSIONS
