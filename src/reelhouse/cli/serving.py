"""What every long-running command shares, kept light (the lean upload node starts through it):
the database (embedded or not) and running an ASGI app under uvicorn until a signal stops it."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import signal
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from reelhouse.config import Settings
from reelhouse.db.embedded import EmbeddedPostgres
from reelhouse.logs import get_logger

log = get_logger("reelhouse.runtime")

# glibc's mallopt parameters (malloc.h) and the values serving processes use.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20
TRIM_THRESHOLD = 4 << 20


def tune_allocator() -> bool:
    """Keep request-body buffers (up to 256 KiB each) on the heap and reuse freed heap memory.

    By default glibc serves such blocks with ``mmap`` until a freed one raises its threshold, and
    gives the top of the heap back to the system past twice that threshold; in a process with a
    small heap (the upload node) every body buffer then faulted its pages in again: 165,000
    minor page faults and 0.5 CPU-s more per GiB uploaded than the web process, 120 faults with
    these settings (docs/benchmarks.md, uploads run G). At most 4 MiB of freed memory is kept
    per arena. Returns False where the C library has no ``mallopt`` (not glibc)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


@dataclass(frozen=True)
class Database:
    url: str
    embedded: EmbeddedPostgres | None


@contextlib.contextmanager
def database(settings: Settings, *, owner: bool = False) -> Iterator[Database]:
    """The configured database, or an embedded PostgreSQL in ``<data-dir>/pg``.

    An ``owner`` (``serve``, ``worker``) stops the embedded server on exit, even one it adopted
    after a crash; a one-shot command (``tokens``, ``migrate``, ``doctor``) or an upload node
    stops it only if it started it, so it never pulls the database from under a running server.
    """
    if settings.database_url:
        yield Database(settings.database_url, None)
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    embedded = EmbeddedPostgres()
    was_running = EmbeddedPostgres.is_running(settings.pg_dir)
    url = embedded.start(settings.pg_dir)
    log.info("db.embedded_started", pg_dir=str(settings.pg_dir), adopted=was_running)
    try:
        yield Database(url, embedded)
    finally:
        if owner or not was_running:
            embedded.stop()
            log.info("db.embedded_stopped")


async def serve_until_stopped(
    app: ASGIApp,
    settings: Settings,
    *,
    beside: dict[str, Coroutine[Any, Any, None]] | None = None,
) -> None:
    """Serve ``app`` on the configured host and port (uvloop, httptools) with the coroutines in
    ``beside`` (a job worker) as named tasks, until SIGINT/SIGTERM or one of them ends; a task
    that failed re-raises its error."""
    tune_allocator()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    tasks = [asyncio.create_task(server.serve(), name="web")]
    for name, work in (beside or {}).items():
        tasks.append(asyncio.create_task(work, name=name))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _stop, server, tasks)
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    _stop(server, tasks)
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def _stop(server: uvicorn.Server, tasks: list[asyncio.Task[None]]) -> None:
    server.should_exit = True
    for task in tasks:
        if task.get_name() != "web":
            task.cancel()
