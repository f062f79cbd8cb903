"""``reelhouse upload FILE``: a resumable tus upload to a running server, with a progress bar."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

# httpx loads when an upload starts, so the CLI (and a server process started through it) does
# not pay for it at import.
if TYPE_CHECKING:
    import httpx

TUS = {"Tus-Resumable": "1.0.0"}
PIECE = 1 << 20


def _pieces(source: BinaryIO, size: int, progress: Progress, task: TaskID) -> Iterator[bytes]:
    left = size
    while left > 0:
        block = source.read(min(PIECE, left))
        if not block:
            return
        left -= len(block)
        progress.update(task, advance=len(block))
        yield block


def _metadata(path: Path) -> str:
    return "filename " + base64.b64encode(path.name.encode()).decode()


def upload(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    server: Annotated[
        str, typer.Option(envvar="REELHOUSE_URL", help="Base URL of the server.")
    ] = "http://127.0.0.1:8000",
    token_id: Annotated[str, typer.Option(envvar="REELHOUSE_TOKEN_ID")] = "",
    token_secret: Annotated[str, typer.Option(envvar="REELHOUSE_TOKEN_SECRET")] = "",
    chunk_mib: Annotated[int, typer.Option(help="Bytes per PATCH request, in MiB.")] = 64,
    attempts: Annotated[int, typer.Option(help="Retries per chunk after a network error.")] = 5,
) -> None:
    """Upload FILE through the tus endpoint /files/, resuming after network errors."""
    if not token_id or not token_secret:
        raise typer.BadParameter("set --token-id/--token-secret or REELHOUSE_TOKEN_ID/_SECRET")
    import httpx

    size = file.stat().st_size
    auth = (token_id, token_secret)
    with httpx.Client(base_url=server, auth=auth, timeout=httpx.Timeout(60.0)) as client:
        created = client.post(
            "/files/",
            headers={**TUS, "Upload-Length": str(size), "Upload-Metadata": _metadata(file)},
        )
        if created.status_code != 201:
            raise typer.Exit(_fail(created))
        url = created.headers["location"]
        with (
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
            ) as progress,
            file.open("rb") as source,
        ):
            task = progress.add_task(file.name, total=size)
            offset = 0
            failures = 0
            while offset < size:
                source.seek(offset)
                progress.update(task, completed=offset)
                length = min(chunk_mib << 20, size - offset)
                try:
                    response = client.patch(
                        url,
                        content=_pieces(source, length, progress, task),
                        headers={
                            **TUS,
                            "Content-Type": "application/offset+octet-stream",
                            "Upload-Offset": str(offset),
                            "Content-Length": str(length),
                        },
                    )
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == 204:
                    offset = int(response.headers["upload-offset"])
                    failures = 0
                    continue
                if response is not None and response.status_code not in (409, 423, 408, 503):
                    raise typer.Exit(_fail(response))
                failures += 1
                if failures > attempts:
                    typer.echo("Giving up after repeated failures; run again to start over.")
                    raise typer.Exit(1)
                time.sleep(min(2**failures, 30))
                head = client.head(url, headers=TUS)
                offset = int(head.headers.get("upload-offset", offset))
    upload_id = url.rstrip("/").rsplit("/", 1)[-1]
    typer.echo(f"Uploaded {size} bytes. Upload id: {upload_id}")


def _fail(response: httpx.Response) -> int:
    typer.echo(f"Upload failed: HTTP {response.status_code}: {response.text[:500]}", err=True)
    return 1
