"""Every object key reelhouse writes, spelled in one place.

```
env/{env}/assets/{asset}/source                          the uploaded original
env/{env}/assets/{asset}/v{version}/                     one published set of outputs
    master.m3u8  manifest.mpd                            multivariant playlist, DASH manifest
    {rendition}/playlist.m3u8  {rendition}/init.mp4      a rung: media playlist, init segment
    {rendition}/{segment}                                a rung's media segments
    static/{name}                                        static MP4 renditions (highest.mp4 ...)
    storyboard/{name}                                    storyboard sheet and its VTT/JSON
env/{env}/assets/{asset}/thumbnails/{params_hash}.{ext}  cached on-demand images
```

Outputs live under a version prefix: finalize writes a complete new version and then flips the
asset to it in one transaction, so a player never sees a half-written set, and the old version
is removed afterwards by prefix. Ids and names are checked to be one plain segment, so no caller
can reach into another asset's or environment's keys.
"""

from __future__ import annotations

import re

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _segment(value: str, what: str) -> str:
    if not _SEGMENT.match(value) or ".." in value:
        raise ValueError(f"{what} {value!r} is not a plain key segment")
    return value


def environment_prefix(environment_id: str) -> str:
    return f"env/{_segment(environment_id, 'environment id')}/"


def asset_prefix(environment_id: str, asset_id: str) -> str:
    """Everything stored for one asset (deleting it deletes the asset's objects)."""
    return f"{environment_prefix(environment_id)}assets/{_segment(asset_id, 'asset id')}/"


def source_key(environment_id: str, asset_id: str) -> str:
    return f"{asset_prefix(environment_id, asset_id)}source"


def asset_version_prefix(environment_id: str, asset_id: str, version: int) -> str:
    if version < 1:
        raise ValueError(f"versions start at 1, not {version}")
    return f"{asset_prefix(environment_id, asset_id)}v{version}/"


def master_playlist_key(environment_id: str, asset_id: str, version: int) -> str:
    return f"{asset_version_prefix(environment_id, asset_id, version)}master.m3u8"


def dash_manifest_key(environment_id: str, asset_id: str, version: int) -> str:
    return f"{asset_version_prefix(environment_id, asset_id, version)}manifest.mpd"


def rendition_prefix(environment_id: str, asset_id: str, version: int, rendition: str) -> str:
    base = asset_version_prefix(environment_id, asset_id, version)
    return f"{base}{_segment(rendition, 'rendition')}/"


def rendition_key(
    environment_id: str, asset_id: str, version: int, rendition: str, name: str
) -> str:
    """A file of one rung: ``playlist.m3u8``, ``init.mp4``, a segment (``seg_00001.m4s``)."""
    prefix = rendition_prefix(environment_id, asset_id, version, rendition)
    return f"{prefix}{_segment(name, 'file name')}"


def static_rendition_key(environment_id: str, asset_id: str, version: int, name: str) -> str:
    """A static MP4 (``highest.mp4``, ``capped-1080p.mp4``, ``audio.m4a``)."""
    base = asset_version_prefix(environment_id, asset_id, version)
    return f"{base}static/{_segment(name, 'file name')}"


def storyboard_key(environment_id: str, asset_id: str, version: int, name: str) -> str:
    base = asset_version_prefix(environment_id, asset_id, version)
    return f"{base}storyboard/{_segment(name, 'file name')}"


def thumbnail_cache_key(
    environment_id: str, asset_id: str, params_hash: str, extension: str = "jpg"
) -> str:
    """An image rendered on demand, cached by a hash of its parameters (time, size, format)."""
    base = asset_prefix(environment_id, asset_id)
    name = f"{_segment(params_hash, 'params hash')}.{_segment(extension, 'extension')}"
    return f"{base}thumbnails/{name}"
