"""``POST /beacon``: refusals with clear errors, a full view folded into one row, replays,
the per-IP rate limit, and unique viewers without any raw IP in the database."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from reelhouse.analytics.intake import BeaconLimiter, IntakeDeps, beacon_routes
from reelhouse.analytics.rollups import recompute_day
from reelhouse.db.models import Asset, DailyRollup, PlaybackId, View

URL = "http://reelhouse.test/beacon"
IP = "203.0.113.77"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


@dataclass(frozen=True)
class Played:
    environment_id: str
    asset_id: str
    playback_id: str


@pytest.fixture
async def played(sessions: async_sessionmaker[AsyncSession], environment_id: str) -> Played:
    now = datetime.now(UTC)
    asset_id, playback_id = f"as_{secrets.token_hex(6)}", f"pb_{secrets.token_hex(6)}"
    async with sessions.begin() as s:
        s.add(
            Asset(
                id=asset_id,
                environment_id=environment_id,
                status="ready",
                ingest_type="on_demand_direct_upload",
                inputs=[],
                settings={},
                tracks=[],
                created_at=now,
                updated_at=now,
            )
        )
        await s.flush()
        s.add(
            PlaybackId(
                id=playback_id,
                environment_id=environment_id,
                asset_id=asset_id,
                policy="public",
                created_at=now,
            )
        )
    return Played(environment_id, asset_id, playback_id)


def client_for(
    sessions: async_sessionmaker[AsyncSession], limiter: BeaconLimiter, ip: str = IP
) -> httpx.AsyncClient:
    deps = IntakeDeps(sessions, lambda: datetime.now(UTC), b"test-salt", limiter)
    app = Starlette(routes=beacon_routes(deps))
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, headers={"User-Agent": CHROME})


@pytest.fixture
async def client(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(sessions, BeaconLimiter("1000/minute")) as client:
        yield client


def batch(playback_id: str, view_id: uuid.UUID, *events: dict[str, Any]) -> dict[str, Any]:
    return {"view_id": str(view_id), "playback_id": playback_id, "events": list(events)}


def ev(type_: str, seq: int, elapsed_ms: int, **more: Any) -> dict[str, Any]:
    return {"type": type_, "seq": seq, "elapsed_ms": elapsed_ms, **more}


FULL_VIEW = [
    [ev("viewstart", 0, 0), ev("firstframe", 1, 800)],
    [ev("heartbeat", 2, 10_000, watched_seconds=10.0, playhead=9.2)],
    [
        ev("rebufferstart", 3, 11_000),
        ev("rebufferend", 4, 13_000),
        ev("heartbeat", 5, 20_000, watched_seconds=10.0, playhead=17.0),
    ],
    [ev("heartbeat", 6, 40_000, watched_seconds=20.0), ev("ended", 7, 40_500)],
]


async def view_row(sessions: async_sessionmaker[AsyncSession], view_id: uuid.UUID) -> View:
    async with sessions() as s:
        return (await s.execute(select(View).where(View.id == view_id))).scalar_one()


async def test_preflight_allows_any_origin(client: httpx.AsyncClient) -> None:
    r = await client.options(
        URL, headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "Content-Type" in r.headers["access-control-allow-headers"]


@pytest.mark.parametrize(
    ("content", "headers", "status", "kind", "message"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400, "invalid_parameters", "JSON"),
        (b"x" * 9216, {"Content-Type": "application/json"}, 413, "too_large", "8192"),
        (b"{}", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported", "json"),
        (b"{}", {}, 415, "unsupported_media_type", "application/json"),
        (b"[1]", {"Content-Type": "application/json"}, 400, "invalid_parameters", "object"),
    ],
)
async def test_refusals(
    client: httpx.AsyncClient,
    content: bytes,
    headers: dict[str, str],
    status: int,
    kind: str,
    message: str,
) -> None:
    r = await client.post(URL, content=content, headers=headers)
    assert r.status_code == status
    assert r.headers["access-control-allow-origin"] == "*"
    body = r.json()["error"]
    assert body["type"].startswith(kind)
    assert message in " ".join(body["messages"])


async def test_an_oversized_body_without_length_is_cut_off(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(9):
            yield b" " * 1024

    r = await client.post(URL, content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


async def test_unknown_playback_id_and_event_type(
    client: httpx.AsyncClient, played: Played
) -> None:
    r = await client.post(URL, json=batch("pb_nope", uuid.uuid4(), ev("viewstart", 0, 0)))
    assert r.status_code == 404
    assert "pb_nope" in r.json()["error"]["messages"][0]
    r = await client.post(URL, json=batch(played.playback_id, uuid.uuid4(), ev("pause", 0, 0)))
    assert r.status_code == 400
    assert "unknown event type 'pause'" in r.json()["error"]["messages"][0]


async def test_a_full_view_makes_one_row_and_replays_do_not_count(
    client: httpx.AsyncClient, played: Played, sessions: async_sessionmaker[AsyncSession]
) -> None:
    view_id = uuid.uuid4()
    for events in FULL_VIEW:
        r = await client.post(URL, json=batch(played.playback_id, view_id, *events))
        assert r.status_code == 202, r.text
        assert r.json()["data"] == {"view_id": str(view_id), "accepted": len(events)}
    first = await view_row(sessions, view_id)
    for events in FULL_VIEW:  # every batch sent again
        r = await client.post(URL, json=batch(played.playback_id, view_id, *events))
        assert r.status_code == 202 and r.json()["data"]["accepted"] == 0
    row = await view_row(sessions, view_id)
    assert (row.environment_id, row.asset_id) == (played.environment_id, played.asset_id)
    assert row.first_frame_ms == 800
    assert row.watch_seconds == 40.0
    assert (row.rebuffer_count, row.rebuffer_seconds) == (1, 2.0)
    assert row.ended and not row.errored and not row.exited_before_start
    assert row.ua_family == "Chrome"
    assert (row.watch_seconds, row.rebuffer_seconds) == (first.watch_seconds, 2.0)
    async with sessions.begin() as s:
        await recompute_day(s, row.started_at.date(), now=datetime.now(UTC))
    async with sessions() as s:
        rollup = (
            await s.execute(
                select(DailyRollup).where(
                    DailyRollup.environment_id == played.environment_id,
                    DailyRollup.asset_id == played.asset_id,
                )
            )
        ).scalar_one()
    assert rollup.views == 1 and rollup.startup_p50_ms == 800
    assert rollup.rebuffer_percentage == pytest.approx(0.05)  # 2 s of 40 s


async def test_sendbeacon_text_plain_is_accepted(client: httpx.AsyncClient, played: Played) -> None:
    body = json.dumps(batch(played.playback_id, uuid.uuid4(), ev("viewstart", 0, 0)))
    r = await client.post(URL, content=body, headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert r.status_code == 202


async def test_a_view_id_of_another_playback_id_conflicts(
    client: httpx.AsyncClient,
    played: Played,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    view_id = uuid.uuid4()
    await client.post(URL, json=batch(played.playback_id, view_id, ev("viewstart", 0, 0)))
    async with sessions.begin() as s:
        s.add(
            PlaybackId(
                id="pb_" + secrets.token_hex(6),
                environment_id=played.environment_id,
                asset_id=played.asset_id,
                policy="public",
                created_at=datetime.now(UTC),
            )
        )
        other = (
            await s.execute(
                select(PlaybackId.id).where(
                    PlaybackId.asset_id == played.asset_id, PlaybackId.id != played.playback_id
                )
            )
        ).scalar_one()
    r = await client.post(URL, json=batch(other, view_id, ev("firstframe", 1, 10)))
    assert r.status_code == 409


async def test_rate_limit_per_ip(
    sessions: async_sessionmaker[AsyncSession], played: Played
) -> None:
    limiter = BeaconLimiter("3/minute")
    doc = batch(played.playback_id, uuid.uuid4(), ev("viewstart", 0, 0))
    async with (
        client_for(sessions, limiter) as one,
        client_for(sessions, limiter, "1.2.3.4") as two,
    ):
        assert [(await one.post(URL, json=doc)).status_code for _ in range(3)] == [202] * 3
        refused = await one.post(URL, json=doc)
        assert refused.status_code == 429
        assert refused.json()["error"]["type"] == "too_many_requests"
        assert refused.headers["retry-after"] == "60"
        assert (
            await one.post(URL, content=b"{", headers={"Content-Type": "a/b"})
        ).status_code == 429
        assert (await two.post(URL, json=doc)).status_code == 202


async def test_unique_viewers_by_salted_hash_and_no_raw_ip_stored(
    sessions: async_sessionmaker[AsyncSession], played: Played, client: httpx.AsyncClient
) -> None:
    firefox = {"User-Agent": "Mozilla/5.0 (X11; rv:133.0) Gecko/20100101 Firefox/133.0"}
    views = [uuid.uuid4() for _ in range(3)]
    for view_id, headers in zip(views, [{}, {}, firefox], strict=True):
        doc = batch(played.playback_id, view_id, ev("viewstart", 0, 0))
        assert (await client.post(URL, json=doc, headers=headers)).status_code == 202
    rows = [await view_row(sessions, view_id) for view_id in views]
    assert rows[0].viewer_hash == rows[1].viewer_hash != rows[2].viewer_hash
    for row in rows:
        for column in View.__table__.columns:
            assert IP not in str(getattr(row, column.key))
    async with sessions.begin() as s:
        await recompute_day(s, rows[0].started_at.date(), now=datetime.now(UTC))
    async with sessions() as s:
        rollups = (
            await s.execute(
                select(DailyRollup).where(DailyRollup.environment_id == played.environment_id)
            )
        ).scalars()
        for rollup in rollups:
            assert (rollup.views, rollup.unique_viewers) == (3, 2)
            assert IP not in repr(vars(rollup))
