"""``reelhouse tokens create|list|revoke``: access tokens for the API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from reelhouse.config import Settings, load_settings
from reelhouse.db.engine import create_engine, session_factory
from reelhouse.logs import configure_logging
from reelhouse.media import tokens as token_cases
from reelhouse.media.environments import ensure_default_environment

app = typer.Typer(help="Manage API access tokens.", no_args_is_help=True)
ALL_PERMISSIONS = ["video:read", "video:write", "system:read", "system:write", "data:read"]


def _run(settings: Settings, work: str, *args: object) -> object:
    from reelhouse.server.runtime import database, prepare

    async def go(url: str) -> object:
        await prepare(settings, url)
        engine = create_engine(url)
        try:
            async with session_factory(engine).begin() as session:
                env = await ensure_default_environment(
                    session, max_upload_bytes=settings.max_upload_bytes
                )
                fn = getattr(token_cases, work)
                return await fn(session, env.id, *args)
        finally:
            await engine.dispose()

    with database(settings) as db:
        return asyncio.run(go(db.url))


def _settings(data_dir: Path | None) -> Settings:
    settings = load_settings(data_dir=data_dir)
    configure_logging("warning", settings.log_format)
    return settings


@app.command()
def create(
    name: Annotated[str, typer.Option(help="A name to recognise the token by.")] = "cli",
    permission: Annotated[
        list[str] | None,
        typer.Option("--permission", "-p", help=f"Repeat; default all of {ALL_PERMISSIONS}."),
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
) -> None:
    """Create a token; its secret is printed once."""
    permissions = permission or ALL_PERMISSIONS
    unknown = sorted(set(permissions) - set(ALL_PERMISSIONS))
    if unknown:
        raise typer.BadParameter(f"unknown permission(s) {unknown}; choose from {ALL_PERMISSIONS}")
    result = _run(_settings(data_dir), "create_token", name, permissions)
    token, secret = result  # type: ignore[misc]
    typer.echo(f"{token.id}:{secret}")


@app.command("list")
def list_(data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None) -> None:
    """List tokens (never their secrets)."""
    rows = _run(_settings(data_dir), "list_tokens")
    table = Table("id", "name", "permissions", "created", "last used", "revoked")
    for token in rows:  # type: ignore[attr-defined]
        table.add_row(
            token.id,
            token.name,
            ",".join(token.permissions),
            str(token.created_at)[:19],
            str(token.last_used_at or "")[:19],
            str(token.revoked_at or "")[:19],
        )
    Console().print(table)


@app.command()
def revoke(
    token_id: str, data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None
) -> None:
    """Revoke a token at once."""
    _run(_settings(data_dir), "revoke_token", token_id)
    typer.echo(f"Revoked {token_id}.")
