"""The operations, webhook, token and signing-key pages in a real browser (Debian's Chromium
via Playwright) against a real ``reelhouse serve`` with its worker: empty states; a webhook
endpoint added through the page receives signed deliveries of a real upload, which the log
lists with their status codes, replays and signs with a rotated secret; a token created with
chosen permissions works with exactly those until it is revoked; a signing key created on its
page signs tokens the stream accepts until it is deleted there; the operations page counts the
upload's success; every page fits a phone and every control has a label and takes keyboard
focus."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from reelhouse.media.signing_keys import private_key_pem, sign_playback_token
from reelhouse.webhooks.signatures import SignatureError, verify

from .assets import add_signed_playback_id, upload_and_wait
from .browser import launch_chromium, needs_chromium, new_page, shot, sign_in
from .receiver import Delivery, Receiver
from .server import ServerProcess

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch_chromium()


@pytest.fixture(scope="module")
def ops_server() -> Iterator[ServerProcess]:
    """A server whose endpoints may be on loopback (the receiver is), with no endpoint yet."""
    root = Path(tempfile.mkdtemp(prefix="reelhouse-e2e-ops-"))
    env = {"REELHOUSE_OUTBOUND_ALLOW_PRIVATE": "true", "REELHOUSE_WORKER_STALLED_SECONDS": "4"}
    proc = ServerProcess(root, extra_env=env).start()
    try:
        yield proc
    finally:
        proc.stop()
        shutil.rmtree(root, ignore_errors=True)


def signed_in(browser: Browser, server: ServerProcess, width: int = 1280) -> Page:
    page = new_page(browser, width, 800)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
    sign_in(page, server)
    return page


def copy_and_read(page: Page, field_id: str) -> str:
    """Press the Copy button beside ``field_id``; returns what reached the clipboard."""
    page.locator(f'button[data-copy="{field_id}"]').click()
    status = page.locator(f'[data-copy-status="{field_id}"]')
    status.filter(has_text="Copied").wait_for()
    copied: str = page.evaluate("navigator.clipboard.readText()")
    return copied


def verified(delivery: Delivery, secret: str) -> bool:
    try:
        verify(secret, delivery.body, delivery.headers["mux-signature"], now=time.time())
    except SignatureError:
        return False
    return True


def deliveries_of(receiver: Receiver, object_id: str, event_type: str) -> list[Delivery]:
    with receiver._lock:
        return [
            d
            for d in receiver.deliveries
            if d.event["type"] == event_type and d.event["object"]["id"] == object_id
        ]


def reload_until(page: Page, selector: str, timeout: float = 60.0) -> None:
    """Reload until ``selector`` matches (the log is server-rendered, not live)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.locator(selector).count():
            return
        time.sleep(0.5)
        page.reload()
    raise AssertionError(f"{selector} never appeared on {page.url}")


def test_empty_states_tell_a_new_user_what_to_do(
    ops_server: ServerProcess, browser: Browser
) -> None:
    page = signed_in(browser, ops_server)
    page.get_by_role("link", name="Operations").click()
    empty = page.locator("#empty-operations")
    assert empty.is_visible()
    assert "Upload a video first" in empty.inner_text()
    assert page.locator("#no-failures").is_visible()
    shot(page, "operations-empty")
    page.get_by_role("link", name="Webhooks").click()
    assert page.locator("#empty-webhooks").is_visible()
    page.get_by_role("link", name="Tokens").click()
    assert page.locator("#tokens-intro").is_visible()
    page.get_by_role("link", name="Signing keys").click()
    assert page.locator("#empty-signing-keys").is_visible()
    assert page.problems == []  # type: ignore[attr-defined]


