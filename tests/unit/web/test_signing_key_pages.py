"""The signing-key pages in-process: who may see and change them, CSRF, creating a key (its
private half shown once and matching the stored public half), deleting one after a confirm
step, other environments' keys, paging, and the link from an asset's signed links."""

from __future__ import annotations

import base64
import re

import httpx
import pytest

from reelhouse.db.models import SigningKey
from reelhouse.media import signing_keys

from .asset_board import url_asset
from .dashboard_app import (
    START,
    Clock,
    Sessions,
    assert_needs_system_read,
    make_token,
    new_environment,
    readonly_value,
    rows_in,
    sign_in,
)

ADMIN = ["system:read", "system:write"]
READER = ["system:read"]


async def seed_key(sessions: Sessions, environment_id: str, clock: Clock | None = None) -> str:
    """A key made as the REST API makes one; its id."""
    _, public_pem = signing_keys.generate_key_pair()
    now = clock.advance(60) if clock else START
    async with sessions.begin() as session:
        row = await signing_keys.create_signing_key(session, environment_id, public_pem, now=now)
        return row.id


def listed(page: str) -> list[str]:
    """The key ids of the table, in order."""
    return re.findall(r'<tr class="rh-signing-key" data-key-id="([^"]+)"', page)


async def live_ids(sessions: Sessions, environment_id: str) -> set[str]:
    rows = await rows_in(sessions, SigningKey, environment_id)
    return {row.id for row in rows if row.deleted_at is None}


@pytest.fixture
async def other_environment(sessions: Sessions) -> str:
    return await new_environment(sessions)


