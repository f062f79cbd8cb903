"""``reelhouse tokens create|list|revoke``: access tokens for the API."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# The database and the server runtime load inside each command, so the CLI (and a server process
# started through it) does not pay for them at import.

app = typer.Typer(help="Manage API access tokens.", no_args_is_help=True)
ALL_PERMISSIONS = ["video:read", "video:write", "system:read", "system:write", "data:read"]
DataDir = Annotated[Path | None, typer.Option("--data-dir")]


@app.command()
def create(
    name: Annotated[str, typer.Option(help="A name to recognise the token by.")] = "cli",
    permission: Annotated[
        list[str] | None,
        typer.Option("--permission", "-p", help=f"Repeat; default all of {ALL_PERMISSIONS}."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a token; its secret is printed once."""
    permissions = permission or ALL_PERMISSIONS
    unknown = sorted(set(permissions) - set(ALL_PERMISSIONS))
    if unknown:
        raise typer.BadParameter(f"unknown permission(s) {unknown}; choose from {ALL_PERMISSIONS}")

    from reelhouse.cli.runtime import in_default_environment
    from reelhouse.media import tokens as token_cases

    async def work(session: AsyncSession, environment_id: str) -> str:
        token, secret = await token_cases.create_token(session, environment_id, name, permissions)
        return f"{token.id}:{secret}"

    typer.echo(in_default_environment(data_dir, work))


@app.command("list")
def list_(data_dir: DataDir = None) -> None:
    """List tokens (never their secrets)."""
    from reelhouse.cli.runtime import in_default_environment
    from reelhouse.media import tokens as token_cases

    async def work(session: AsyncSession, environment_id: str) -> list[list[str]]:
        return [
            [
                token.id,
                token.name,
                ",".join(token.permissions),
                str(token.created_at)[:19],
                str(token.last_used_at or "")[:19],
                str(token.revoked_at or "")[:19],
            ]
            for token in await token_cases.list_tokens(session, environment_id)
        ]

    table = Table("id", "name", "permissions", "created", "last used", "revoked")
    for row in in_default_environment(data_dir, work):
        table.add_row(*row)
    Console().print(table)


@app.command()
def revoke(token_id: str, data_dir: DataDir = None) -> None:
    """Revoke a token at once."""
    from reelhouse.cli.runtime import in_default_environment
    from reelhouse.media import tokens as token_cases

    async def work(session: AsyncSession, environment_id: str) -> None:
        await token_cases.revoke_token(session, environment_id, token_id)

    in_default_environment(data_dir, work)
    typer.echo(f"Revoked {token_id}.")
