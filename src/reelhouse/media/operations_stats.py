"""What an operator watches: uploads and processing per UTC day, and the latest failures.

Read-only queries over ``direct_uploads``, ``assets`` and ``text_tracks``, scoped to one
environment.

- Uploads count on the day they were created (``errored`` ones among them: failed), and as
  completed on the day their last byte arrived (``completed_at``).
- Assets count on the day they were created, by their status now. The success rate is ready
  over finished (ready plus errored); assets still preparing count for neither.
- Processing time is ``ready_at - created_at`` of a ready asset: queueing, fetching the input
  and transcoding, from the moment the asset exists (for a direct upload, when its last byte
  arrived). It is reported as minutes of processing per hour of video, over the ready assets
  whose duration is known.
- Failures are errored assets, errored or timed-out uploads (a cancelled one was the user's
  choice) and errored text tracks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Date, and_, cast, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.db.models import Asset, DirectUpload, TextTrack
from reelhouse.states import AssetStatus, UploadStatus

SUCCESS_TARGET: Final = 0.95
DEFAULT_DAYS: Final = 7
FAILURES_SHOWN: Final = 50
FAILED_UPLOADS: Final = (UploadStatus.ERRORED.value, UploadStatus.TIMED_OUT.value)
TRACK_ERRORED: Final = "errored"


@dataclass(frozen=True)
class Figures:
    """Counts and sums of one period; the rates derive from them."""

    uploads_created: int = 0
    uploads_completed: int = 0
    uploads_failed: int = 0
    assets_created: int = 0
    assets_ready: int = 0
    assets_errored: int = 0
    processing_seconds: float = 0.0
    video_seconds: float = 0.0

    def __add__(self, other: Figures) -> Figures:
        summed = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        return Figures(**summed)

    @property
    def assets_preparing(self) -> int:
        return self.assets_created - self.assets_ready - self.assets_errored

    @property
    def success_rate(self) -> float | None:
        """Ready over finished assets (0..1); None while none has finished."""
        finished = self.assets_ready + self.assets_errored
        return self.assets_ready / finished if finished else None

    @property
    def meets_target(self) -> bool | None:
        """Whether the success rate reaches :data:`SUCCESS_TARGET`; None without a rate."""
        rate = self.success_rate
        return None if rate is None else rate >= SUCCESS_TARGET

    @property
    def processing_minutes_per_video_hour(self) -> float | None:
        """Minutes spent processing per hour of ready video; None without any."""
        if self.video_seconds <= 0:
            return None
        return (self.processing_seconds / 60) / (self.video_seconds / 3600)

    @property
    def empty(self) -> bool:
        return self.uploads_created == 0 and self.uploads_completed == 0 and not self.assets_created


@dataclass(frozen=True)
class Day:
    day: date
    figures: Figures


@dataclass(frozen=True)
class Overview:
    """``days`` oldest first (every day of the window, empty ones included) and their sum."""

    days: tuple[Day, ...]
    total: Figures


@dataclass(frozen=True)
class Failure:
    """An errored asset, upload or text track: what failed, when, and the messages it gave.
    ``label`` names a text track for people (its name and language)."""

    kind: str  # "asset", "upload" or "text_track"
    id: str
    asset_id: str | None
    error_type: str
    messages: tuple[str, ...]
    at: datetime
    label: str | None = None


def window_days(now: datetime, days: int) -> list[date]:
    """The ``days`` UTC dates ending with ``now``'s, oldest first. Pure."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=back) for back in range(days - 1, -1, -1)]


def overview_of(days: Sequence[date], counted: Iterable[tuple[date, Figures]]) -> Overview:
    """Every one of ``days`` with the figures counted for it (summed when a day repeats),
    zero for the others; days outside the window are dropped. Pure."""
    by_day = {day: Figures() for day in days}
    for day, figures in counted:
        if day in by_day:
            by_day[day] = by_day[day] + figures
    total = sum(by_day.values(), Figures())
    return Overview(tuple(Day(day, by_day[day]) for day in days), total)


def _utc_day(column: Any) -> ColumnElement[date]:
    return cast(func.timezone("UTC", column), Date)


