"""Webhook tests get a database of their own: the dispatcher takes every undelivered outbox
event and workers run every job, so sharing the session's database would touch other tests' rows.

Also a real HTTP receiver on 127.0.0.1 that checks each request's signature with our verifier.
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reelhouse.db.engine import create_engine, session_factory
from reelhouse.db.migrate import migrate
from reelhouse.db.models import Environment
from reelhouse.media.outbox import append_event
from reelhouse.webhooks.signatures import SignatureError, verify
from tests.conftest import create_database, drop_database

SECRET = "whsec-test-secret"
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def wh_database_url(pg_server_url: str) -> Iterator[str]:
    url = create_database(pg_server_url, prefix="rh_webhooks")
    migrate(url)
    try:
        yield url
    finally:
        drop_database(pg_server_url, url)


@pytest.fixture(scope="session")
async def wh_engine(wh_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(wh_database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def wh_sessions(wh_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(wh_engine)


@pytest.fixture
async def env_id(wh_sessions: async_sessionmaker[AsyncSession]) -> str:
    env = f"env_{secrets.token_hex(8)}"
    async with wh_sessions.begin() as session:
        session.add(Environment(id=env, name="Development", created_at=T0))
    return env


async def add_event(
    sessions: async_sessionmaker[AsyncSession],
    env: str,
    *,
    type: str = "video.asset.ready",
    object_id: str = "asset1",
    data: dict[str, Any] | None = None,
    now: datetime = T0,
) -> Any:
    async with sessions.begin() as session:
        event = await append_event(
            session,
            environment_id=env,
            type=type,
            object_type="asset",
            object_id=object_id,
            data=data or {"id": object_id, "status": "ready"},
            now=now,
        )
        return event.id


class Clock:
    """A settable clock for the code under test."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: str  # "ok" or the SignatureError reason

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each POST with the next queued status (default 200) and records it."""

    url: str
    secret: str
    now: Callable[[], float]
    requests: list[Received] = field(default_factory=list)
    statuses: queue.SimpleQueue[int] = field(default_factory=queue.SimpleQueue)

    def answer(self, *statuses: int) -> None:
        for status in statuses:
            self.statuses.put(status)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = state["r"]
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            try:
                verify(rec.secret, body, self.headers.get("mux-signature", ""), now=rec.now())
                verdict = "ok"
            except SignatureError as exc:
                verdict = exc.reason
            rec.requests.append(
                Received({k.lower(): v for k, v in self.headers.items()}, body, verdict)
            )
            try:
                status = rec.statuses.get_nowait()
            except queue.Empty:
                status = 200
            reply = f"status {status}".encode()
            self.send_response(status)
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    state["r"] = Receiver(url, SECRET, time.time)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["r"]
    finally:
        server.shutdown()
        server.server_close()
