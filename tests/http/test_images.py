"""``/image/``: thumbnails, animated images and storyboards of a published asset, over ASGI.

The session's real 2 s encode (``tests/http/test_stream.py``) is stored per test in a
LocalObjectStore; images are made from its renditions by the real FFmpeg. A counting runner
tells how many FFmpeg runs a request caused.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import httpx
import imageio_ffmpeg
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from reelhouse import ids
from reelhouse.db.models import Asset
from reelhouse.delivery.images import LAYOUT_NAME, ImageDeps, image_routes
from reelhouse.pipeline import runner
from reelhouse.storage.layout import storyboard_key
from reelhouse.storage.local import LocalObjectStore
from reelhouse.worker.media_tasks import MediaDeps
from reelhouse.worker.storyboard_tasks import make_storyboard
from tests.http.conftest import Encoded
from tests.http.test_stream import Env as StreamEnv

BASE = "http://image.test"
NOT_READY = {"error": {"type": "not_ready", "messages": ["This asset is still being prepared"]}}


class CountingRunner:
    """The real runner, counting the FFmpeg runs (and able to hold them at a gate)."""

    def __init__(self) -> None:
        self.calls = 0
        self.argv: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, argv: Sequence[str], **kwargs: Any) -> runner.Completed:
        self.calls += 1
        self.argv.append(list(argv))
        await self.release.wait()
        return await runner.run(argv, **kwargs)


@dataclass
class Env(StreamEnv):
    """The stream tests' published asset, with the duration (and input) images need."""

    scratch: Path = Path()
    last_asset_id: str = ""

    async def ready(
        self,
        *,
        status: str = "ready",
        version: int = 1,
        policy: str = "public",
        input_info: list[dict[str, Any]] | None = None,
    ) -> str:
        published = await self.publish(status=status, version=version, policy=policy)
        async with self.sessions.begin() as s:
            await s.execute(
                update(Asset)
                .where(Asset.id == published.asset_id)
                .values(duration=self.encoded.result.duration, input_info=input_info)
            )
        self.last_asset_id = published.asset_id
        return published.playback_id


@pytest.fixture
async def env(
    sessions: async_sessionmaker[AsyncSession],
    environment_id: str,
    encoded: Encoded,
    tmp_path: Path,
) -> Env:
    store = LocalObjectStore(tmp_path / "objects", fsync=False)
    return Env(sessions, store, environment_id, encoded, tmp_path / "scratch")


@pytest.fixture
def counting() -> CountingRunner:
    return CountingRunner()


def make_client(env: Env, counting: CountingRunner, **options: Any) -> httpx.AsyncClient:
    deps = ImageDeps(
        env.sessions,
        env.store,
        lambda: datetime.now(UTC),
        ffmpeg=imageio_ffmpeg.get_ffmpeg_exe(),
        scratch_dir=env.scratch,
        cache_ttl=0,
        run=counting,
        **options,
    )
    app = Starlette(routes=image_routes(deps))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


@pytest.fixture
async def client(env: Env, counting: CountingRunner) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(env, counting) as c:
        yield c


def decoded_size(data: bytes, tmp_path: Path, ext: str) -> tuple[int, int, int]:
    """(width, height, frames) of an image, decoded with PyAV."""
    path = tmp_path / f"decoded.{ext}"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    return frames[0].width, frames[0].height, len(frames)


async def test_thumbnail_honours_the_requested_size(
    client: httpx.AsyncClient, env: Env, tmp_path: Path
) -> None:
    pid = await env.ready()
    answer = await client.get(f"/image/{pid}/thumbnail.jpg?width=320&height=320&fit_mode=pad")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["cache-control"].startswith("public, max-age=")
    assert answer.headers["etag"]
    assert decoded_size(answer.content, tmp_path, "jpg")[:2] == (320, 320)