def test_webhook_endpoint_log_replay_and_rotation(
    ops_server: ServerProcess,
    browser: Browser,
    receiver: Receiver,
    clip: Callable[[str], Path],
) -> None:
    page = signed_in(browser, ops_server)
    page.goto(ops_server.base_url + "/webhooks")
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_role("button", name="Add endpoint").click()
    page.locator("#new-secret").wait_for()
    secret = page.get_by_role("textbox", name="Signing secret").input_value()
    assert copy_and_read(page, "secret") == secret
    endpoint_id = page.locator("dl.rh-facts code").first.inner_text()

    asset = upload_and_wait(ops_server, clip("small"))
    assert asset["status"] == "ready"
    ready = receiver.wait_for(asset["id"], "video.asset.ready")
    assert verified(ready, secret)

    page.goto(f"{ops_server.base_url}/webhooks/{endpoint_id}")
    assert secret not in page.content()
    row_selector = '.rh-delivery[data-type="video.asset.ready"][data-status="delivered"]'
    reload_until(page, row_selector)
    row = page.locator(row_selector).first
    assert row.locator(".rh-http-status").inner_text() == "200"
    assert row.get_attribute("data-event-id") == ready.event["id"]

    row.get_by_role("button", name="Replay").click()
    page.wait_for_url(f"**/webhooks/{endpoint_id}?replayed=1")
    assert "1 new delivery" in page.locator("#replayed").inner_text()
    reload_until(page, row_selector.replace("]", '][data-replay="true"]', 1))
    deadline = time.monotonic() + 30
    while len(deliveries_of(receiver, asset["id"], "video.asset.ready")) < 2:
        assert time.monotonic() < deadline, "the replay never reached the receiver"
        time.sleep(0.2)
    again = deliveries_of(receiver, asset["id"], "video.asset.ready")[1]
    assert again.event["id"] == ready.event["id"]

    page.get_by_role("button", name="Rotate secret").click()
    page.locator("#new-secret").wait_for()
    rotated = page.get_by_role("textbox", name="Signing secret").input_value()
    assert rotated != secret
    with ops_server.client() as api:
        patched = api.patch(f"/video/v1/assets/{asset['id']}", json={"passthrough": "rotated"})
        assert patched.status_code == 200
    updated = receiver.wait_for(asset["id"], "video.asset.updated")
    assert verified(updated, rotated)
    assert not verified(updated, secret)

    page.goto(f"{ops_server.base_url}/webhooks/{endpoint_id}")
    shot(page, "webhooks")

    page.get_by_role("link", name="Operations").click()
    total = page.locator('.rh-day[data-day="Last 7 days"]')
    assert total.locator(".rh-n-completed").inner_text() == "1"
    assert total.locator(".rh-n-ready").inner_text() == "1"
    assert total.locator(".rh-rate").inner_text() == "100.0 %"
    assert "meets the target" in total.inner_text()
    assert total.locator(".rh-processing").inner_text() != "—"
    shot(page, "operations")
    assert page.problems == []  # type: ignore[attr-defined]


def test_token_with_chosen_permissions_until_revoked(
    ops_server: ServerProcess, browser: Browser
) -> None:
    page = signed_in(browser, ops_server)
    page.goto(ops_server.base_url + "/tokens")
    page.get_by_label("Name", exact=True).fill("reader backend")
    page.get_by_label("video:read").check()
    page.get_by_role("button", name="Create token").click()
    page.locator("#new-token").wait_for()
    credential = page.get_by_role("textbox", name="Access token (ID:SECRET)").input_value()
    assert copy_and_read(page, "credential") == credential
    token_id, _, secret = credential.partition(":")

    with httpx.Client(base_url=ops_server.base_url, auth=(token_id, secret)) as api:
        assert api.get("/video/v1/assets").status_code == 200
        assert api.post("/video/v1/uploads", json={}).status_code == 403
        assert api.get("/system/v1/webhooks").status_code == 403

    page.goto(ops_server.base_url + "/tokens")
    assert secret not in page.content()
    row = page.locator(f'.rh-token[data-token-id="{token_id}"]')
    assert row.locator(".rh-permissions").inner_text() == "video:read"
    row.get_by_role("button", name="Revoke").click()
    page.locator("#revoked").wait_for()
    assert (
        page.locator(f'.rh-token[data-token-id="{token_id}"]').get_attribute("data-state")
        == "revoked"
    )
    with httpx.Client(base_url=ops_server.base_url, auth=(token_id, secret)) as api:
        assert api.get("/video/v1/assets").status_code == 401
    shot(page, "tokens")
    assert page.problems == []  # type: ignore[attr-defined]


def stream_status(server: ServerProcess, playback_id: str, token: str) -> int:
    url = f"{server.base_url}/stream/{playback_id}.m3u8?token={token}"
    return httpx.get(url).status_code


