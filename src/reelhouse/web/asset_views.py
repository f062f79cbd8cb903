"""What the library and the asset page show of an asset, made from the domain's objects: URLs
to copy, embed snippets, rendition bitrates, static-rendition downloads, input info and webhook
deliveries as table rows. Pure.

Copyable URLs are absolute, on the public URL (``base_url``); links the page itself follows are
relative, so they stay on the dashboard's origin.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote, urlencode

from reelhouse.db.models import Rendition
from reelhouse.pipeline import mp4
from reelhouse.webhooks.endpoints import DeliveryRecord, delivery_view

STATIC_CHOICES: Final = (
    ("highest", "Highest (best quality MP4)"),
    ("audio-only", "Audio only (M4A)"),
    *((r, f"{r} MP4") for r in mp4.RESOLUTIONS),
)
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")
TIMES: Final = "\u00d7"  # the multiplication sign of 1280x720


def sentence(message: str) -> str:
    """A domain error's message as a sentence for the page: capital first, full stop last."""
    text = message.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def human_bitrate(bits_per_second: int | None) -> str:
    """``2.4 Mb/s``, ``128 kb/s``; ``—`` when unknown."""
    if not bits_per_second:
        return "—"
    if bits_per_second >= 1_000_000:
        return f"{bits_per_second / 1_000_000:.1f} Mb/s"
    return f"{round(bits_per_second / 1000)} kb/s"


def with_query(url: str, query: Mapping[str, str]) -> str:
    return f"{url}?{urlencode(query)}" if query else url


def stream_url(base_url: str, playback_id: str, token: str | None = None) -> str:
    return with_query(f"{base_url}/stream/{playback_id}.m3u8", {"token": token} if token else {})


def thumbnail_url(base_url: str, playback_id: str, token: str | None = None) -> str:
    url = f"{base_url}/image/{playback_id}/thumbnail.webp"
    return with_query(url, {"token": token} if token else {})


def embed_url(base_url: str, playback_id: str, tokens: Mapping[str, str] | None = None) -> str:
    """The player page; ``tokens`` maps ``token``, ``thumbnail_token``, ``storyboard_token``."""
    return with_query(f"{base_url}/embed/{playback_id}", dict(tokens or {}))


def embed_snippet(url: str, title: str) -> str:
    """An ``<iframe>`` to paste into a site, 16:9 and as wide as its container."""
    return (
        f'<iframe src="{html.escape(url)}" title="{html.escape(title)}" '
        'style="aspect-ratio: 16 / 9; width: 100%; border: 0" '
        'allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>'
    )


def playback_rows(
    base_url: str, playback_ids: Sequence[Mapping[str, Any]], title: str
) -> list[dict[str, Any]]:
    """Each playback id with its stream URL and embed snippet (a signed one's need a token:
    the signed URL generator makes them)."""
    rows = []
    for item in playback_ids:
        pid, policy = str(item["id"]), str(item["policy"])
        url = embed_url(base_url, pid)
        rows.append(
            {
                "id": pid,
                "policy": policy,
                "stream_url": stream_url(base_url, pid),
                "embed_url": url,
                "embed_html": embed_snippet(url, title),
            }
        )
    return rows


def rendition_rows(renditions: Sequence[Rendition]) -> list[dict[str, Any]]:
    """The published renditions as table rows (bitrates as people read them)."""
    rows = []
    for r in renditions:
        size = f"{r.width}{TIMES}{r.height}" if r.width and r.height else "—"
        rate = f"{r.frame_rate:g} fps" if r.frame_rate else ""
        rows.append(
            {
                "name": r.name,
                "kind": r.kind,
                "size": size if r.kind == "video" else f"{r.channels or '?'} channels",
                "frame_rate": rate,
                "bandwidth": human_bitrate(r.bandwidth),
                "average_bandwidth": human_bitrate(r.average_bandwidth),
                "codecs": r.codecs,
                "passthrough": r.passthrough,
            }
        )
    return rows


def download_name(title: str, file_name: str) -> str:
    """``My talk-720p.mp4`` for the file ``720p.mp4`` of the video called ``My talk.mov``."""
    stem = _EXTENSION.sub("", title.strip()) or "video"
    return f"{stem}-{file_name}"


def static_rows(view: Mapping[str, Any], public_id: str | None, title: str) -> list[dict[str, Any]]:
    """The static renditions, each with a download link once ready (through a public
    playback id: a signed one needs a token in the link)."""
    state = view.get("static_renditions") or {}
    rows = []
    for entry in state.get("files") or []:
        name = str(entry.get("name"))
        link = None
        if public_id and entry.get("status") == "ready":
            wanted = quote(download_name(title, name), safe="")
            link = f"/stream/{public_id}/{name}?download={wanted}"
        rows.append({"name": name, "status": entry.get("status"), "download": link})
    return rows


def static_choices(
    view: Mapping[str, Any], published: tuple[Sequence[mp4.VideoRung], bool] | None = None
) -> list[tuple[str, str]]:
    """The static renditions the asset can still be asked for (one file per name). Given the
    ``published`` rungs and whether there is audio, only those the job would make (the others
    would just be skipped); before the asset is published, all of them."""
    state = view.get("static_renditions") or {}
    have = {str(f.get("resolution")) for f in state.get("files") or []}
    choices = [(value, label) for value, label in STATIC_CHOICES if value not in have]
    if published is None or not (published[0] or published[1]):
        return choices
    rungs, has_audio = published
    return [(v, label) for v, label in choices if mp4.recipe(mp4.file_name(v), rungs, has_audio)]


def input_rows(info: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The input-info entries: each input's container and its tracks, described."""
    rows = []
    for index, entry in enumerate(info):
        file = entry.get("file") or {}
        tracks = []
        for t in file.get("tracks") or []:
            if t.get("type") == "video":
                rate = f" @ {t['frame_rate']:g} fps" if t.get("frame_rate") else ""
                detail = f"{t.get('width')}{TIMES}{t.get('height')}{rate}"
            else:
                detail = f"{t.get('channels') or '?'} channels, {t.get('sample_rate') or '?'} Hz"
            tracks.append({"type": t.get("type"), "encoding": t.get("encoding"), "detail": detail})
        rows.append(
            {
                "label": "Main input" if index == 0 else f"Input {index + 1}",
                "container": file.get("container_format") or "—",
                "tracks": tracks,
            }
        )
    return rows


def delivery_rows(
    records: Sequence[DeliveryRecord], endpoint_urls: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Webhook deliveries as table rows: event, endpoint, outcome."""
    rows = []
    for record in records:
        view = delivery_view(record)
        code = view["last_status_code"]
        rows.append(
            {
                "type": view["type"],
                "endpoint": endpoint_urls.get(record.delivery.endpoint_id, "(removed)"),
                "status": view["status"],
                "attempts": view["attempt_count"],
                "outcome": f"HTTP {code}" if code else (view["last_error"] or "—"),
                "created": view["created_at"][:19].replace("T", " "),
            }
        )
    return rows


def is_pending(view: Mapping[str, Any]) -> bool:
    """Whether anything on the asset is still being made (so its page keeps polling)."""
    if view.get("status") == "preparing":
        return True
    if any(t.get("status") == "preparing" for t in view.get("tracks") or []):
        return True
    state = view.get("static_renditions") or {}
    return any(f.get("status") == "preparing" for f in state.get("files") or [])
