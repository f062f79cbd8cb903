"""``reelhouse webhooks add|list|rm|replay|deliveries`` against a real database."""

from __future__ import annotations

import asyncio
import re

import pytest
from typer.testing import CliRunner

from reelhouse.cli.webhooks import app
from reelhouse.db.engine import create_engine, session_factory
from reelhouse.media.outbox import append_event
from tests.unit.webhooks.conftest import T0


@pytest.fixture
def run(wh_database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REELHOUSE_DATABASE_URL", wh_database_url)
    monkeypatch.setenv("COLUMNS", "300")  # rich tables would truncate ids
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def default_event(url: str) -> str:
    async def go() -> str:
        engine = create_engine(url)
        try:
            async with session_factory(engine).begin() as session:
                event = await append_event(
                    session,
                    environment_id="default",
                    type="video.asset.ready",
                    object_type="asset",
                    object_id="cli-asset",
                    data={},
                    now=T0,
                )
                return str(event.id)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_webhooks_commands(run, wh_database_url: str) -> None:  # type: ignore[no-untyped-def]
    added = run("add", "http://127.0.0.1:9/hook")  # the operator may name loopback targets
    match = re.search(r"Added (\w+) -> http://127.0.0.1:9/hook", added)
    assert match and "Signing secret (shown once): " in added
    webhook_id = match.group(1)
    assert webhook_id in run("list")

    event_id = default_event(wh_database_url)
    assert "Queued 1 new deliveries" in run("replay", event_id)
    assert '"status": "pending"' in run("deliveries", webhook_id, "--json")
    assert "cli-asset" in run("deliveries", webhook_id)

    assert f"Removed {webhook_id}." in run("rm", webhook_id)
    assert webhook_id not in run("list")
