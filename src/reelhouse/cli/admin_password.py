"""``reelhouse admin-password``: hash a dashboard admin password for
``REELHOUSE_ADMIN_PASSWORD`` (the password itself never has to be written down anywhere)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer


def admin_password(
    stdin: Annotated[
        bool,
        typer.Option("--stdin", help="Read the password from the first line of standard input."),
    ] = False,
) -> None:
    """Print the scrypt hash of a password to set as REELHOUSE_ADMIN_PASSWORD."""
    from reelhouse.web.passwords import MIN_LENGTH, hash_password

    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Admin password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_LENGTH:
        raise typer.BadParameter(f"use at least {MIN_LENGTH} characters")
    typer.echo(hash_password(password))
