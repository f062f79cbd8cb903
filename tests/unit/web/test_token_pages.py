"""The access-token pages in-process: who may see and change them, CSRF, creating a token with
chosen permissions (secret shown once), revoking one, and the guard on revoking one's own."""

from __future__ import annotations

import re

import httpx
import pytest

from reelhouse.db.models import AccessToken
from reelhouse.errors import Unauthorized
from reelhouse.media.tokens import ALL_PERMISSIONS, authenticate
from reelhouse.web.sessions import SESSION_COOKIE
from reelhouse.web.token_pages import chosen_permissions, creation_refusal

from .dashboard_app import (
    Sessions,
    make_token,
    new_environment,
    readonly_value,
    rows_in,
    sign_in,
)

ADMIN = ["system:read", "system:write", "video:read", "video:write"]


@pytest.fixture
async def other_environment(sessions: Sessions) -> str:
    return await new_environment(sessions)


async def assert_create_and_revoke_refused(
    client: httpx.AsyncClient, token: str, data: dict[str, str], why: str
) -> None:
    """Creating a token and revoking ``token``, each posted with ``data`` (the CSRF field, a
    forged one or none), are refused with a 403; the creation's page says ``why``."""
    created = await client.post(
        "/tokens", data={**data, "name": "x", "permission-video:read": "on"}
    )
    assert created.status_code == 403
    assert why in created.text
    revoked = await client.post(f"/tokens/{token.split(':')[0]}/revoke", data=data)
    assert revoked.status_code == 403


async def assert_both_tokens_stand(sessions: Sessions, environment_id: str) -> None:
    """The environment still holds just its two tokens, neither revoked."""
    tokens = await rows_in(sessions, AccessToken, environment_id)
    assert len(tokens) == 2
    assert all(t.revoked_at is None for t in tokens)


def test_chosen_permissions_and_refusals() -> None:
    form = {"permission-video:read": "on", "permission-data:read": "on", "permission-x": "on"}
    assert chosen_permissions(form) == ["video:read", "data:read"]
    held = frozenset({"video:read", "system:write"})
    assert creation_refusal("ci", ["video:read"], held) is None
    assert "name" in (creation_refusal("", ["video:read"], held) or "")
    assert "at most" in (creation_refusal("x" * 101, ["video:read"], held) or "")
    assert "at least one" in (creation_refusal("ci", [], held) or "")
    assert "lacks data:read" in (creation_refusal("ci", ["data:read"], held) or "")


