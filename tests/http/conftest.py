"""An in-process app with the REST API, and callers holding tokens in two environments."""

from __future__ import annotations

import base64
import secrets
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.api.app import ApiDeps, build_api_router
from reelhouse.db.models import Environment
from reelhouse.media import tokens
from reelhouse.pipeline.ladder import plan_ladder
from reelhouse.pipeline.package import PackageResult, transcode
from reelhouse.pipeline.probe import probe
from reelhouse.server.errors import install_error_handlers
from tests.mediagen import FFMPEG

BASE_URL = "http://reelhouse.test"


class DeletedObjects:
    """A stand-in object store deletion: records ``(environment_id, asset_id)`` calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def record(self, environment_id: str, asset_id: str) -> None:
        self.calls.append((environment_id, asset_id))


def build_app(
    sessions: async_sessionmaker[AsyncSession],
    base_url: str = BASE_URL,
    deleted_objects: DeletedObjects | None = None,
) -> FastAPI:
    deleted_objects = deleted_objects or DeletedObjects()
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(
        build_api_router(
            ApiDeps(
                sessions=sessions,
                base_url=base_url,
                clock=lambda: datetime.now(UTC),
                default_max_upload_bytes=1 << 30,
                delete_asset_objects=deleted_objects.record,
            )
        )
    )
    return app


@dataclass(frozen=True)
class Caller:
    environment_id: str
    token_id: str
    secret: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.token_id, self.secret)

    @property
    def basic(self) -> str:
        raw = f"{self.token_id}:{self.secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()


async def make_caller(
    sessions: async_sessionmaker[AsyncSession],
    permissions: tuple[str, ...] = tokens.ALL_PERMISSIONS,
) -> Caller:
    env_id = f"env_{secrets.token_hex(8)}"
    async with sessions.begin() as s:
        s.add(Environment(id=env_id, name=env_id, created_at=datetime.now(UTC)))
        await s.flush()
        token, secret = await tokens.create_token(s, env_id, "http-test", permissions)
    return Caller(env_id, token.id, secret)


@pytest.fixture
async def caller(sessions: async_sessionmaker[AsyncSession]) -> Caller:
    return await make_caller(sessions)


@pytest.fixture
async def other_caller(sessions: async_sessionmaker[AsyncSession]) -> Caller:
    return await make_caller(sessions)


@pytest.fixture
async def client(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(sessions))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Encoded:
    """A real 2 s 640x360 clip encoded by the pipeline once per session (every HTTP test that
    serves stored outputs uses this one)."""

    out_dir: Path
    result: PackageResult


@pytest.fixture(scope="session")
async def encoded(tmp_path_factory: pytest.TempPathFactory) -> Encoded:
    folder = tmp_path_factory.mktemp("encoded-media")
    source = folder / "clip.mp4"
    lavfi = ["testsrc2=s=640x360:r=30:d=2", "sine=f=440:r=48000:d=2"]
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
        + [arg for graph in lavfi for arg in ("-f", "lavfi", "-i", graph)]
        + ["-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-pix_fmt", "yuv420p"]
        + ["-c:a", "aac", "-ac", "2", "-shortest", str(source)],
        check=True,
        timeout=60,
    )
    probed = await probe(source)
    out = folder / "out"
    result = await transcode(
        source, probed, plan_ladder(probed), out, ffmpeg=FFMPEG, preset="ultrafast"
    )
    return Encoded(out, result)
