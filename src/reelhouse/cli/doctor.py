"""``reelhouse doctor``: is this machine ready? FFmpeg, PyAV, database, storage."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from reelhouse.config import Settings, load_settings
from reelhouse.logs import configure_logging

# The database driver, FFmpeg probing and the server's storage check load when a check runs, so
# the CLI (and a server process started through it) does not pay for them at import.

WANTED_ENCODERS = ("libx264", "aac", "libx265", "libsvtav1", "mjpeg", "libwebp", "gif")


async def _ffmpeg_rows(settings: Settings) -> list[tuple[str, bool, str]]:
    from reelhouse.pipeline.errors import PipelineError
    from reelhouse.pipeline.ffmpeg import locate_ffmpeg, query_ffmpeg

    try:
        info = await query_ffmpeg(locate_ffmpeg(settings.ffmpeg))
    except PipelineError as exc:
        return [("ffmpeg", False, exc.message)]
    missing = [name for name in WANTED_ENCODERS if not info.has_encoder(name)]
    detail = f"{info.version} at {info.path}"
    rows = [("ffmpeg", True, detail)]
    encoders = (
        "missing: " + ", ".join(missing) if missing else "all of " + ", ".join(WANTED_ENCODERS)
    )
    rows.append(("encoders", info.has_encoder("libx264") and info.has_encoder("aac"), encoders))
    return rows


def _pyav_row() -> tuple[str, bool, str]:
    try:
        import av
    except ImportError as exc:
        return ("pyav", False, str(exc))
    return ("pyav", True, f"PyAV {av.__version__}, libav {av.library_versions.get('libavformat')}")


async def _database_row(url: str) -> tuple[str, bool, str]:
    from sqlalchemy import text

    from reelhouse.db.engine import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            version = (await conn.execute(text("SHOW server_version"))).scalar_one()
        return ("database", True, f"PostgreSQL {version}")
    except Exception as exc:  # noqa: BLE001 - the doctor reports every failure as text
        return ("database", False, f"{type(exc).__name__}: {exc}")
    finally:
        await engine.dispose()


def _storage_row(settings: Settings) -> tuple[str, bool, str]:
    from reelhouse.server.health import storage_round_trip

    try:
        storage_round_trip(settings.uploads_dir)
    except OSError as exc:
        return ("storage", False, f"{settings.uploads_dir}: {exc}")
    return ("storage", True, f"local disk at {settings.uploads_dir.resolve()} (write/read/delete)")


def doctor(
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
) -> None:
    """Check FFmpeg and its encoders, PyAV, the database and the storage round trip."""
    from reelhouse.cli.serving import database

    settings = load_settings(data_dir=data_dir)
    configure_logging("warning", settings.log_format)
    rows = asyncio.run(_ffmpeg_rows(settings))
    rows.append(_pyav_row())
    with database(settings) as db:
        rows.append(asyncio.run(_database_row(db.url)))
    rows.append(_storage_row(settings))
    table = Table("check", "ok", "detail")
    for name, ok, detail in rows:
        table.add_row(name, "yes" if ok else "NO", detail)
    Console().print(table)
    if not all(ok for _, ok, _ in rows):
        raise typer.Exit(1)