async def test_signed_out_goes_to_signin(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/tokens"), await client.post("/tokens", data={})):
        assert response.status_code == 303
        assert response.headers["location"] == "/signin"


async def test_token_without_system_read_gets_a_403_page(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    await sign_in(client, await make_token(sessions, environment_id, ["video:read"]))
    response = await client.get("/tokens")
    assert response.status_code == 403
    assert "<code>system:read</code>" in response.text


async def test_read_only_session_lists_but_cannot_create_or_revoke(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    other = await make_token(sessions, environment_id, ["video:read"])
    csrf = await sign_in(client, await make_token(sessions, environment_id, ["system:read"]))
    page = await client.get("/tokens")
    assert page.status_code == 200
    assert other.split(":")[0] in page.text
    assert other.split(":")[1] not in page.text  # secrets are never listed
    assert 'id="create-token"' not in page.text
    assert "/revoke" not in page.text
    await assert_create_and_revoke_refused(
        client, other, {"csrf": csrf}, "<code>system:write</code>"
    )
    await assert_both_tokens_stand(sessions, environment_id)


async def test_posts_without_the_session_csrf_are_refused(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    other = await make_token(sessions, environment_id, ["video:read"])
    await sign_in(client, await make_token(sessions, environment_id, ADMIN))
    for data in ({}, {"csrf": "forged"}):
        await assert_create_and_revoke_refused(
            client, other, data, "did not come from this dashboard"
        )
    await assert_both_tokens_stand(sessions, environment_id)


async def test_create_shows_the_secret_once_with_the_chosen_permissions(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    csrf = await sign_in(client, await make_token(sessions, environment_id, ADMIN))
    intro = await client.get("/tokens")
    assert 'id="tokens-intro"' in intro.text  # only the session's own token so far
    assert "this session" in intro.text
    response = await client.post(
        "/tokens",
        data={
            "csrf": csrf,
            "name": "course backend",
            "permission-video:read": "on",
            "permission-video:write": "on",
        },
    )
    assert response.status_code == 201
    assert "Token “course backend” created" in response.text
    assert 'data-copy="credential"' in response.text
    assert "/static/operations.js" in response.text
    credential = readonly_value(response.text, "credential")
    token_id, _, secret = credential.partition(":")
    async with sessions.begin() as session:
        principal = await authenticate(session, token_id, secret)
    assert principal.permissions == {"video:read", "video:write"}
    assert principal.environment_id == environment_id
    again = await client.get("/tokens")
    assert token_id in again.text
    assert secret not in again.text
    assert 'id="tokens-intro"' not in again.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "", "permission-video:read": "on"}, "Give the token a name"),
        ({"name": "ci"}, "Choose at least one permission"),
        ({"name": "ci", "permission-data:read": "on"}, "lacks data:read"),
    ],
)
async def test_create_refusals_keep_the_form_and_create_nothing(
    client: httpx.AsyncClient,
    sessions: Sessions,
    environment_id: str,
    fields: dict[str, str],
    message: str,
) -> None:
    csrf = await sign_in(client, await make_token(sessions, environment_id, ADMIN))
    response = await client.post("/tokens", data={"csrf": csrf, **fields})
    assert response.status_code == 400
    assert message in response.text
    assert 'id="credential"' not in response.text
    assert len(await rows_in(sessions, AccessToken, environment_id)) == 1


async def test_a_session_cannot_grant_what_it_lacks_even_if_the_form_is_forged(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    csrf = await sign_in(client, await make_token(sessions, environment_id, ADMIN))
    page = await client.get("/tokens")
    assert re.search(r'name="permission-data:read"\s+disabled', page.text)
    every = {f"permission-{p}": "on" for p in ALL_PERMISSIONS}
    response = await client.post("/tokens", data={"csrf": csrf, "name": "all", **every})
    assert response.status_code == 400
    assert len(await rows_in(sessions, AccessToken, environment_id)) == 1


async def test_revoke_another_token(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    victim = await make_token(sessions, environment_id, ["video:read"])
    victim_id, _, victim_secret = victim.partition(":")
    csrf = await sign_in(client, await make_token(sessions, environment_id, ADMIN))
    response = await client.post(f"/tokens/{victim_id}/revoke", data={"csrf": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == f"/tokens?revoked={victim_id}"
    with pytest.raises(Unauthorized):
        async with sessions.begin() as session:
            await authenticate(session, victim_id, victim_secret)
    page = await client.get(response.headers["location"])
    assert 'id="revoked"' in page.text
    row = re.search(rf'data-token-id="{victim_id}" data-state="(\w+)"', page.text)
    assert row and row.group(1) == "revoked"
    # A made-up id earns no notice; an unknown or foreign token is a 404.
    assert 'id="revoked"' not in (await client.get("/tokens?revoked=nope")).text
    missing = await client.post("/tokens/" + "x" * 22 + "/revoke", data={"csrf": csrf})
    assert missing.status_code == 404


async def test_another_environments_token_cannot_be_revoked(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str, other_environment: str
) -> None:
    foreign = await make_token(sessions, other_environment, ["video:read"])
    csrf = await sign_in(client, await make_token(sessions, environment_id, ADMIN))
    page = await client.get("/tokens")
    assert foreign.split(":")[0] not in page.text
    response = await client.post(f"/tokens/{foreign.split(':')[0]}/revoke", data={"csrf": csrf})
    assert response.status_code == 404
    assert all(
        t.revoked_at is None for t in await rows_in(sessions, AccessToken, other_environment)
    )


async def test_revoking_the_sessions_own_token_asks_first_then_signs_out(
    client: httpx.AsyncClient, sessions: Sessions, environment_id: str
) -> None:
    own = await make_token(sessions, environment_id, ADMIN)
    own_id = own.split(":")[0]
    csrf = await sign_in(client, own)
    asked = await client.post(f"/tokens/{own_id}/revoke", data={"csrf": csrf})
    assert asked.status_code == 409
    assert "Revoke the token you are signed in with?" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert all(t.revoked_at is None for t in await rows_in(sessions, AccessToken, environment_id))

    done = await client.post(f"/tokens/{own_id}/revoke", data={"csrf": csrf, "confirm": "yes"})
    assert done.status_code == 303
    assert done.headers["location"] == "/signin?expired=1"
    assert SESSION_COOKIE not in client.cookies
    assert all(
        t.revoked_at is not None for t in await rows_in(sessions, AccessToken, environment_id)
    )
    assert (await client.get("/tokens")).status_code == 303
