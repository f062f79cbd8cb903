"""The library's questions about an environment's assets: which match a search and a status
(a page at a time, newest first), what each is called, how big its input was, and which
renditions its published version has. Read-only.

An asset's title is Mux's ``meta.title``, else its ``passthrough``, else the name of the file
it was uploaded from (the tus ``filename`` metadata, kept on the direct upload), else nothing
(callers show the id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.db.models import Asset, DirectUpload, PlaybackId, Rendition
from reelhouse.errors import InvalidParameters
from reelhouse.states import AssetStatus

STATUSES: Final = (AssetStatus.PREPARING.value, AssetStatus.READY.value, AssetStatus.ERRORED.value)
MAX_SEARCH: Final = 200
_ESCAPE: Final = "\\"


@dataclass(frozen=True)
class Origin:
    """Where an asset came from, as far as the library shows it: the uploaded file's name
    and the input's size in bytes (either unknown: None)."""

    filename: str | None = None
    size: int | None = None


def contains_pattern(text: str) -> str:
    """A ``LIKE`` pattern matching ``text`` anywhere, its ``%``, ``_`` and ``\\`` taken
    literally (escape character ``\\``). Pure."""
    escaped = text.replace(_ESCAPE, _ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def title_of(asset: Asset, origin: Origin | None = None) -> str | None:
    """``meta.title``, else ``passthrough``, else the uploaded file's name, else None. Pure."""
    meta = (asset.settings or {}).get("meta")
    title = meta.get("title") if isinstance(meta, dict) else None
    if isinstance(title, str) and title.strip():
        return title
    if asset.passthrough:
        return asset.passthrough
    return origin.filename if origin is not None and origin.filename else None


def _matching(text: str) -> ColumnElement[bool]:
    pattern = contains_pattern(text)
    by_playback_id = select(PlaybackId.asset_id).where(PlaybackId.id == text)
    return or_(
        Asset.id == text,
        Asset.id.in_(by_playback_id.scalar_subquery()),
        Asset.settings["meta"]["title"].astext.ilike(pattern, escape=_ESCAPE),
        Asset.passthrough.ilike(pattern, escape=_ESCAPE),
        DirectUpload.filename.ilike(pattern, escape=_ESCAPE),
    )


async def find_assets(
    session: AsyncSession,
    environment_id: str,
    *,
    search: str = "",
    status: str | None = None,
    limit: int,
    page: int = 1,
) -> tuple[list[Asset], bool]:
    """Page ``page`` (from 1) of the assets whose title, passthrough or uploaded file name
    contains ``search`` (any case), or whose id or a playback id of which is ``search``, in
    ``status`` when given; newest first, and whether a next page exists. ``InvalidParameters``
    for a status not in :data:`STATUSES` or a search longer than :data:`MAX_SEARCH`."""
    if status is not None and status not in STATUSES:
        raise InvalidParameters(f"status must be one of {', '.join(STATUSES)}")
    text = search.strip()
    if len(text) > MAX_SEARCH:
        raise InvalidParameters(f"a search is at most {MAX_SEARCH} characters")
    query = (
        select(Asset)
        .outerjoin(DirectUpload, DirectUpload.id == Asset.upload_id)
        .where(Asset.environment_id == environment_id)
    )
    if status is not None:
        query = query.where(Asset.status == status)
    if text:
        query = query.where(_matching(text))
    query = (
        query.order_by(Asset.created_at.desc(), Asset.id.desc())
        .offset((max(page, 1) - 1) * limit)
        .limit(limit + 1)
    )
    rows = list((await session.scalars(query)).all())
    return rows[:limit], len(rows) > limit


async def origins(session: AsyncSession, assets: Sequence[Asset]) -> dict[str, Origin]:
    """Each asset's :class:`Origin` (one query for their uploads): the size is the fetched
    input's, else the uploaded file's."""
    upload_ids = [a.upload_id for a in assets if a.upload_id]
    uploads: dict[str, tuple[str | None, int | None]] = {}
    if upload_ids:
        rows = await session.execute(
            select(DirectUpload.id, DirectUpload.filename, DirectUpload.size).where(
                DirectUpload.id.in_(upload_ids)
            )
        )
        uploads = {row.id: (row.filename, row.size) for row in rows}
    found: dict[str, Origin] = {}
    for asset in assets:
        filename, size = uploads.get(asset.upload_id or "", (None, None))
        found[asset.id] = Origin(filename, asset.source_size or size)
    return found


async def published_renditions(session: AsyncSession, asset: Asset) -> list[Rendition]:
    """The renditions of the asset's published version: video rungs from the highest
    bandwidth down, then audio (none before the asset is first ready)."""
    rows = await session.scalars(
        select(Rendition)
        .where(Rendition.asset_id == asset.id, Rendition.version == asset.version)
        .order_by(Rendition.kind.desc(), Rendition.bandwidth.desc(), Rendition.id)
    )
    return list(rows.all())
