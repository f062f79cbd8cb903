"""Playback ids: the public or signed handles players stream an asset by.

Scoped functions take the environment and answer ``NotFound`` for another environment's asset or
id; :func:`resolve_playback` is unscoped, for the streaming surface (there the playback id is the
handle, and a signed one is checked against its token afterwards).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.db.models import Asset, PlaybackId
from reelhouse.errors import InvalidParameters, NotFound
from reelhouse.ids import RandomBytes, is_well_formed, new_id

POLICIES = ("public", "signed")


def playback_id_view(row: PlaybackId) -> dict[str, Any]:
    """``{"id", "policy"}`` as in ``Asset.playback_ids``."""
    return {"id": row.id, "policy": row.policy}


def lookup_view(row: PlaybackId) -> dict[str, Any]:
    """The ``GET /video/v1/playback-ids/{id}`` object."""
    return {"id": row.id, "policy": row.policy, "object": {"type": "asset", "id": row.asset_id}}


async def scoped_asset(
    session: AsyncSession, environment_id: str, asset_id: str, *, for_update: bool = False
) -> Asset:
    """The asset ``asset_id`` of ``environment_id``; anything else is ``NotFound``."""
    if not is_well_formed(asset_id):
        raise NotFound()
    query = select(Asset).where(Asset.environment_id == environment_id, Asset.id == asset_id)
    if for_update:
        query = query.with_for_update()
    asset = await session.scalar(query.execution_options(populate_existing=True))
    if asset is None:
        raise NotFound()
    return asset


async def add_playback_id(
    session: AsyncSession,
    asset: Asset,
    policy: str,
    *,
    now: datetime,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> PlaybackId:
    """A new playback id (160 random bits) of ``policy`` for ``asset``."""
    if policy not in POLICIES:
        raise InvalidParameters(f"policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    row = PlaybackId(
        id=new_id(random_bytes),
        environment_id=asset.environment_id,
        asset_id=asset.id,
        policy=policy,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def create_playback_id(
    session: AsyncSession,
    environment_id: str,
    asset_id: str,
    policy: str,
    *,
    now: datetime,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> PlaybackId:
    """Add a playback id to an asset of ``environment_id``."""
    asset = await scoped_asset(session, environment_id, asset_id)
    return await add_playback_id(session, asset, policy, now=now, random_bytes=random_bytes)


async def get_playback_id(
    session: AsyncSession, environment_id: str, asset_id: str, playback_id: str
) -> PlaybackId:
    """Playback id ``playback_id`` of asset ``asset_id``, else ``NotFound``."""
    if not is_well_formed(playback_id) or not is_well_formed(asset_id):
        raise NotFound()
    row = await session.scalar(
        select(PlaybackId).where(
            PlaybackId.environment_id == environment_id,
            PlaybackId.asset_id == asset_id,
            PlaybackId.id == playback_id,
        )
    )
    if row is None:
        raise NotFound()
    return row


async def delete_playback_id(
    session: AsyncSession, environment_id: str, asset_id: str, playback_id: str
) -> None:
    """Remove playback id ``playback_id`` from asset ``asset_id``; ``NotFound`` if absent."""
    row = await get_playback_id(session, environment_id, asset_id, playback_id)
    await session.execute(delete(PlaybackId).where(PlaybackId.id == row.id))


async def playback_ids_by_asset(
    session: AsyncSession, asset_ids: Sequence[str]
) -> dict[str, list[PlaybackId]]:
    """Each asset's playback ids, oldest first (an asset with none maps to ``[]``)."""
    out: dict[str, list[PlaybackId]] = {asset_id: [] for asset_id in asset_ids}
    if not asset_ids:
        return out
    rows = await session.scalars(
        select(PlaybackId)
        .where(PlaybackId.asset_id.in_(list(asset_ids)))
        .order_by(PlaybackId.created_at, PlaybackId.id)
    )
    for row in rows:
        out[row.asset_id].append(row)
    return out


async def list_playback_ids(
    session: AsyncSession, environment_id: str, asset_id: str
) -> list[PlaybackId]:
    """The playback ids of an asset of ``environment_id``, oldest first."""
    await scoped_asset(session, environment_id, asset_id)
    return (await playback_ids_by_asset(session, [asset_id]))[asset_id]


async def lookup(session: AsyncSession, environment_id: str, playback_id: str) -> PlaybackId:
    """Playback id ``playback_id`` of any asset of ``environment_id``, else ``NotFound``."""
    if not is_well_formed(playback_id):
        raise NotFound()
    row = await session.scalar(
        select(PlaybackId).where(
            PlaybackId.environment_id == environment_id, PlaybackId.id == playback_id
        )
    )
    if row is None:
        raise NotFound()
    return row


async def resolve_playback(
    session: AsyncSession, playback_id: str
) -> tuple[PlaybackId, Asset] | None:
    """The playback id and its asset, in any environment; None when unknown or ill-formed."""
    if not is_well_formed(playback_id):
        return None
    found = (
        await session.execute(
            select(PlaybackId, Asset)
            .join(Asset, Asset.id == PlaybackId.asset_id)
            .where(PlaybackId.id == playback_id)
        )
    ).first()
    if found is None:
        return None
    return found[0], found[1]