async def processing_overview(
    session: AsyncSession, environment_id: str, *, now: datetime, days: int = DEFAULT_DAYS
) -> Overview:
    """Uploads and processing of ``environment_id`` per UTC day over the ``days`` days ending
    today (``now``), with their total."""
    dates = window_days(now, days)
    since = datetime.combine(dates[0], time(), tzinfo=UTC)
    counted: list[tuple[date, Figures]] = []

    created_day = _utc_day(DirectUpload.created_at)
    uploads = await session.execute(
        select(
            created_day,
            func.count(),
            func.count().filter(DirectUpload.status == UploadStatus.ERRORED.value),
        )
        .where(DirectUpload.environment_id == environment_id, DirectUpload.created_at >= since)
        .group_by(created_day)
    )
    for day, created, failed in uploads:
        counted.append((day, Figures(uploads_created=created, uploads_failed=failed)))

    completed_day = _utc_day(DirectUpload.completed_at)
    completed = await session.execute(
        select(completed_day, func.count())
        .where(DirectUpload.environment_id == environment_id, DirectUpload.completed_at >= since)
        .group_by(completed_day)
    )
    for day, count in completed:
        counted.append((day, Figures(uploads_completed=count)))

    counted.extend(await _asset_figures(session, environment_id, since))
    return overview_of(dates, counted)


async def _asset_figures(
    session: AsyncSession, environment_id: str, since: datetime
) -> list[tuple[date, Figures]]:
    day = _utc_day(Asset.created_at)
    ready = Asset.status == AssetStatus.READY.value
    timed = and_(ready, Asset.ready_at.is_not(None), Asset.duration > 0)
    rows = await session.execute(
        select(
            day,
            func.count(),
            func.count().filter(ready),
            func.count().filter(Asset.status == AssetStatus.ERRORED.value),
            func.coalesce(
                func.sum(extract("epoch", Asset.ready_at - Asset.created_at)).filter(timed), 0
            ),
            func.coalesce(func.sum(Asset.duration).filter(timed), 0),
        )
        .where(Asset.environment_id == environment_id, Asset.created_at >= since)
        .group_by(day)
    )
    return [
        (
            row[0],
            Figures(
                assets_created=row[1],
                assets_ready=row[2],
                assets_errored=row[3],
                processing_seconds=float(row[4] or 0),
                video_seconds=float(row[5] or 0),
            ),
        )
        for row in rows
    ]


def upload_failure(upload: DirectUpload) -> Failure:
    """What the failures list shows of an errored or timed-out upload. A timed-out one has no
    error of its own: its message says the file never finished arriving. Pure."""
    if upload.status == UploadStatus.TIMED_OUT:
        error_type = UploadStatus.TIMED_OUT.value
        messages: tuple[str, ...] = (
            f"the file did not finish arriving within the upload's {upload.timeout} s timeout",
        )
    else:
        error = upload.error or {}
        error_type = str(error.get("type", "unknown"))
        message = error.get("message")
        messages = (str(message),) if message else ()
    return Failure(
        kind="upload",
        id=upload.id,
        asset_id=upload.asset_id,
        error_type=error_type,
        messages=messages,
        at=upload.updated_at,
    )


def _errored(
    kind: str, row: Asset | TextTrack, errors: dict[str, Any] | None, label: str | None = None
) -> Failure:
    """An errored asset or text track, whose error is ``{type, messages}``."""
    return Failure(
        kind=kind,
        id=row.id,
        asset_id=row.id if isinstance(row, Asset) else row.asset_id,
        error_type=str((errors or {}).get("type", "unknown")),
        messages=tuple(str(m) for m in (errors or {}).get("messages", [])),
        at=row.updated_at,
        label=label,
    )


async def recent_failures(
    session: AsyncSession, environment_id: str, *, limit: int = FAILURES_SHOWN
) -> list[Failure]:
    """The latest ``limit`` failures of ``environment_id`` in all, newest first: errored
    assets, errored or timed-out uploads and errored text tracks, one query per kind (each
    such status is final, so a row's ``updated_at`` is when it failed)."""
    assets = await session.scalars(
        select(Asset)
        .where(Asset.environment_id == environment_id, Asset.status == AssetStatus.ERRORED.value)
        .order_by(Asset.updated_at.desc(), Asset.id)
        .limit(limit)
    )
    found = [_errored("asset", asset, asset.errors) for asset in assets]
    uploads = await session.scalars(
        select(DirectUpload)
        .where(
            DirectUpload.environment_id == environment_id,
            DirectUpload.status.in_(FAILED_UPLOADS),
        )
        .order_by(DirectUpload.updated_at.desc(), DirectUpload.id)
        .limit(limit)
    )
    found.extend(upload_failure(upload) for upload in uploads)
    tracks = await session.scalars(
        select(TextTrack)
        .where(TextTrack.environment_id == environment_id, TextTrack.status == TRACK_ERRORED)
        .order_by(TextTrack.updated_at.desc(), TextTrack.id)
        .limit(limit)
    )
    found.extend(
        _errored("text_track", track, track.error, f"{track.name} ({track.language_code})")
        for track in tracks
    )
    found.sort(key=lambda failure: failure.at, reverse=True)
    return found[:limit]
