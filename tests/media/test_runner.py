"""The process runner kills whole process groups on timeout and cancellation."""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from pathlib import Path

import pytest

from reelhouse.pipeline import runner
from reelhouse.pipeline.errors import ProcessTimeout

# A child that starts a grandchild, records both pids, then sleeps.
FAMILY = (
    "import subprocess, sys, time, os\n"
    "kid = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "open(sys.argv[1], 'w').write(f'{os.getpid()} {kid.pid}')\n"
    "time.sleep(60)\n"
)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


async def family_pids(pid_file: Path) -> list[int]:
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            return [int(p) for p in pid_file.read_text().split()]
        await asyncio.sleep(0.02)
    raise AssertionError("the child never wrote its pids")


async def assert_dead(pids: list[int]) -> None:
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not any(alive(p) for p in pids)


async def test_timeout_kills_the_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    task = asyncio.ensure_future(
        runner.run([sys.executable, "-c", FAMILY, str(pid_file)], timeout=1.5)
    )
    pids = await family_pids(pid_file)
    assert all(alive(p) for p in pids)
    with pytest.raises(ProcessTimeout):
        await task
    await assert_dead(pids)


async def test_cancellation_kills_the_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    task = asyncio.ensure_future(
        runner.run([sys.executable, "-c", FAMILY, str(pid_file)], timeout=60)
    )
    pids = await family_pids(pid_file)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_dead(pids)


async def test_exit_status_stdout_lines_and_stderr_tail() -> None:
    code = (
        "import sys\n"
        "print('a=1'); print('progress=end')\n"
        "sys.stderr.write('x' * 200_000 + 'END')\n"
        "sys.exit(3)\n"
    )
    lines: list[str] = []
    done = await runner.run([sys.executable, "-c", code], timeout=30, on_stdout_line=lines.append)
    assert done.returncode == 3 and not done.ok
    assert lines == ["a=1", "progress=end"]
    assert len(done.stderr_tail) == runner.STDERR_TAIL_BYTES
    assert done.stderr_tail.endswith(b"xEND")


async def test_rlimits_apply_in_the_child() -> None:
    code = "import resource as r; print(r.getrlimit(r.RLIMIT_AS)[0], r.getrlimit(r.RLIMIT_CPU)[0])"
    limits = runner.ResourceLimits(cpu_seconds=7, address_space_bytes=3 << 30)
    done = await runner.run([sys.executable, "-c", code], timeout=30, limits=limits)
    assert done.stdout.split() == [str(3 << 30).encode(), b"7"]
    assert resource.getrlimit(resource.RLIMIT_CPU)[0] != 7  # the parent is untouched


async def test_stdin_is_closed_and_no_shell() -> None:
    done = await runner.run(
        [sys.executable, "-c", "import sys; print(repr(sys.stdin.read()))"], timeout=30
    )
    assert done.stdout.strip() == b"''"
    done = await runner.run(["echo", "$HOME;", "`id`"], timeout=30)
    assert done.stdout == b"$HOME; `id`\n"
    with pytest.raises(TypeError):
        await runner.run("echo hi", timeout=30)  # type: ignore[arg-type]
