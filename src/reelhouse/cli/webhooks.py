"""``reelhouse webhooks add|list|rm|replay|deliveries``: webhook endpoints of the default
environment, from the operator's shell (so private and loopback URLs are allowed here)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# The database, the server runtime and the outbound HTTP guard load inside each command, so the
# CLI (and a server process started through it) does not pay for them at import.

app = typer.Typer(help="Manage webhook endpoints.", no_args_is_help=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir")]


def _now() -> datetime:
    return datetime.now(UTC)


@app.command()
def add(
    url: str,
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Add an endpoint; its signing secret is printed once."""
    from reelhouse.cli.runtime import in_default_environment
    from reelhouse.outbound import Policy
    from reelhouse.webhooks import endpoints

    # The operator types these URLs; the guard still refuses metadata and reserved addresses.
    operator_policy = Policy(allow_private=True)

    async def work(session: AsyncSession, environment_id: str) -> dict[str, Any]:
        checked = await endpoints.validate_url(url, operator_policy)
        row = await endpoints.create_endpoint(
            session, environment_id, checked, now=_now(), enabled=not disabled
        )
        return endpoints.endpoint_view(row, with_secret=True)

    view = in_default_environment(data_dir, work)
    typer.echo(f"Added {view['id']} -> {view['url']}")
    typer.echo(f"Signing secret (shown once): {view['signing_secret']}")


@app.command("list")
def list_(data_dir: DataDir = None) -> None:
    """List endpoints (never their secrets)."""
    from reelhouse.cli.runtime import in_default_environment
    from reelhouse.webhooks import endpoints

    async def work(session: AsyncSession, environment_id: str) -> list[dict[str, Any]]:
        rows = await endpoints.list_endpoints(session, environment_id)
        return [endpoints.endpoint_view(row) for row in rows]

    table = Table("id", "url", "enabled", "operator", "created")
    for view in in_default_environment(data_dir, work):
        table.add_row(
            view["id"],
            view["url"],
            "yes" if view["enabled"] else "no",
            "yes" if view["operator_trusted"] else "",
            view["created_at"][:19],
        )
    Console().print(table)


@app.command()
def rm(webhook_id: str, data_dir: DataDir = None) -> None:
    """Remove an endpoint and its delivery log."""
    from reelhouse.cli.runtime import in_default_environment
    from reelhouse.webhooks import endpoints

    async def work(session: AsyncSession, environment_id: str) -> None:
        await endpoints.delete_endpoint(session, environment_id, webhook_id)

    in_default_environment(data_dir, work)
    typer.echo(f"Removed {webhook_id}.")


@app.command()
def replay(event_id: str, data_dir: DataDir = None) -> None:
    """Send an event again to every enabled endpoint."""
    from reelhouse.cli.runtime import in_default_environment
    from reelhouse.webhooks import endpoints
    from reelhouse.webhooks.dispatch import replay_event

    async def work(session: AsyncSession, environment_id: str) -> int:
        parsed = endpoints.parse_event_id(event_id)
        return len(await replay_event(session, environment_id, parsed, now=_now()))

    count = in_default_environment(data_dir, work)
    typer.echo(f"Queued {count} new deliveries of {event_id}.")


@app.command()
def deliveries(
    webhook_id: str,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 25,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON with every attempt.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Show an endpoint's recent deliveries, newest first."""
    from reelhouse.cli.runtime import in_default_environment
    from reelhouse.webhooks import endpoints

    async def work(session: AsyncSession, environment_id: str) -> list[dict[str, Any]]:
        records = await endpoints.list_deliveries(session, environment_id, webhook_id, limit)
        return [endpoints.delivery_view(record) for record in records]

    views = in_default_environment(data_dir, work)
    if as_json:
        typer.echo(json.dumps(views, indent=2))
        return
    table = Table("event", "type", "object", "status", "attempts", "last code", "last error")
    for view in views:
        table.add_row(
            view["event_id"],
            view["type"],
            f"{view['object']['type']} {view['object']['id']}",
            view["status"],
            str(view["attempt_count"]),
            str(view["last_status_code"] or ""),
            view["last_error"] or "",
        )
    Console().print(table)
