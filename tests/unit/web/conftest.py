"""Fixtures of the dashboard page tests: a clock, a client of the dashboard with its system
pages (as the server mounts it), a signed-in board with an object store and a published
asset. A module that tests another composition overrides ``client`` or ``board``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from reelhouse.db.models import Asset

from .asset_board import START, Board, board_client, publish, uploaded_asset
from .dashboard_app import Clock, Sessions, dashboard_client, dashboard_deps


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(sessions: Sessions, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-out client of the dashboard with its operations, token and webhook pages."""
    async with dashboard_client(dashboard_deps(sessions, clock), system_pages=True) as http:
        yield http


@pytest.fixture
async def board(sessions: Sessions, environment_id: str, tmp_path: Path) -> AsyncIterator[Board]:
    """A board signed in with video:read and video:write."""
    async with board_client(sessions, environment_id, tmp_path) as made:
        await made.sign_in()
        yield made


@pytest.fixture
async def ready(sessions: Sessions, environment_id: str) -> Asset:
    """A ready asset uploaded as ``Launch Talk.mov``, with renditions."""
    asset = await uploaded_asset(sessions, environment_id, "Launch Talk.mov", at=START)
    await publish(sessions, asset.id)
    return asset