def test_signing_key_created_copied_and_deleted(
    ops_server: ServerProcess, browser: Browser, clip: Callable[[str], Path]
) -> None:
    with ops_server.client() as api:
        assets = api.get("/video/v1/assets").json()["data"]
    ready = next((a for a in assets if a["status"] == "ready"), None)
    asset = ready or upload_and_wait(ops_server, clip("small"))
    playback_id = add_signed_playback_id(ops_server, asset["id"])

    page = signed_in(browser, ops_server)
    page.get_by_role("link", name="Signing keys").click()
    page.get_by_role("button", name="Create signing key").click()
    page.locator("#new-key").wait_for()
    assert "does not store the private key" in page.locator("#new-key").inner_text()
    key_id = page.get_by_role("textbox", name="Key id").input_value()
    private_key = page.get_by_role("textbox", name="Private key (base64 of the PEM)").input_value()
    assert copy_and_read(page, "new-key-id") == key_id
    assert copy_and_read(page, "new-key-private") == private_key
    shot(page, "signing-keys")

    # What was copied signs tokens the stream accepts.
    token = sign_playback_token(
        private_key_pem(private_key),
        key_id=key_id,
        playback_id=playback_id,
        audience="v",
        expires_at=int(time.time()) + 600,
    )
    assert stream_status(ops_server, playback_id, token) == 200

    page.goto(ops_server.base_url + "/signing-keys")
    assert private_key not in page.content()
    row = page.locator(f'.rh-signing-key[data-key-id="{key_id}"]')
    row.get_by_role("link", name=f"Delete signing key {key_id}").click()
    page.wait_for_url(f"**/signing-keys/{key_id}/delete")
    assert "stops working at once" in page.locator("main").inner_text()
    page.get_by_role("button", name="Delete the key").click()
    page.locator("#deleted").wait_for()
    assert page.locator(f'.rh-signing-key[data-key-id="{key_id}"]').count() == 0

    # Within the verifiers' key cache (5 s), the token is refused.
    deadline = time.monotonic() + 20
    while stream_status(ops_server, playback_id, token) != 403:
        assert time.monotonic() < deadline, "a token of the deleted key still plays"
        time.sleep(0.5)
    assert page.problems == []  # type: ignore[attr-defined]


UNLABELLED = """() => Array.from(document.querySelectorAll(
  'main input:not([type=hidden]), main select, main textarea, main button'))
  .filter(el => !el.hidden && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
    && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map(el => el.outerHTML)"""

CONTROLS = """() => Array.from(document.querySelectorAll(
  'main input:not([type=hidden]):not([disabled]), main select, main button,'
  + ' main a[href], main summary'))
  .filter(el => !el.hidden && el.offsetParent !== null).length"""


TAB_STEP = """() => { const el = document.activeElement;
  if (!el || el.tagName === 'MAIN' || !el.closest('main')) return 'outside';
  window.rhTabbed = window.rhTabbed || [];
  if (window.rhTabbed.includes(el)) return 'again';
  window.rhTabbed.push(el); return 'new'; }"""


def reached_by_tab(page: Page) -> int:
    """How many distinct controls in ``main`` take focus as Tab walks the page once."""
    reached = 0
    for _ in range(300):
        page.keyboard.press("Tab")
        step = page.evaluate(TAB_STEP)
        if step == "again":
            break
        reached += step == "new"
    return reached


def test_pages_fit_a_phone_with_labels_and_keyboard_focus(
    ops_server: ServerProcess, browser: Browser
) -> None:
    page = signed_in(browser, ops_server, width=375)
    with ops_server.client() as api:
        endpoints = api.get("/system/v1/webhooks").json()["data"]
    assert endpoints, "the endpoint added by the webhook test is gone"
    pages = {
        "operations": "/operations",
        "webhooks": "/webhooks",
        "tokens": "/tokens",
        "signing-keys": "/signing-keys",
        "webhook-endpoint": f"/webhooks/{endpoints[0]['id']}",
    }
    for name, path in pages.items():
        page.goto(ops_server.base_url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 376, f"{path} is {width} px wide at 375"
        assert page.evaluate(UNLABELLED) == [], path
        controls = page.evaluate(CONTROLS)
        assert reached_by_tab(page) >= controls, path
        shot(page, f"phone-{name}")
    assert page.problems == []  # type: ignore[attr-defined]
