"""Shared pieces of the browser tests: Debian's Chromium through Playwright (never a
downloaded browser), a tab that records page errors and failed responses, signing in to the
dashboard and saving screenshots under ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from .server import TOKEN_ID, TOKEN_SECRET, ServerProcess

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
VENDOR = ROOT / "src" / "reelhouse" / "web" / "static" / "vendor"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)


def launch_chromium(*vendor_files: str) -> Iterator[Browser]:
    """Debian's Chromium, headless; fails first if a vendored browser library is missing."""
    for name in vendor_files:
        if not (VENDOR / name).exists():
            pytest.fail(f"{name} is missing from web/static/vendor: run `make install`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(browser: Browser, width: int = 1280, height: int = 800) -> Page:
    """A tab in its own context; ``tab.problems`` collects page errors and 4xx/5xx answers."""
    tab = browser.new_context(viewport={"width": width, "height": height}).new_page()
    tab.set_default_timeout(30_000)
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    tab.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    tab.problems = problems  # type: ignore[attr-defined]
    return tab


def sign_in(page: Page, server: ServerProcess, token: str = f"{TOKEN_ID}:{TOKEN_SECRET}") -> None:
    """Sign in to the dashboard with an access token (the bootstrap one by default)."""
    response = page.goto(server.base_url + "/")
    assert response is not None
    assert page.url.endswith("/signin")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.base_url + "/")


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot as ``test-artifacts/dashboard-{name}.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
