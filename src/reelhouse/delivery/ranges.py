"""HTTP ``Range`` (one range only) and the validators around it (RFC 9110 §13-14). Pure.

A request for several ranges is answered with the whole object: RFC 9110 lets a server ignore
``Range``, players never ask for more than one, and ``multipart/byteranges`` would be one more
format to get right on every backend. A ``Range`` we cannot parse, or in a unit other than
``bytes``, is ignored the same way. A well-formed range that selects nothing is *unsatisfiable*
(416).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPEC = re.compile(r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` inclusive, both inside the object."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


@dataclass(frozen=True)
class Unsatisfiable:
    """A valid range that selects no byte of the object (answer 416 ``bytes */size``)."""


UNSATISFIABLE = Unsatisfiable()


def parse_range(header: str | None, size: int) -> ByteRange | Unsatisfiable | None:
    """The range ``header`` asks of an object of ``size`` bytes; None means "send it whole"."""
    if header is None or "," in header:
        return None
    match = _SPEC.fullmatch(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            return UNSATISFIABLE
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    if last and int(last) < start:  # an invalid range-spec: ignored, like garbage
        return None
    if start >= size:
        return UNSATISFIABLE
    return ByteRange(start, min(int(last), size - 1) if last else size - 1)


def quote_etag(etag: str) -> str:
    """The ``ETag`` header value of a store's (unquoted, opaque) etag."""
    return f'"{etag}"'


def _tags(header: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def none_match(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` matches (weak comparison): answer 304."""
    if header is None:
        return False
    tags = _tags(header)
    return "*" in tags or quote_etag(etag) in tags


def range_applies(if_range: str | None, etag: str, last_modified: str) -> bool:
    """Whether ``If-Range`` lets the ``Range`` apply (strong comparison, or an exact date)."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith('"'):
        return value == quote_etag(etag)
    return not value.startswith("W/") and value == last_modified
