"""Signing in to and out of the dashboard in a real browser (Debian's Chromium via Playwright,
no downloads), against ``reelhouse serve`` with an admin password configured: the access token
and the admin password both sign in, wrong ones say so, a form without its CSRF token gets the
403 page, revoking the token with ``reelhouse tokens revoke`` signs the browser out within
seconds, and a session past its (here, short) lifetime sends the user back to sign in."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from reelhouse.web.dashboard import CSRF_REFUSED, EXPIRED
from reelhouse.web.passwords import hash_password
from reelhouse.web.signin import BAD_PASSWORD, BAD_TOKEN

from .browser import launch_chromium, needs_chromium, new_page, shot, sign_in
from .server import TOKEN_ID, TOKEN_SECRET, ServerProcess

pytestmark = needs_chromium

PASSWORD = "an operator's long passphrase"
SESSION_SECONDS = 5


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch_chromium()


def started(prefix: str, env: dict[str, str]) -> Iterator[ServerProcess]:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    proc = ServerProcess(root, extra_env=env)
    try:
        yield proc.start()
    finally:
        proc.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def admin_server() -> Iterator[ServerProcess]:
    """A server whose admin password is set, as an operator would, to its scrypt hash."""
    yield from started(
        "reelhouse-e2e-signin-", {"REELHOUSE_ADMIN_PASSWORD": hash_password(PASSWORD)}
    )


@pytest.fixture
def brief_server() -> Iterator[ServerProcess]:
    """A server whose dashboard sessions last a few seconds."""
    env = {"REELHOUSE_DASHBOARD_SESSION_SECONDS": str(SESSION_SECONDS)}
    yield from started("reelhouse-e2e-brief-", env)


def reelhouse(server: ServerProcess, *args: str) -> str:
    """Run the operator's CLI against ``server``'s data dir; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "reelhouse", *args],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def open_signin(page: Page, server: ServerProcess) -> None:
    page.goto(server.base_url + "/")
    assert page.url == server.base_url + "/signin"


def submit_token(page: Page, token: str) -> None:
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in", exact=True).click()


def submit_password(page: Page, password: str) -> None:
    page.get_by_label("Admin password").fill(password)
    page.get_by_role("button", name="Sign in with the admin password").click()


def test_token_sign_in_a_wrong_token_and_sign_out(
    browser: Browser, admin_server: ServerProcess
) -> None:
    page = new_page(browser)
    open_signin(page, admin_server)
    assert page.get_by_label("Access token").is_visible()
    assert page.get_by_label("Admin password").is_visible()
    shot(page, "signin")

    submit_token(page, f"{TOKEN_ID}:not-the-secret")
    assert page.get_by_role("alert").inner_text() == BAD_TOKEN
    assert page.url == admin_server.base_url + "/signin"
    shot(page, "signin-error")

    submit_token(page, f"{TOKEN_ID}:{TOKEN_SECRET}")
    page.wait_for_url(admin_server.base_url + "/")
    cookie = next(c for c in page.context.cookies() if c["name"] == "rh_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert TOKEN_SECRET not in cookie["value"]
    assert page.evaluate("document.cookie").find("rh_session") == -1  # scripts cannot read it

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(admin_server.base_url + "/signin")
    open_signin(page, admin_server)  # signed out for good


def test_admin_password_sign_in(browser: Browser, admin_server: ServerProcess) -> None:
    page = new_page(browser)
    open_signin(page, admin_server)
    submit_password(page, "not the passphrase")
    assert page.get_by_role("alert").inner_text() == BAD_PASSWORD
    submit_password(page, PASSWORD)
    page.wait_for_url(admin_server.base_url + "/")
    shot(page, "signin-admin")
    # Every permission: the upload page (video:write) opens.
    response = page.goto(admin_server.base_url + "/upload")
    assert response is not None and response.status == 200
    assert page.locator("#files").count() == 1


def test_a_form_without_its_csrf_token_gets_the_403_page(
    browser: Browser, admin_server: ServerProcess
) -> None:
    page = new_page(browser)
    open_signin(page, admin_server)
    submit_token(page, f"{TOKEN_ID}:{TOKEN_SECRET}")
    page.wait_for_url(admin_server.base_url + "/")

    page.evaluate("document.querySelector('.rh-signout input[name=csrf]').remove()")
    with page.expect_response(lambda r: r.url.endswith("/signout")) as missing:
        page.get_by_role("button", name="Sign out").click()
    assert missing.value.status == 403
    assert page.get_by_role("alert").inner_text() == CSRF_REFUSED
    shot(page, "csrf-refused")

    page.goto(admin_server.base_url + "/")  # the refused sign-out left the session alone
    assert page.url == admin_server.base_url + "/"
    page.evaluate("document.querySelector('.rh-signout input[name=csrf]').value = 'forged'")
    with page.expect_response(lambda r: r.url.endswith("/signout")) as forged:
        page.get_by_role("button", name="Sign out").click()
    assert forged.value.status == 403
    assert page.get_by_role("alert").inner_text() == CSRF_REFUSED

    fresh = new_page(browser)
    open_signin(fresh, admin_server)
    fresh.evaluate("document.querySelectorAll('form input[name=csrf]').forEach(e => e.remove())")
    with fresh.expect_response(lambda r: r.url.endswith("/signin")) as signin:
        submit_token(fresh, f"{TOKEN_ID}:{TOKEN_SECRET}")
    assert signin.value.status == 403
    assert fresh.get_by_role("alert").inner_text() == CSRF_REFUSED
    assert not [c for c in fresh.context.cookies() if c["name"] == "rh_session"]


def test_revoking_the_token_signs_the_browser_out(
    browser: Browser, admin_server: ServerProcess
) -> None:
    token = reelhouse(admin_server, "tokens", "create", "--name", "browser", "-p", "video:read")
    token_id = token.partition(":")[0]
    page = new_page(browser)
    open_signin(page, admin_server)
    submit_token(page, token)
    page.wait_for_url(admin_server.base_url + "/")

    reelhouse(admin_server, "tokens", "revoke", token_id)
    revoked = time.monotonic()
    while time.monotonic() - revoked < 10:
        page.reload()
        if page.url.endswith("/signin?expired=1"):
            break
        time.sleep(0.25)
    waited = time.monotonic() - revoked
    assert page.url == admin_server.base_url + "/signin?expired=1"
    assert waited < 7, f"still signed in {waited:.1f} s after the token was revoked"
    assert page.get_by_role("status").inner_text() == EXPIRED


def test_an_expired_session_sends_the_user_to_sign_in(
    browser: Browser, brief_server: ServerProcess
) -> None:
    page = new_page(browser)
    sign_in(page, brief_server)
    signed_in = time.monotonic()
    assert page.get_by_role("link", name="Upload", exact=True).is_visible()
    time.sleep(max(0.0, SESSION_SECONDS + 0.5 - (time.monotonic() - signed_in)))
    page.get_by_role("link", name="Upload", exact=True).click()
    page.wait_for_url(brief_server.base_url + "/signin?expired=1")
    assert page.get_by_role("status").inner_text() == EXPIRED
    assert page.get_by_label("Access token").is_visible()
    assert page.get_by_label("Admin password").count() == 0  # none configured here
    shot(page, "session-ended")
    sign_in(page, brief_server)  # and signing in again works
