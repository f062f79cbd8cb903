"""/system/v1/signing-keys: create (private key once), get, list, delete."""

from __future__ import annotations

import base64
import time

import httpx
import mux_python as mux
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.delivery.tokens import key_id_of, verify
from reelhouse.media import signing_keys
from reelhouse.media.signing_keys import sign_playback_token as sign
from reelhouse.media.tokens import SYSTEM_READ, VIDEO_READ, VIDEO_WRITE
from tests.http.conftest import JSON, Caller, make_caller
from tests.http.test_mux_python import server_url  # noqa: F401  (fixture)

BASE = "/system/v1/signing-keys"


async def create(client: httpx.AsyncClient, caller: Caller) -> dict[str, str]:
    # mux-python sends Content-Type: application/json with no body on this call.
    response = await client.post(BASE, headers=JSON, auth=caller.auth)
    assert response.status_code == 201, response.text
    key: dict[str, str] = response.json()["data"]
    return key


async def test_create_returns_the_private_key_once(
    client: httpx.AsyncClient, caller: Caller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    key = await create(client, caller)
    assert set(key) == {"id", "created_at", "private_key"}
    assert key["created_at"].isdigit() and abs(int(key["created_at"]) - time.time()) < 60
    pem = base64.b64decode(key["private_key"])
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    private = load_pem_private_key(pem, password=None)
    assert isinstance(private, RSAPrivateKey) and private.key_size == 2048

    got = await client.get(f"{BASE}/{key['id']}", auth=caller.auth)
    assert got.status_code == 200
    assert got.json() == {"data": {"id": key["id"], "created_at": key["created_at"]}}

    # Only the public half is stored, and it verifies what the private half signs.
    async with sessions() as s:
        row = await signing_keys.find_key(s, key["id"])
    assert row is not None and "PRIVATE" not in row.public_key_pem
    token = sign(pem, key_id=key["id"], playback_id="p" * 28, audience="v", expires_at=2**40)
    assert key_id_of(token) == key["id"]
    public = private.public_key()
    assert verify(token, public, key_id=key["id"], playback_id="p" * 28, audience="v", now=0)


async def test_list_get_delete(client: httpx.AsyncClient, caller: Caller) -> None:
    first, second = await create(client, caller), await create(client, caller)
    listed = await client.get(BASE, params={"limit": 10}, auth=caller.auth)
    assert listed.status_code == 200
    ids = [k["id"] for k in listed.json()["data"]]
    assert set(ids) == {first["id"], second["id"]}
    assert all("private_key" not in k for k in listed.json()["data"])
    page1 = await client.get(BASE, params={"limit": 1, "page": 1}, auth=caller.auth)
    page2 = await client.get(BASE, params={"limit": 1, "page": 2}, auth=caller.auth)
    page3 = await client.get(BASE, params={"limit": 1, "page": 3}, auth=caller.auth)
    assert len(page1.json()["data"]) == len(page2.json()["data"]) == 1
    assert page3.status_code == 200 and page3.json() == {"data": []}

    deleted = await client.delete(f"{BASE}/{first['id']}", auth=caller.auth)
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await client.get(f"{BASE}/{first['id']}", auth=caller.auth)).status_code == 404
    assert (await client.delete(f"{BASE}/{first['id']}", auth=caller.auth)).status_code == 404
    after = await client.get(BASE, auth=caller.auth)
    assert [k["id"] for k in after.json()["data"]] == [second["id"]]


async def test_another_environment_sees_404(
    client: httpx.AsyncClient, caller: Caller, other_caller: Caller
) -> None:
    key = await create(client, caller)
    url = f"{BASE}/{key['id']}"
    for response in (
        await client.get(url, auth=other_caller.auth),
        await client.delete(url, auth=other_caller.auth),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "not_found"
    assert (await client.get(BASE, auth=other_caller.auth)).json() == {"data": []}
    assert (await client.get(url, auth=caller.auth)).status_code == 200
    assert (await client.get(f"{BASE}/not-an-id", auth=caller.auth)).status_code == 404


async def test_system_permissions_are_required(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    video_only = await make_caller(sessions, (VIDEO_READ, VIDEO_WRITE))
    read_only = await make_caller(sessions, (SYSTEM_READ,))
    for caller, method in ((video_only, "GET"), (video_only, "POST"), (read_only, "POST")):
        response = await client.request(method, BASE, auth=caller.auth)
        assert response.status_code == 403, (caller.token_id, method)
        assert response.json()["error"]["type"] == "forbidden"
    assert (await client.get(BASE, auth=read_only.auth)).status_code == 200
    assert (await client.post(BASE)).status_code == 401


def test_mux_python_round_trip(server_url: str, caller: Caller) -> None:  # noqa: F811
    config = mux.Configuration(host=server_url)
    config.username, config.password = caller.token_id, caller.secret
    keys = mux.SigningKeysApi(mux.ApiClient(config))
    created = keys.create_signing_key().data
    assert created.id and created.private_key
    assert base64.b64decode(created.private_key).startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert keys.get_signing_key(created.id).data.id == created.id
    assert [k.id for k in keys.list_signing_keys(limit=10, page=1).data] == [created.id]
    assert keys.delete_signing_key(created.id) is None
    assert keys.list_signing_keys(limit=10, page=1).data == []