async def test_signed_out_and_unpermitted_sessions_are_turned_away(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    key_id = await seed_key(sessions, environment_id)
    for response in (
        await client.post("/signing-keys", data={}),
        await client.get(f"/signing-keys/{key_id}/delete"),
        await client.post(f"/signing-keys/{key_id}/delete", data={"confirm": "yes"}),
    ):
        assert (response.status_code, response.headers["location"]) == (303, "/signin")
    await assert_needs_system_read(client, sessions, environment_id, "/signing-keys")


async def test_a_new_environment_is_told_what_keys_are_for(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    await sign_in(client, await make_token(sessions, environment_id, ADMIN))
    page = await client.get("/signing-keys")
    assert page.status_code == 200
    assert 'id="empty-signing-keys"' in page.text
    assert 'id="signing-keys"' not in page.text
    assert 'id="create-signing-key"' in page.text
    assert '<a href="/signing-keys" aria-current="page">Signing keys</a>' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "private, no-store"
    assert "<script" not in page.text  # the copy script only comes with a new key


async def test_read_only_session_lists_but_cannot_create_or_delete(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    key_id = await seed_key(sessions, environment_id)
    csrf = await sign_in(client, await make_token(sessions, environment_id, READER))
    page = await client.get("/signing-keys")
    assert page.status_code == 200
    assert listed(page.text) == [key_id]
    assert f"{START:%Y-%m-%d %H:%M} UTC" in page.text
    assert 'id="create-signing-key"' not in page.text
    assert "/delete" not in page.text
    assert 'id="read-only"' in page.text
    for response in (
        await client.post("/signing-keys", data={"csrf": csrf}),
        await client.get(f"/signing-keys/{key_id}/delete"),
        await client.post(f"/signing-keys/{key_id}/delete", data={"csrf": csrf, "confirm": "yes"}),
    ):
        assert response.status_code == 403
        assert "<code>system:write</code>" in response.text
    assert await live_ids(sessions, environment_id) == {key_id}


async def test_posts_without_the_session_csrf_are_refused(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    key_id = await seed_key(sessions, environment_id)
    await sign_in(client, await make_token(sessions, environment_id, ADMIN))
    for data in ({}, {"csrf": "forged"}):
        created = await client.post("/signing-keys", data=data)
        assert created.status_code == 403
        assert "did not come from this dashboard" in created.text
        deleted = await client.post(
            f"/signing-keys/{key_id}/delete", data={**data, "confirm": "yes"}
        )
        assert deleted.status_code == 403
    assert await live_ids(sessions, environment_id) == {key_id}


async def test_create_shows_the_private_key_once(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    csrf = await sign_in(client, await make_token(sessions, environment_id, ADMIN))
    response = await client.post("/signing-keys", data={"csrf": csrf})
    assert response.status_code == 201
    assert response.headers["cache-control"] == "private, no-store"
    assert "reelhouse does not store the private key" in response.text
    assert 'data-copy="new-key-private"' in response.text
    assert 'data-copy="new-key-id"' in response.text
    assert "/static/operations.js" in response.text
    key_id = readonly_value(response.text, "new-key-id")
    private_key = readonly_value(response.text, "new-key-private")
    assert listed(response.text) == [key_id]
    async with sessions() as session:
        row = await signing_keys.get_signing_key(session, environment_id, key_id)
    pem = base64.b64decode(private_key)
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert signing_keys.holds_private_half(row, pem)
    assert private_key not in row.public_key_pem

    again = await client.get("/signing-keys")
    assert listed(again.text) == [key_id]
    assert private_key not in again.text
    assert 'id="new-key"' not in again.text
    assert 'id="empty-signing-keys"' not in again.text


async def test_delete_after_the_confirm_step(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str, clock: Clock
) -> None:
    kept = await seed_key(sessions, environment_id, clock)
    doomed = await seed_key(sessions, environment_id, clock)
    csrf = await sign_in(client, await make_token(sessions, environment_id, ADMIN))
    page = await client.get("/signing-keys")
    assert listed(page.text) == [doomed, kept]  # newest first
    assert f'href="/signing-keys/{doomed}/delete"' in page.text

    confirm = await client.get(f"/signing-keys/{doomed}/delete")
    assert confirm.status_code == 200
    assert "stops working at once" in confirm.text
    assert 'name="confirm" value="yes"' in confirm.text
    assert 'href="/signing-keys"' in confirm.text

    unconfirmed = await client.post(f"/signing-keys/{doomed}/delete", data={"csrf": csrf})
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["location"] == f"/signing-keys/{doomed}/delete"
    assert await live_ids(sessions, environment_id) == {kept, doomed}

    clock.advance(5)
    done = await client.post(
        f"/signing-keys/{doomed}/delete", data={"csrf": csrf, "confirm": "yes"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/signing-keys?deleted={doomed}"
    async with sessions() as session:
        row = await signing_keys.find_key(session, doomed)
    assert row is not None and row.deleted_at == clock.now
    assert await live_ids(sessions, environment_id) == {kept}

    after = await client.get(done.headers["location"])
    assert 'id="deleted"' in after.text
    assert listed(after.text) == [kept]
    # Only a key that really is deleted earns the notice.
    for made_up in (kept, "x" * 22, "nope"):
        assert 'id="deleted"' not in (await client.get(f"/signing-keys?deleted={made_up}")).text
    for again in (
        await client.get(f"/signing-keys/{doomed}/delete"),
        await client.post(f"/signing-keys/{doomed}/delete", data={"csrf": csrf, "confirm": "yes"}),
        await client.post("/signing-keys/not%3Fan-id/delete", data={"csrf": csrf}),
    ):
        assert again.status_code == 404
        assert 'id="form-error"' in again.text


async def test_another_environments_keys_are_out_of_reach(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str, other_environment: str
) -> None:
    theirs = await seed_key(sessions, other_environment)
    gone = await seed_key(sessions, other_environment)
    async with sessions.begin() as session:
        await signing_keys.delete_signing_key(session, other_environment, gone, now=START)
    csrf = await sign_in(client, await make_token(sessions, environment_id, ADMIN))
    page = await client.get("/signing-keys")
    assert theirs not in page.text
    assert 'id="empty-signing-keys"' in page.text
    assert (await client.get(f"/signing-keys/{theirs}/delete")).status_code == 404
    refused = await client.post(
        f"/signing-keys/{theirs}/delete", data={"csrf": csrf, "confirm": "yes"}
    )
    assert refused.status_code == 404
    assert await live_ids(sessions, other_environment) == {theirs}
    assert 'id="deleted"' not in (await client.get(f"/signing-keys?deleted={gone}")).text


async def test_keys_are_paged_25_at_a_time(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str, clock: Clock
) -> None:
    made = [await seed_key(sessions, environment_id, clock) for _ in range(25)]
    await sign_in(client, await make_token(sessions, environment_id, READER))
    full = (await client.get("/signing-keys")).text
    assert listed(full) == made[::-1]
    assert 'class="rh-pages"' not in full  # exactly one page: no pager
    made.append(await seed_key(sessions, environment_id, clock))
    first = (await client.get("/signing-keys")).text
    assert listed(first) == made[:0:-1]
    assert 'href="/signing-keys?page=2" rel="next"' in first
    second = (await client.get("/signing-keys?page=2")).text
    assert listed(second) == [made[0]]
    assert 'href="/signing-keys?page=1" rel="prev"' in second
    assert 'rel="next"' not in second
    past = (await client.get("/signing-keys?page=3")).text
    assert 'id="no-more-keys"' in past
    assert 'id="empty-signing-keys"' not in past


async def test_the_asset_page_links_to_the_keys_for_system_readers(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    asset = await url_asset(sessions, environment_id, at=START, playback_policy=["signed"])
    await sign_in(client, await make_token(sessions, environment_id, ["video:read", *READER]))
    page = (await client.get(f"/assets/{asset.id}")).text
    signed = page[page.index('id="signed-urls"') :]
    assert 'id="manage-keys"' in signed
    assert 'href="/signing-keys"' in signed
    assert 'id="no-keys"' in signed
    client.cookies.clear()
    await sign_in(client, await make_token(sessions, environment_id, ["video:read"]))
    assert 'id="manage-keys"' not in (await client.get(f"/assets/{asset.id}")).text
