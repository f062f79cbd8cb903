"""A view's row, folded from its beacons.

:func:`apply_events` is the pure core: a :class:`ViewState` and some events in, the next state
out. Events are applied in ``seq`` order and an event whose ``seq`` is not above the state's
``last_seq`` is skipped, so a replayed batch (a retry, a duplicate ``sendBeacon``) changes
nothing. Players send a view's batches one after another; a batch that arrives after a later
one was applied is skipped the same way.

:func:`record_batch` is the SQL shell: it inserts the view on its first beacon (upsert by
``view_id``), locks the row, folds the batch into it and writes it back, in the caller's
transaction, so two batches of one view racing on two web nodes apply one after the other.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.analytics import beacons
from reelhouse.db.models import PlaybackId, View


@dataclass(frozen=True)
class ViewState:
    """What the beacons have said so far (the mutable columns of ``views``)."""

    first_frame_ms: int | None = None
    watch_seconds: float = 0.0
    rebuffer_count: int = 0
    rebuffer_seconds: float = 0.0
    rebuffering_since_ms: int | None = None
    errored: bool = False
    error_code: str | None = None
    exited_before_start: bool = False
    ended: bool = False
    last_seq: int = -1


@dataclass(frozen=True)
class Target:
    """What a playback id plays: where its views are filed."""

    environment_id: str
    asset_id: str
    playback_id: str


@dataclass(frozen=True)
class Viewer:
    """Who sent the beacons, already pseudonymous (see :mod:`.viewers`)."""

    viewer_hash: str
    ua_family: str
    player: str | None


class ViewConflict(Exception):
    """The view id is already a view of another playback id."""


def apply_events(state: ViewState, events: Iterable[beacons.Event]) -> ViewState:
    """``state`` after ``events`` (replays and events older than ``last_seq`` skipped)."""
    for event in sorted(events, key=lambda item: item.seq):
        if event.seq <= state.last_seq:
            continue
        state = replace(_apply(state, event), last_seq=event.seq)
    return state


def _apply(state: ViewState, event: beacons.Event) -> ViewState:
    match event:
        case beacons.FirstFrame() if state.first_frame_ms is None:
            return replace(state, first_frame_ms=event.elapsed_ms)
        case beacons.Heartbeat():
            return replace(state, watch_seconds=state.watch_seconds + event.watched_seconds)
        case beacons.RebufferStart() if state.rebuffering_since_ms is None:
            return replace(
                state,
                rebuffering_since_ms=event.elapsed_ms,
                rebuffer_count=state.rebuffer_count + 1,
            )
        case beacons.RebufferEnd():
            return _close_rebuffer(state, event.elapsed_ms)
        case beacons.Error() if not state.errored:
            return replace(state, errored=True, error_code=event.code or "unknown")
        case beacons.Ended():
            closed = _close_rebuffer(state, event.elapsed_ms)
            before_start = closed.first_frame_ms is None and not closed.errored
            return replace(closed, ended=True, exited_before_start=before_start)
    return state


def _close_rebuffer(state: ViewState, elapsed_ms: int) -> ViewState:
    if state.rebuffering_since_ms is None:
        return state
    seconds = max(0, elapsed_ms - state.rebuffering_since_ms) / 1000
    return replace(
        state, rebuffer_seconds=state.rebuffer_seconds + seconds, rebuffering_since_ms=None
    )


async def find_target(session: AsyncSession, playback_id: str) -> Target | None:
    """The :class:`Target` of ``playback_id``, or None when no such playback id exists."""
    row = (
        await session.execute(
            select(PlaybackId.environment_id, PlaybackId.asset_id).where(
                PlaybackId.id == playback_id
            )
        )
    ).first()
    return None if row is None else Target(row[0], row[1], playback_id)


async def record_batch(
    session: AsyncSession,
    batch: beacons.Batch,
    target: Target,
    viewer: Viewer,
    *,
    now: datetime,
) -> int:
    """Fold ``batch`` into its view row; returns how many of its events were new. Raises
    :class:`ViewConflict` when ``batch.view_id`` is a view of another playback id."""
    await session.execute(
        insert(View)
        .values(
            id=batch.view_id,
            environment_id=target.environment_id,
            asset_id=target.asset_id,
            playback_id=target.playback_id,
            viewer_hash=viewer.viewer_hash,
            started_at=now,
            last_beacon_at=now,
            player_name=viewer.player,
            ua_family=viewer.ua_family,
        )
        .on_conflict_do_nothing(index_elements=[View.id])
    )
    row = await _locked(session, batch.view_id)
    if row.playback_id != target.playback_id:
        raise ViewConflict(str(batch.view_id))
    before = _state(row)
    after = apply_events(before, batch.events)
    new = sum(1 for event in batch.events if event.seq > before.last_seq)
    for name, value in vars(after).items():
        setattr(row, name, value)
    row.last_beacon_at = max(row.last_beacon_at, now)
    await session.flush()
    return new


async def _locked(session: AsyncSession, view_id: uuid.UUID) -> View:
    query = select(View).where(View.id == view_id).with_for_update()
    return (await session.execute(query)).scalar_one()


def _state(row: View) -> ViewState:
    return ViewState(**{column.name: getattr(row, column.name) for column in fields(ViewState)})
