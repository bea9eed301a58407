"""Browser tests: Debian's headless Chromium driven by Playwright's Python package.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium``
(``tools/install-system-deps.sh`` installs Debian's package). Without it the
tests are skipped with a message, unless ``AGORA_REQUIRE_BROWSER=1`` (then they
fail). The site runs in-process (werkzeug, threaded) on a replica world built by
the real pipeline, with the hostile listings of ``tests.search_ui.helpers``.
Screenshots go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from search_ui.app import create_app
from search_ui.context import close_backend
from tests.search_ui.helpers import World, build_world

CHROMIUM = Path(os.environ.get("AGORA_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = (f"Debian's chromium is not installed ({CHROMIUM} missing): run "
                   "tools/install-system-deps.sh (make test does)")
        if os.environ.get("AGORA_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@dataclass
class Site:
    url: str
    world: World


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    world = build_world(tmp_path_factory.getbasetemp() / "world")
    app = create_app({"AGORA_CATALOG": str(world.catalog), "AGORA_RATE_LIMIT": "off"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(f"http://127.0.0.1:{server.server_port}", world)
    server.shutdown()
    thread.join(timeout=5)
    close_backend(app)


@dataclass
class Watched:
    """A page and what went wrong on it: console errors, uncaught errors, dialogs."""

    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _watch(context: Any) -> Watched:
    page = context.new_page()
    watched = Watched(page)
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: watched.errors.append(str(exc)))

    def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return watched


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Watched]:
    context = chromium.new_context(viewport=DESKTOP, locale="fr-FR")
    watched = _watch(context)
    yield watched
    context.close()
    assert not watched.dialogs, f"a dialog opened: {watched.dialogs}"
    assert not watched.errors, f"errors in the page: {watched.errors}"


@pytest.fixture
def phone_page(chromium: Any) -> Iterator[Watched]:
    context = chromium.new_context(viewport=PHONE, locale="fr-FR", is_mobile=True,
                                   has_touch=True, device_scale_factor=2)
    watched = _watch(context)
    yield watched
    context.close()
    assert not watched.errors, f"errors in the page: {watched.errors}"


@pytest.fixture
def located_page(chromium: Any) -> Iterator[Watched]:
    """A page whose browser says the shopper is rue du Taur, Toulouse."""
    context = chromium.new_context(viewport=DESKTOP, locale="fr-FR",
                                   geolocation={"latitude": 43.6047, "longitude": 1.4421},
                                   permissions=["geolocation"])
    watched = _watch(context)
    yield watched
    context.close()
    assert not watched.errors, f"errors in the page: {watched.errors}"
