"""Operations figures: per-UTC-day uploads and processing from seeded rows in PostgreSQL, the
success rate against the target, processing minutes per hour of video, and recent failures
(errored videos, errored or timed-out uploads, errored text tracks)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reelhouse.db.models import Asset, DirectUpload, Environment, TextTrack
from reelhouse.ids import new_id
from reelhouse.media.operations_stats import (
    Figures,
    overview_of,
    processing_overview,
    recent_failures,
    upload_failure,
    window_days,
)

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def upload(env: str, created: datetime, status: str = "asset_created", **fields: Any) -> Any:
    return DirectUpload(
        id=new_id(),
        environment_id=env,
        status=status,
        timeout=3600,
        new_asset_settings={},
        test=False,
        created_at=created,
        updated_at=fields.pop("updated_at", created),
        expires_at=created + timedelta(hours=1),
        via="api",
        **fields,
    )


def asset(env: str, created: datetime, status: str, **fields: Any) -> Any:
    return Asset(
        id=new_id(),
        environment_id=env,
        status=status,
        ingest_type="on_demand_direct_upload",
        created_at=created,
        updated_at=fields.pop("updated_at", created),
        **fields,
    )


def track(asset_row: Asset, status: str, updated: datetime, **fields: Any) -> TextTrack:
    return TextTrack(
        id=new_id(),
        environment_id=asset_row.environment_id,
        asset_id=asset_row.id,
        status=status,
        language_code=fields.pop("language_code", "en"),
        name=fields.pop("name", "English"),
        url="upload:captions.srt",
        created_at=updated - timedelta(minutes=1),
        updated_at=updated,
        **fields,
    )


async def seed(sessions: Sessions, *rows: Any) -> None:
    async with sessions.begin() as session:
        session.add_all(rows)


@pytest.fixture
async def other_env(sessions: Sessions) -> str:
    env = f"env_{new_id()[:16]}"
    async with sessions.begin() as session:
        session.add(Environment(id=env, name=env, created_at=NOW))
    return env


def test_window_days_end_today_in_utc() -> None:
    evening_east = datetime(2026, 3, 11, 1, 0, tzinfo=timezone(timedelta(hours=3)))
    assert window_days(evening_east, 3) == [date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10)]


def test_figures_rates() -> None:
    assert Figures().success_rate is None
    assert Figures().meets_target is None
    assert Figures().processing_minutes_per_video_hour is None
    assert Figures().empty
    exactly = Figures(assets_created=20, assets_ready=19, assets_errored=1)
    assert exactly.success_rate == pytest.approx(0.95)
    assert exactly.meets_target is True
    under = Figures(assets_created=100, assets_ready=94, assets_errored=6)
    assert under.meets_target is False
    half_hour = Figures(processing_seconds=90, video_seconds=1800)
    assert half_hour.processing_minutes_per_video_hour == pytest.approx(3.0)
    both = exactly + under
    assert (both.assets_created, both.assets_ready, both.assets_errored) == (120, 113, 7)
    assert both.assets_preparing == 0


def test_overview_fills_missing_days_and_drops_outside_ones() -> None:
    days = [date(2026, 3, 9), date(2026, 3, 10)]
    overview = overview_of(
        days,
        [
            (date(2026, 3, 10), Figures(uploads_created=2)),
            (date(2026, 3, 10), Figures(uploads_completed=1)),
            (date(2026, 3, 1), Figures(uploads_created=50)),
        ],
    )
    assert [d.day for d in overview.days] == days
    assert overview.days[0].figures == Figures()
    assert overview.days[1].figures == Figures(uploads_created=2, uploads_completed=1)
    assert overview.total == Figures(uploads_created=2, uploads_completed=1)


async def test_overview_counts_seeded_rows(
    sessions: Sessions, environment_id: str, other_env: str
) -> None:
    env = environment_id
    # 23:30 UTC on the 9th, written in UTC+2: it belongs to the 9th.
    late = datetime(2026, 3, 10, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    await seed(
        sessions,
        upload(env, at(10, 10), completed_at=at(10, 10, 5)),
        upload(env, late, completed_at=at(10, 0, 10)),
        upload(env, at(10, 11), "errored", error={"type": "invalid", "message": "bad file"}),
        upload(env, at(1, 9), completed_at=at(1, 9, 1)),  # before the window
        upload(other_env, at(10, 9), completed_at=at(10, 9, 1)),
        asset(env, at(10, 10, 5), "ready", ready_at=at(10, 10, 8), duration=60.0),
        asset(env, at(10, 10), "ready", ready_at=at(10, 10, 1), duration=120.0),
        asset(env, at(10, 10, 20), "errored", errors={"type": "invalid_input", "messages": ["x"]}),
        asset(env, at(10, 12), "preparing"),
        *[asset(env, at(8, 9), "ready", ready_at=at(8, 9, 5)) for _ in range(20)],
        asset(other_env, at(10, 9), "errored"),
    )
    async with sessions() as session:
        overview = await processing_overview(session, env, now=NOW)

    assert [d.day for d in overview.days] == [date(2026, 3, d) for d in range(4, 11)]
    by_day = {d.day.day: d.figures for d in overview.days}
    today = by_day[10]
    assert (today.uploads_created, today.uploads_completed, today.uploads_failed) == (2, 2, 1)
    assert (today.assets_created, today.assets_ready, today.assets_errored) == (4, 2, 1)
    assert today.assets_preparing == 1
    assert today.success_rate == pytest.approx(2 / 3)
    assert today.meets_target is False
    # 3 + 1 minutes of processing for 3 minutes of video: 80 minutes per hour.
    assert today.processing_minutes_per_video_hour == pytest.approx(80.0)
    assert (by_day[9].uploads_created, by_day[9].uploads_completed) == (1, 0)
    eighth = by_day[8]
    assert (eighth.assets_ready, eighth.success_rate, eighth.meets_target) == (20, 1.0, True)
    assert eighth.processing_minutes_per_video_hour is None  # no durations known
    assert all(by_day[d] == Figures() for d in (4, 5, 6, 7))
    total = overview.total
    assert (total.uploads_created, total.uploads_completed, total.assets_created) == (3, 2, 24)
    assert total.success_rate == pytest.approx(22 / 23)
    assert total.meets_target is True


async def test_overview_of_an_environment_without_rows_is_empty(
    sessions: Sessions, environment_id: str
) -> None:
    async with sessions() as session:
        overview = await processing_overview(session, environment_id, now=NOW, days=3)
    assert len(overview.days) == 3
    assert overview.total.empty
    assert overview.total.success_rate is None


async def test_recent_failures_newest_first_with_messages(
    sessions: Sessions, environment_id: str, other_env: str
) -> None:
    env = environment_id
    errored_asset = asset(
        env,
        at(10, 10, 20),
        "errored",
        updated_at=at(10, 10, 21),
        errors={"type": "invalid_input", "messages": ["duration 5:02:10 exceeds 4:00:00"]},
    )
    errored_upload = upload(
        env,
        at(10, 11),
        "errored",
        updated_at=at(10, 11, 2),
        error={"type": "invalid_upload", "message": "the file ended early"},
    )
    old = asset(env, at(1, 1), "errored", errors={"type": "x", "messages": []})
    timed_out = upload(env, at(10, 8), "timed_out", updated_at=at(10, 9))
    await seed(
        sessions,
        errored_asset,
        errored_upload,
        old,
        timed_out,
        asset(env, at(10, 9), "ready", ready_at=at(10, 9, 1)),
        # A cancelled upload was the user's choice, not a failure.
        upload(env, at(10, 9), "cancelled", updated_at=at(10, 12)),
        upload(other_env, at(10, 9), "timed_out", updated_at=at(10, 12)),
        asset(other_env, at(10, 12), "errored", errors={"type": "y", "messages": ["no"]}),
    )
    async with sessions() as session:
        failures = await recent_failures(session, env)
        first_two = await recent_failures(session, env, limit=2)

    assert [(f.kind, f.id) for f in failures] == [
        ("upload", errored_upload.id),
        ("asset", errored_asset.id),
        ("upload", timed_out.id),
        ("asset", old.id),
    ]
    assert failures[0].messages == ("the file ended early",)
    assert failures[0].error_type == "invalid_upload"
    assert failures[1].messages == ("duration 5:02:10 exceeds 4:00:00",)
    assert failures[1].at == at(10, 10, 21)
    assert failures[2].error_type == "timed_out"
    assert failures[2].messages == (
        "the file did not finish arriving within the upload's 3600 s timeout",
    )
    assert (failures[2].at, failures[2].asset_id) == (at(10, 9), None)
    assert failures[3].messages == ()
    assert [f.id for f in first_two] == [errored_upload.id, errored_asset.id]


def test_upload_failure_of_an_errored_upload_without_a_message() -> None:
    bare = upload("env", at(10, 9), "errored", error=None)
    failure = upload_failure(bare)
    assert (failure.kind, failure.error_type, failure.messages) == ("upload", "unknown", ())


async def test_errored_text_tracks_with_their_video(
    sessions: Sessions, environment_id: str, other_env: str
) -> None:
    video = asset(environment_id, at(10, 9), "ready", ready_at=at(10, 9, 5))
    theirs = asset(other_env, at(10, 9), "ready", ready_at=at(10, 9, 5))
    bad = track(
        video,
        "errored",
        at(10, 11),
        name="Français",
        language_code="fr",
        error={"type": "invalid_input", "messages": ["line 12: the cue ends before it starts"]},
    )
    await seed(sessions, video, theirs)
    await seed(
        sessions,
        bad,
        track(video, "ready", at(10, 12)),
        track(video, "preparing", at(10, 12)),
        track(theirs, "errored", at(10, 12), error={"type": "x", "messages": ["no"]}),
    )
    async with sessions() as session:
        failures = await recent_failures(session, environment_id)
    assert len(failures) == 1
    failure = failures[0]
    assert (failure.kind, failure.id, failure.asset_id) == ("text_track", bad.id, video.id)
    assert failure.label == "Français (fr)"
    assert failure.error_type == "invalid_input"
    assert failure.messages == ("line 12: the cue ends before it starts",)
    assert failure.at == at(10, 11)


async def test_failures_are_bounded_in_all_with_one_query_per_kind(
    sessions: Sessions, environment_id: str, engine: AsyncEngine
) -> None:
    env = environment_id
    video = asset(env, at(9, 1), "ready", ready_at=at(9, 2))
    assets = [asset(env, at(10, 1), "errored", updated_at=at(10, 1, m)) for m in range(4)]
    uploads = [upload(env, at(10, 2), "timed_out", updated_at=at(10, 2, m)) for m in range(4)]
    await seed(sessions, video, *assets, *uploads)
    tracks = [track(video, "errored", at(10, 3, m)) for m in range(4)]
    await seed(sessions, *tracks)

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with sessions() as session:
            failures = await recent_failures(session, env, limit=5)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 3
    assert [f.id for f in failures] == [t.id for t in tracks[::-1]] + [uploads[-1].id]
