"""What the ingest layer knows about one upload."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class UploadInfo:
    """One resumable upload.

    ``offset`` is the number of bytes durably stored: after any crash it is what the store holds.
    ``size`` is None while the length is deferred. ``owner`` is opaque application context set by
    the hooks at creation (which environment, which direct upload); the protocols never read it.
    """

    id: str
    size: int | None
    offset: int
    created_at: datetime
    metadata: dict[str, str] = field(default_factory=dict)
    expires_at: datetime | None = None
    partial: bool = False
    final: bool = False
    partial_ids: tuple[str, ...] = ()
    concat_into: tuple[str, ...] = ()
    owner: dict[str, Any] = field(default_factory=dict)
    sha256: str | None = None
    finished: bool = False

    @property
    def complete(self) -> bool:
        return self.size is not None and self.offset >= self.size

    @property
    def remaining(self) -> int | None:
        return None if self.size is None else self.size - self.offset

    def with_offset(self, offset: int) -> UploadInfo:
        return replace(self, offset=offset)


@dataclass(frozen=True)
class NewUpload:
    """What a creation request asks for, after validation and the pre-create hook."""

    id: str
    size: int | None
    created_at: datetime
    metadata: dict[str, str] = field(default_factory=dict)
    expires_at: datetime | None = None
    partial: bool = False
    final: bool = False
    partial_ids: tuple[str, ...] = ()
    owner: dict[str, Any] = field(default_factory=dict)