@pytest.mark.parametrize(
    ("query", "ext", "size"),
    [
        ("", "png", (640, 360)),
        ("width=200", "webp", (200, 112)),
        ("height=90&rotate=90", "jpg", (50, 90)),
        ("width=100&height=100&fit_mode=crop&flip_h=true", "png", (100, 100)),
        ("width=100&height=100&fit_mode=stretch", "webp", (100, 100)),
        ("width=100&height=100", "jpg", (100, 56)),
        ("time=999", "jpg", (640, 360)),
    ],
)
async def test_thumbnail_sizes_and_formats(
    client: httpx.AsyncClient,
    env: Env,
    tmp_path: Path,
    query: str,
    ext: str,
    size: tuple[int, int],
) -> None:
    pid = await env.ready()
    answer = await client.get(f"/image/{pid}/thumbnail.{ext}?{query}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == f"image/{'jpeg' if ext == 'jpg' else ext}"
    width, height, _ = decoded_size(answer.content, tmp_path, ext)
    assert (width, height) == size


async def test_a_cached_image_is_not_made_again(
    client: httpx.AsyncClient, env: Env, counting: CountingRunner
) -> None:
    pid = await env.ready()
    first = await client.get(f"/image/{pid}/thumbnail.jpg?time=1&width=160")
    # the same normalised parameters, spelled differently
    second = await client.get(f"/image/{pid}/thumbnail.jpg?width=160&time=1.000&fit_mode=preserve")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert counting.calls == 1
    etag = first.headers["etag"]
    again = await client.get(
        f"/image/{pid}/thumbnail.jpg?time=1&width=160", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert counting.calls == 1


async def test_concurrent_identical_requests_run_ffmpeg_once(
    client: httpx.AsyncClient, env: Env, counting: CountingRunner
) -> None:
    pid = await env.ready()
    counting.release.clear()
    url = f"/image/{pid}/thumbnail.webp?time=0.5&width=128"
    requests = [asyncio.ensure_future(client.get(url)) for _ in range(5)]
    while counting.calls == 0:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    counting.release.set()
    answers = await asyncio.gather(*requests)
    assert [a.status_code for a in answers] == [200] * 5
    assert len({a.content for a in answers}) == 1
    assert counting.calls == 1


async def test_animated_gif_has_fps_times_span_frames(
    client: httpx.AsyncClient, env: Env, tmp_path: Path
) -> None:
    pid = await env.ready()
    answer = await client.get(f"/image/{pid}/animated.gif?start=0.5&end=1.5&fps=10&width=160")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/gif"
    width, height, frames = decoded_size(answer.content, tmp_path, "gif")
    assert (width, height) == (160, 90)
    assert 9 <= frames <= 11


async def test_animated_webp_defaults(client: httpx.AsyncClient, env: Env) -> None:
    pid = await env.ready()
    answer = await client.get(f"/image/{pid}/animated.webp")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/webp"
    assert answer.content[:4] == b"RIFF" and answer.content[8:12] == b"WEBP"


async def test_storyboard_vtt_json_and_sprite(
    client: httpx.AsyncClient, env: Env, counting: CountingRunner, tmp_path: Path
) -> None:
    pid = await env.ready()
    vtt = await client.get(f"/image/{pid}/storyboard.vtt?format=webp")
    assert vtt.status_code == 200
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text.startswith("WEBVTT")
    urls = re.findall(r"^(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$", vtt.text, re.MULTILINE)
    assert urls and all(u[0] == f"{BASE}/image/{pid}/storyboard.webp" for u in urls)
    sprite = await client.get(f"/image/{pid}/storyboard.webp")
    assert sprite.status_code == 200
    width, height, _ = decoded_size(sprite.content, tmp_path, "webp")
    for _, x, y, w, h in urls:
        assert int(x) + int(w) <= width and int(y) + int(h) <= height
    document = (await client.get(f"/image/{pid}/storyboard.json")).json()
    assert document["url"].endswith("/storyboard.jpg")
    assert document["tile_width"] == 256 and len(document["tiles"]) == len(urls)
    assert (await client.get(f"/image/{pid}/storyboard.jpg")).status_code == 200
    assert counting.calls == 1  # one run made both sprites and the layout


async def test_concurrent_storyboard_requests_build_once(
    client: httpx.AsyncClient, env: Env, counting: CountingRunner
) -> None:
    pid = await env.ready()
    answers = await asyncio.gather(
        *(client.get(f"/image/{pid}/storyboard.{ext}") for ext in ("vtt", "json", "jpg", "webp"))
    )
    assert [a.status_code for a in answers] == [200] * 4
    assert counting.calls == 1


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("width=0", "width"),
        ("width=5000", "width"),
        ("height=abc", "height"),
        ("rotate=45", "rotate"),
        ("fit_mode=zoom", "fit_mode"),
        ("time=-1", "time"),
        ("flip_v=maybe", "flip_v"),
    ],
)
async def test_bad_thumbnail_parameters_answer_400(
    client: httpx.AsyncClient, env: Env, query: str, name: str
) -> None:
    pid = await env.ready()
    answer = await client.get(f"/image/{pid}/thumbnail.jpg?{query}")
    assert answer.status_code == 400
    body = answer.json()["error"]
    assert body["type"] == "invalid_parameters"
    assert body["messages"][0].startswith(name)
    assert answer.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    "query", ["start=0&end=11", "start=2&end=1", "width=641", "fps=31", "fps=0"]
)
async def test_bad_animated_parameters_answer_400(
    client: httpx.AsyncClient, env: Env, query: str
) -> None:
    pid = await env.ready()
    assert (await client.get(f"/image/{pid}/animated.gif?{query}")).status_code == 400


