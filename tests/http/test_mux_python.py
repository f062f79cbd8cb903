"""The real mux-python client against a real uvicorn server on a loopback port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import mux_python as mux
import pytest
import uvicorn

from reelhouse.db.engine import create_engine, session_factory
from tests.http.conftest import Caller, build_app


@pytest.fixture
def server_url(database_url: str) -> Iterator[str]:
    """A uvicorn server in a thread with its own event loop and engine."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    engine = create_engine(database_url)
    app = build_app(session_factory(engine), base_url=base)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))

    async def serve() -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            await engine.dispose()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _api(base: str, caller: Caller) -> mux.DirectUploadsApi:
    config = mux.Configuration(host=base)
    config.username, config.password = caller.token_id, caller.secret
    return mux.DirectUploadsApi(mux.ApiClient(config))


def test_create_get_list_cancel(server_url: str, caller: Caller) -> None:
    uploads = _api(server_url, caller)
    request = mux.CreateUploadRequest(
        cors_origin="*",
        new_asset_settings=mux.CreateAssetRequest(playback_policies=[mux.PlaybackPolicy.PUBLIC]),
    )
    created = uploads.create_direct_upload(request)
    assert created is not None, "a create must answer 201 or mux-python returns None"
    upload = created.data
    assert upload.status == "waiting"
    assert upload.url == f"{server_url}/upload/{upload.id}"
    assert upload.timeout == 3600
    assert upload.new_asset_settings.playback_policies == ["public"]

    assert uploads.get_direct_upload(upload.id).data.id == upload.id

    listed = uploads.list_direct_uploads(limit=10, page=1).data
    assert [u.id for u in listed] == [upload.id]
    assert uploads.list_direct_uploads(limit=10, page=2).data == []

    cancelled = uploads.cancel_direct_upload(upload.id).data
    assert cancelled.status == "cancelled"


def test_errors_map_to_the_clients_exceptions(server_url: str, caller: Caller) -> None:
    uploads = _api(server_url, caller)
    with pytest.raises(mux.rest.NotFoundException):
        uploads.get_direct_upload("0000000000000000000000000000")
    bad = Caller(caller.environment_id, caller.token_id, "wrong")
    with pytest.raises(mux.rest.UnauthorizedException):
        _api(server_url, bad).list_direct_uploads()
