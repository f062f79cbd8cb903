"""The one process runner: the only module in reelhouse that spawns processes.

Contract of :func:`run`:

- ``argv`` is a list handed to ``execve`` directly; there is never a shell.
- stdin is ``/dev/null``; the child leads its own session and process group.
- CPU-seconds and address-space rlimits are set in the child before ``exec``.
- On a wall-clock timeout, or when the awaiting task is cancelled, the whole process group gets
  SIGKILL and is reaped before :func:`run` returns or re-raises.
- The last :data:`STDERR_TAIL_BYTES` of stderr are kept for logs; stdout lines can be streamed
  to a callback (FFmpeg's ``-progress pipe:1``) and the first :data:`STDOUT_KEEP_BYTES` are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import resource
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reelhouse.pipeline.errors import ProcessTimeout

STDERR_TAIL_BYTES = 64 * 1024
STDOUT_KEEP_BYTES = 8 * 1024 * 1024
_LINE_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class ResourceLimits:
    """Kernel limits applied to the child. ``None`` leaves the inherited limit."""

    cpu_seconds: int | None = None
    address_space_bytes: int | None = None


@dataclass(frozen=True)
class Completed:
    """A child that exited by itself (whatever its exit status)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr_tail: bytes
    wall_seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def stderr_text(self) -> str:
        return self.stderr_tail.decode("utf-8", "replace")


_PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[[int, int], int] | None:
    """libc's prctl on Linux, loaded before any fork; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    prctl: Callable[[int, int], int] = libc.prctl
    return prctl


def _limit_setter(limits: ResourceLimits) -> Callable[[], None]:
    """Build the pre-exec hook: rlimits, and SIGKILL when the parent dies.

    The child runs in its own process group so a cancelled job can kill it whole; a worker that
    is itself killed (``kill -9``) cannot, so the kernel's parent-death signal does it instead:
    no FFmpeg outlives its worker. The hook only makes system calls (no Python-level locks).
    """
    pairs: list[tuple[int, int]] = []
    if limits.cpu_seconds is not None:
        pairs.append((resource.RLIMIT_CPU, limits.cpu_seconds))
    if limits.address_space_bytes is not None:
        pairs.append((resource.RLIMIT_AS, limits.address_space_bytes))
    prctl = _prctl()

    def apply() -> None:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        for which, value in pairs:
            resource.setrlimit(which, (value, value))

    return apply


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    # The leader is not reaped yet, so its pid (== pgid) cannot have been reused.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def _read_tail(stream: asyncio.StreamReader, keep: int) -> bytes:
    tail = bytearray()
    while chunk := await stream.read(65536):
        tail += chunk
        if len(tail) > keep:
            del tail[: len(tail) - keep]
    return bytes(tail)


async def _read_lines(
    stream: asyncio.StreamReader, on_line: Callable[[str], None] | None, keep: int
) -> bytes:
    kept = bytearray()
    while True:
        try:
            line = await stream.readline()
        except ValueError:  # a line longer than the limit: drop it, keep reading
            line = await stream.read(_LINE_LIMIT)
            if not line:
                break
            continue
        if not line:
            break
        if len(kept) < keep:
            kept += line[: keep - len(kept)]
        if on_line is not None:
            on_line(line.decode("utf-8", "replace").rstrip("\r\n"))
    return bytes(kept)


async def run(
    argv: Sequence[str],
    *,
    timeout: float,
    limits: ResourceLimits | None = None,
    on_stdout_line: Callable[[str], None] | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Completed:
    """Run ``argv`` to completion and return how it exited.

    Raises :class:`ProcessTimeout` after killing the group when ``timeout`` seconds pass.
    Cancellation of the awaiting task kills the group, waits for it, then propagates.
    A non-zero exit is *not* an error here: callers decide what it means.
    """
    if isinstance(argv, str) or not argv:
        raise TypeError("argv must be a non-empty sequence of arguments, not a string")
    args = tuple(str(a) for a in argv)
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_limit_setter(limits or ResourceLimits()),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        limit=_LINE_LIMIT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    out_task = asyncio.ensure_future(_read_lines(proc.stdout, on_stdout_line, STDOUT_KEEP_BYTES))
    err_task = asyncio.ensure_future(_read_tail(proc.stderr, STDERR_TAIL_BYTES))
    try:
        returncode = await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        _kill_group(proc)
        await _reap(proc, out_task)
        stderr_tail = await err_task
        raise ProcessTimeout(timeout, stderr_tail=stderr_tail.decode("utf-8", "replace")) from None
    except BaseException:  # cancellation (or anything else): never leave the group running
        _kill_group(proc)
        await asyncio.shield(_reap(proc, out_task, err_task))
        raise
    stdout = await out_task
    stderr_tail = await err_task
    return Completed(args, returncode, stdout, stderr_tail, time.monotonic() - started)


async def _reap(proc: asyncio.subprocess.Process, *tasks: asyncio.Future[bytes]) -> None:
    await proc.wait()
    for task in tasks:
        # Grandchildren may still hold the pipes; the group kill closes them shortly.
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), 5)
