"""Media tests use the session's generated clips (``clip`` fixture in tests/conftest.py)."""

from __future__ import annotations

import pytest
from tests.mediagen import FFMPEG


@pytest.fixture(scope="session")
def ffmpeg_exe() -> str:
    return FFMPEG