async def test_not_ready_unknown_and_malformed(client: httpx.AsyncClient, env: Env) -> None:
    preparing = await env.ready(status="preparing", version=0)
    answer = await client.get(f"/image/{preparing}/thumbnail.jpg")
    assert answer.status_code == 412
    assert answer.json() == NOT_READY
    assert (await client.get(f"/image/{ids.new_id()}/thumbnail.jpg")).status_code == 404
    assert (await client.get("/image/not!an!id/thumbnail.jpg")).status_code == 400
    pid = await env.ready()
    assert (await client.get(f"/image/{pid}/thumbnail.bmp")).status_code == 404
    assert (await client.get(f"/image/{pid}/storyboard.vtt?format=png")).status_code == 400


async def test_signed_ids_need_a_token(client: httpx.AsyncClient, env: Env) -> None:
    pid = await env.ready(policy="signed")
    assert (await client.get(f"/image/{pid}/thumbnail.jpg")).status_code == 403


async def test_preflight_and_head(client: httpx.AsyncClient, env: Env) -> None:
    pid = await env.ready()
    options = await client.options(f"/image/{pid}/thumbnail.jpg")
    assert options.status_code == 204
    assert options.headers["access-control-allow-origin"] == "*"
    head = await client.head(f"/image/{pid}/storyboard.json")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 0


async def test_thumbnail_from_the_source_file_on_this_machine(
    env: Env, counting: CountingRunner, tmp_path: Path
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    info = [{"settings": {}, "file": {"container_format": "mov,mp4,m4a,3gp,3g2,mj2"}}]
    pid = await env.ready(input_info=info)
    (inputs / env.last_asset_id).symlink_to(env.encoded.out_dir.parent / "clip.mp4")
    async with make_client(env, counting, inputs_dir=inputs) as client:
        answer = await client.get(f"/image/{pid}/thumbnail.png?time=1")
    assert answer.status_code == 200
    assert decoded_size(answer.content, tmp_path, "png")[:2] == (640, 360)
    argv = counting.argv[-1]
    assert argv[argv.index("-i") + 1].endswith("/clip.mp4")
    assert argv[argv.index("-f") + 1] == "mov"


async def test_public_url_and_token_in_storyboard_urls(env: Env, counting: CountingRunner) -> None:
    pid = await env.ready()
    async with make_client(env, counting, public_url="https://media.example.org/") as client:
        document = (await client.get(f"/image/{pid}/storyboard.json?format=webp")).json()
    assert document["url"] == f"https://media.example.org/image/{pid}/storyboard.webp"


async def test_the_storyboard_job_builds_once_for_the_current_version(
    env: Env, counting: CountingRunner
) -> None:
    pid = await env.ready()
    deps = MediaDeps(
        sessions=env.sessions,
        store=env.store,
        clock=lambda: datetime.now(UTC),
        ffmpeg=imageio_ffmpeg.get_ffmpeg_exe(),
        uploads_dir=env.scratch / "uploads",
        inputs_dir=env.scratch / "inputs",
        scratch_dir=env.scratch,
    )
    await make_storyboard(deps, env.last_asset_id, 1)
    key = storyboard_key(env.environment_id, env.last_asset_id, 1, LAYOUT_NAME)
    layout = json.loads(await env.store.get_bytes(key))
    assert layout["count"] == 2 and layout["tile_width"] == 256
    async with make_client(env, counting) as client:
        vtt = await client.get(f"/image/{pid}/storyboard.vtt")
    assert vtt.status_code == 200
    assert counting.calls == 0  # served from what the job stored
    await make_storyboard(deps, ids.new_id(), 1)  # a deleted asset: nothing to do
