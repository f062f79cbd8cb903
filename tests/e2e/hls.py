"""Fetching and decoding what a player would: the multivariant playlist, each media playlist
on its own (FFmpeg's HLS reader misreports non-first variants), its init and segments."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import av
import httpx


@dataclass(frozen=True)
class Variant:
    uri: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class Decoded:
    frames: int
    duration: float
    width: int | None
    height: int | None
    packet_hashes: tuple[str, ...]


def _attributes(line: str) -> dict[str, str]:
    pairs = re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])
    return {key: value.strip('"') for key, value in pairs}


def variants(master: str) -> tuple[list[Variant], list[Variant]]:
    """(video variants, audio renditions) of a multivariant playlist."""
    lines = master.splitlines()
    video: list[Variant] = []
    audio: list[Variant] = []
    for index, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            video.append(Variant(lines[index + 1].strip(), _attributes(line)))
        elif line.startswith("#EXT-X-MEDIA:") and "TYPE=AUDIO" in line:
            attrs = _attributes(line)
            audio.append(Variant(attrs["URI"], attrs))
    return video, audio


def download_rendition(client: httpx.Client, playlist_url: str, out: Path) -> tuple[Path, str]:
    """init + segments concatenated into one fragmented MP4 at ``out``; returns it and the
    media playlist text."""
    response = client.get(playlist_url)
    response.raise_for_status()
    text = response.text
    init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', text)
    assert init, "media playlist has no EXT-X-MAP"
    uris = [init.group(1)] + [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    with out.open("wb") as sink:
        for uri in uris:
            part = client.get(urljoin(playlist_url, uri))
            part.raise_for_status()
            sink.write(part.content)
    return out, text


def decode(path: Path, kind: str = "video") -> Decoded:
    frames = 0
    hashes: list[str] = []
    with av.open(str(path)) as container:
        streams = container.streams.video if kind == "video" else container.streams.audio
        stream = streams[0]
        for packet in container.demux(stream):
            if packet.size:
                hashes.append(hashlib.sha256(bytes(packet)).hexdigest())
            for _frame in packet.decode():
                frames += 1
        duration = float(stream.duration * stream.time_base) if stream.duration else 0.0
        width = getattr(stream.codec_context, "width", None) if kind == "video" else None
        height = getattr(stream.codec_context, "height", None) if kind == "video" else None
    return Decoded(frames, duration, width, height, tuple(hashes))


def source_packet_hashes(path: Path) -> tuple[str, ...]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return tuple(
            hashlib.sha256(bytes(p)).hexdigest() for p in container.demux(stream) if p.size
        )
