"""``reelhouse keys create|list|rm`` (signing keys of the default environment) and
``reelhouse sign PLAYBACK_ID`` (a playback token, minted locally from a private key).

``sign`` takes the key from ``--key-id`` / ``--key-file PEM`` or from the environment
variables ``REELHOUSE_SIGNING_KEY_ID`` / ``REELHOUSE_SIGNING_PRIVATE_KEY`` (base64 of the PEM,
exactly what ``keys create`` and the API print). It needs no database.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from reelhouse.errors import InvalidParameters

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# The database, the server runtime and the signing libraries load inside each command, so the
# CLI (and a server process started through it) does not pay for them at import.

app = typer.Typer(help="Manage signing keys for signed playback.", no_args_is_help=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir")]
_DURATION = re.compile(r"([0-9]+)\s*([smhdw]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _now() -> datetime:
    return datetime.now(UTC)


@app.command()
def create(
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the private key PEM to this file.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a key; its private key is printed once (base64 of the PEM) and never stored."""
    from reelhouse.cli.runtime import in_default_environment
    from reelhouse.media import signing_keys

    private_pem, public_pem = signing_keys.generate_key_pair()

    async def work(session: AsyncSession, environment_id: str) -> dict[str, Any]:
        row = await signing_keys.create_signing_key(session, environment_id, public_pem, now=_now())
        return signing_keys.signing_key_view(row, private_pem)

    view = in_default_environment(data_dir, work)
    if out is not None:
        out.touch(mode=0o600, exist_ok=False)
        out.write_bytes(private_pem)
        typer.echo(f"Private key PEM written to {out}")
    typer.echo(f"REELHOUSE_SIGNING_KEY_ID={view['id']}")
    typer.echo(f"REELHOUSE_SIGNING_PRIVATE_KEY={view['private_key']}")
    typer.echo("The private key is shown once; reelhouse keeps only the public key.")


@app.command("list")
def list_(data_dir: DataDir = None) -> None:
    """List live keys, newest first."""
    from reelhouse.cli.runtime import in_default_environment
    from reelhouse.media import signing_keys

    async def work(session: AsyncSession, environment_id: str) -> list[dict[str, Any]]:
        rows = await signing_keys.list_signing_keys(session, environment_id, 1000, 1)
        return [signing_keys.signing_key_view(row) for row in rows]

    table = Table("id", "created")
    for view in in_default_environment(data_dir, work):
        created = datetime.fromtimestamp(int(view["created_at"]), UTC)
        table.add_row(view["id"], created.isoformat()[:19])
    Console().print(table)


@app.command()
def rm(key_id: str, data_dir: DataDir = None) -> None:
    """Delete a key: tokens it signed stop playing within a few seconds."""
    from reelhouse.cli.runtime import in_default_environment
    from reelhouse.media import signing_keys

    async def work(session: AsyncSession, environment_id: str) -> None:
        await signing_keys.delete_signing_key(session, environment_id, key_id, now=_now())

    in_default_environment(data_dir, work)
    typer.echo(f"Deleted {key_id}.")


def parse_duration(value: str) -> int:
    """``"90"``, ``"45s"``, ``"30m"``, ``"1h"``, ``"7d"``, ``"2w"`` -> seconds."""
    match = _DURATION.fullmatch(value.strip().lower())
    if match is None or int(match.group(1)) <= 0:
        raise typer.BadParameter(f"{value!r} is not a duration like 90s, 30m, 1h or 7d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _private_key(key_file: Path | None, private_key: str | None) -> bytes:
    from reelhouse.media import signing_keys

    if key_file is not None:
        return key_file.read_bytes()
    if not private_key:
        raise typer.BadParameter(
            "give --key-file PEM, or set REELHOUSE_SIGNING_PRIVATE_KEY (base64 of the PEM)"
        )
    try:
        return signing_keys.private_key_pem(private_key)
    except InvalidParameters as exc:
        raise typer.BadParameter(exc.message) from None


def sign(
    playback_id: str,
    aud: Annotated[
        str, typer.Option("--aud", help="v video, t thumbnail, g gif, s storyboard.")
    ] = "v",
    expires: Annotated[str, typer.Option("--expires", help="Lifetime: 90s, 30m, 1h, 7d.")] = "1h",
    key_id: Annotated[
        str | None, typer.Option("--key-id", envvar="REELHOUSE_SIGNING_KEY_ID")
    ] = None,
    key_file: Annotated[
        Path | None, typer.Option("--key-file", help="The private key PEM.", exists=True)
    ] = None,
    private_key: Annotated[
        str | None,
        typer.Option(
            "--private-key",
            envvar="REELHOUSE_SIGNING_PRIVATE_KEY",
            help="Base64 of the private key PEM (prefer the environment variable).",
            show_default=False,
        ),
    ] = None,
    restriction: Annotated[
        str | None, typer.Option("--restriction", help="A playback restriction id to apply.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="An extra claim NAME=VALUE, e.g. max_resolution=720p."),
    ] = None,
) -> None:
    """Print a signed playback token (JWT, RS256) for PLAYBACK_ID; use it as ``?token=``."""
    from reelhouse.delivery import tokens
    from reelhouse.media import signing_keys

    if aud not in tokens.AUDIENCES:
        raise typer.BadParameter(f"--aud must be one of {', '.join(tokens.AUDIENCES)}")
    if not key_id:
        raise typer.BadParameter("give --key-id, or set REELHOUSE_SIGNING_KEY_ID")
    claims: dict[str, object] = {}
    for item in param or []:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise typer.BadParameter(f"--param {item!r} is not NAME=VALUE")
        claims[name] = value
    if restriction:
        claims["playback_restriction_id"] = restriction
    token = signing_keys.sign_playback_token(
        _private_key(key_file, private_key),
        key_id=key_id,
        playback_id=playback_id,
        audience=aud,
        expires_at=int(time.time()) + parse_duration(expires),
        params=claims,
    )
    typer.echo(token)
