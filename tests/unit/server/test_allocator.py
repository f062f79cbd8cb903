"""Serving processes tune glibc's allocator so request-body buffers stay on the heap."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from reelhouse.cli import serving


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_accepts_both_settings() -> None:
    # mallopt answers 0 for a parameter or value it refuses, so a wrong constant fails here.
    code = "from reelhouse.cli.serving import tune_allocator; print(tune_allocator())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


def test_the_thresholds_fit_the_body_buffers() -> None:
    # Request bodies arrive in pieces of at most 256 KiB (uvloop's read size; an upload buffer is
    # a list of them); they must fall under the mmap threshold, and the trim threshold must keep a
    # few of them for reuse.
    assert serving.MMAP_THRESHOLD >= 4 * (256 << 10)
    assert serving.TRIM_THRESHOLD >= 4 * serving.MMAP_THRESHOLD
