"""Parsing and rendering of the upload protocols' headers (pure functions)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from reelhouse.ingest.errors import BadRequest
from reelhouse.ingest.protocols import ChunkChecksum

MAX_METADATA_HEADER = 8192
MAX_METADATA_VALUE = 1024
_INT = re.compile(r"^[0-9]{1,19}$")
_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_CONTENT_RANGE = re.compile(r"^bytes (?:(\d{1,19})-(\d{1,19})|\*)/(\d{1,19}|\*)$")


def parse_int(name: str, value: str | None) -> int | None:
    """A non-negative integer header, or None when absent; anything else is a 400."""
    if value is None:
        return None
    value = value.strip()
    if not _INT.match(value):
        raise BadRequest(f"{name} must be a non-negative integer, got {value[:40]!r}.")
    return int(value)


def clean_text(value: str, *, limit: int = MAX_METADATA_VALUE) -> str:
    """Drop control and format characters (header smuggling, bidi tricks); cap the length."""
    kept = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C")
    return kept.strip()[:limit]


def clean_filename(value: str) -> str:
    """A display name only: never a path. Directory parts and dot-only names are removed."""
    name = clean_text(value, limit=255).replace("\\", "/").split("/")[-1]
    return "" if set(name) <= {"."} else name


def parse_metadata(header: str | None) -> dict[str, str]:
    """tus ``Upload-Metadata``: ``key base64,key base64``; values are sanitised text."""
    if not header:
        return {}
    if len(header) > MAX_METADATA_HEADER:
        raise BadRequest(f"Upload-Metadata is longer than {MAX_METADATA_HEADER} bytes.")
    metadata: dict[str, str] = {}
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not _KEY.match(key) or len(parts) > 2 or key in metadata:
            raise BadRequest("Upload-Metadata must be comma-separated 'key base64value' pairs.")
        raw = parts[1] if len(parts) == 2 else ""
        try:
            decoded = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(f"Upload-Metadata value of {key!r} is not valid base64.") from None
        text = clean_text(decoded.decode("utf-8", errors="replace"))
        metadata[key] = clean_filename(text) if key in ("filename", "name") else text
    return metadata


def render_metadata(metadata: dict[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}".rstrip()
        for key, value in metadata.items()
    )


def parse_checksum(header: str | None, supported: tuple[str, ...]) -> ChunkChecksum | None:
    if header is None:
        return None
    parts = header.strip().split(" ")
    if len(parts) != 2:
        raise BadRequest("Upload-Checksum must be '<algorithm> <base64 digest>'.")
    algorithm, encoded = parts
    if algorithm not in supported:
        raise BadRequest(
            f"Checksum algorithm {algorithm[:20]!r} is not supported; use one of "
            f"{', '.join(supported)}."
        )
    try:
        digest = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("The Upload-Checksum digest is not valid base64.") from None
    # A digest of the wrong size can never match; say so now rather than 460 after the body.
    if (
        algorithm in hashlib.algorithms_available
        and len(digest) != hashlib.new(algorithm).digest_size
    ):
        raise BadRequest(f"The Upload-Checksum digest is not a {algorithm} digest.")
    return ChunkChecksum(algorithm=algorithm, digest=digest)


@dataclass(frozen=True)
class Concat:
    partial: bool = False
    final: bool = False
    urls: tuple[str, ...] = ()


def parse_concat(header: str | None) -> Concat:
    if header is None:
        return Concat()
    value = header.strip()
    if value == "partial":
        return Concat(partial=True)
    if value.startswith("final;"):
        urls = tuple(u for u in value[len("final;") :].split(" ") if u)
        if urls:
            return Concat(final=True, urls=urls)
    raise BadRequest("Upload-Concat must be 'partial' or 'final;<url> <url> ...'.")


def upload_id_from_url(url: str) -> str:
    """The last path segment of an upload URL (absolute or relative)."""
    path = urlsplit(url).path.rstrip("/")
    return path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ContentRange:
    """``Content-Range: bytes first-last/total``; ``first`` is None for ``bytes */total``."""

    first: int | None
    last: int | None
    total: int | None

    @property
    def length(self) -> int:
        if self.first is None or self.last is None:
            return 0
        return self.last - self.first + 1


def parse_content_range(header: str) -> ContentRange:
    match = _CONTENT_RANGE.match(header.strip())
    if not match:
        raise BadRequest(
            "Content-Range must look like 'bytes 0-1048575/5000000' or 'bytes */5000000'."
        )
    first, last, total = match.groups()
    parsed = ContentRange(
        first=int(first) if first is not None else None,
        last=int(last) if last is not None else None,
        total=None if total == "*" else int(total),
    )
    if parsed.first is not None and parsed.last is not None and parsed.last < parsed.first:
        raise BadRequest("Content-Range ends before it starts.")
    if parsed.total is not None and parsed.last is not None and parsed.last >= parsed.total:
        raise BadRequest(
            f"Content-Range ends at byte {parsed.last}, past the declared total of "
            f"{parsed.total} bytes."
        )
    return parsed


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)
