"""The operations page in-process: who may see it, the empty state of a new environment, and
the figures and failures it prints for seeded uploads, assets and text tracks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx

from reelhouse.db.models import Asset, DirectUpload, TextTrack
from reelhouse.ids import new_id
from reelhouse.media.operations_stats import Figures
from reelhouse.web.operations import figures_row, percent

from .dashboard_app import START, Sessions, assert_needs_system_read, make_token, sign_in

READER = ["system:read"]


def asset(env: str, status: str, minutes_ago: int, **fields: Any) -> Asset:
    created = START - timedelta(minutes=minutes_ago)
    return Asset(
        id=new_id(),
        environment_id=env,
        status=status,
        ingest_type="on_demand_direct_upload",
        created_at=created,
        updated_at=created,
        **fields,
    )


def upload(env: str, status: str, created: datetime, **fields: Any) -> DirectUpload:
    """A direct upload of an hour's timeout, created at ``created``."""
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


def day_row(page: str, label: str) -> str:
    found = re.search(rf'<tr class="rh-day[^"]*"\s+data-day="{label}">.*?</tr>', page, re.S)
    assert found, page
    return found.group(0)


def cell(row: str, name: str) -> str:
    found = re.search(rf'class="{name}">([^<]*)<', row)
    assert found, row
    return found.group(1).strip()


def test_percent_and_row() -> None:
    assert percent(None) == "—"
    assert percent(0.9565) == "95.7 %"
    row = figures_row("x", Figures())
    assert (row["success"], row["processing"], row["meets_target"]) == ("—", "—", None)


async def test_signed_out_and_unpermitted_sessions_are_turned_away(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    await assert_needs_system_read(client, sessions, environment_id, "/operations")


async def test_a_new_environment_sees_what_to_do_first(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    await sign_in(client, await make_token(sessions, environment_id, READER))
    page = await client.get("/operations")
    assert page.status_code == 200
    assert 'id="empty-operations"' in page.text
    assert 'href="/upload"' in page.text
    assert 'id="no-failures"' in page.text
    assert 'id="processing"' not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "style=" not in page.text
    assert "<script>" not in page.text


async def test_figures_and_failures_of_seeded_rows(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    env = environment_id
    errored = asset(
        env,
        "errored",
        30,
        errors={"type": "invalid_input", "messages": ["duration 5:02:10 exceeds 4:00:00"]},
    )
    created = START - timedelta(hours=1)
    async with sessions.begin() as session:
        session.add_all(
            [
                upload(env, "asset_created", created, completed_at=created + timedelta(minutes=1)),
                # Two minutes of processing for a one-minute video: 120 minutes per hour.
                asset(env, "ready", 50, ready_at=START - timedelta(minutes=48), duration=60.0),
                errored,
                *[
                    asset(env, "ready", 60 * 24 * 2, ready_at=START - timedelta(days=2))
                    for _ in range(19)
                ],
                asset(env, "errored", 60 * 24 * 2),
            ]
        )
    await sign_in(client, await make_token(sessions, env, READER))
    page = (await client.get("/operations")).text
    assert 'id="empty-operations"' not in page

    today = day_row(page, "2026-01-07")
    assert "rh-below" in today
    assert (cell(today, "rh-n-created"), cell(today, "rh-n-completed")) == ("1", "1")
    assert (cell(today, "rh-n-ready"), cell(today, "rh-n-errored")) == ("1", "1")
    assert cell(today, "rh-rate") == "50.0 %"
    assert "below the 95.0 % target" in today
    assert 'low="95"' in today and 'value="50.0"' in today
    assert cell(today, "rh-processing") == "120.0"

    two_days_ago = day_row(page, "2026-01-05")
    assert cell(two_days_ago, "rh-rate") == "95.0 %"
    assert "meets the target" in two_days_ago
    assert "rh-below" not in two_days_ago
    assert cell(two_days_ago, "rh-processing") == "—"
    assert cell(day_row(page, "2026-01-06"), "rh-rate") == "—"

    total = day_row(page, "Last 7 days")
    assert (cell(total, "rh-n-ready"), cell(total, "rh-n-errored")) == ("20", "2")
    assert cell(total, "rh-rate") == "90.9 %"
    assert len(re.findall(r'<tr class="rh-day', page)) == 8

    failures = re.findall(r'<tr class="rh-failure".*?</tr>', page, re.S)
    assert len(failures) == 2
    assert f'href="/assets/{errored.id}"' in failures[0]
    assert "duration 5:02:10 exceeds 4:00:00" in failures[0]
    assert "<code>invalid_input</code>" in failures[0]

    longer = (await client.get("/operations?days=30")).text
    assert len(re.findall(r'<tr class="rh-day', longer)) == 31
    assert "Last 30 days" in longer


async def test_timed_out_uploads_and_errored_text_tracks_are_failures(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    env = environment_id
    video = asset(env, "ready", 90, ready_at=START - timedelta(minutes=80))
    created = START - timedelta(hours=3)
    expired = created + timedelta(hours=1)
    timed_out = upload(env, "timed_out", created, updated_at=expired)
    cancelled = upload(env, "cancelled", created, updated_at=expired)
    async with sessions.begin() as session:
        session.add_all([video, timed_out, cancelled])
    captions = TextTrack(
        id=new_id(),
        environment_id=env,
        asset_id=video.id,
        status="errored",
        language_code="de",
        name="Deutsch <CC>",
        url="upload:de.srt",
        error={"type": "invalid_input", "messages": ["line 3: no cue timing"]},
        created_at=START - timedelta(minutes=10),
        updated_at=START - timedelta(minutes=9),
    )
    async with sessions.begin() as session:
        session.add(captions)
    await sign_in(client, await make_token(sessions, env, READER))
    page = (await client.get("/operations")).text
    failures = re.findall(r'<tr class="rh-failure".*?</tr>', page, re.S)
    assert len(failures) == 2
    track_row, upload_row = failures
    assert f'data-kind="text_track" data-id="{captions.id}"' in track_row
    assert "Text track “Deutsch &lt;CC&gt; (de)”" in track_row
    assert f'href="/assets/{video.id}"' in track_row
    assert "line 3: no cue timing" in track_row
    assert "<code>invalid_input</code>" in track_row
    assert f'data-kind="upload" data-id="{timed_out.id}"' in upload_row
    assert "<code>timed_out</code>" in upload_row
    assert "within the upload&#39;s 3600 s timeout" in upload_row
    assert cancelled.id not in page
