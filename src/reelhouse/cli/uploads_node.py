"""``reelhouse serve --uploads-only``: the lean upload node.

Migrations and the first token run in a child ``reelhouse migrate`` (SQLAlchemy and Alembic
stay out of this process); then the node serves the upload edge until a signal stops it.
"""

from __future__ import annotations

import asyncio
import os
import sys

from reelhouse.cli.serving import database, serve_until_stopped
from reelhouse.config import Settings
from reelhouse.errors import Unavailable
from reelhouse.logs import get_logger
from reelhouse.server.upload_node import create_upload_node

log = get_logger("reelhouse.runtime")


async def migrate_in_child(settings: Settings, url: str) -> str:
    """Run ``reelhouse migrate`` against ``url`` in a child process and return what it printed
    (the first access token, once, on a new database)."""
    env = {
        **os.environ,
        "REELHOUSE_DATABASE_URL": url,
        "REELHOUSE_DATA_DIR": str(settings.data_dir),
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "reelhouse",
        "migrate",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await child.communicate()
    text = output.decode(errors="replace")
    if child.returncode != 0:
        log.error("db.migrate_failed", output=text[-4000:])
        raise Unavailable("Database migrations failed; see the log above.")
    return text


async def serve_uploads(settings: Settings) -> None:
    with database(settings) as db:
        migrated = await migrate_in_child(settings, db.url)
        app = create_upload_node(settings, db.url)
        base = settings.base_url
        lines = [
            f"reelhouse upload node is running: {base}/upload/ and {base}/files/",
            *(f"  {line}" for line in migrated.splitlines() if "token" in line.lower()),
        ]
        print("\n".join(lines), flush=True)
        await serve_until_stopped(app, settings)
