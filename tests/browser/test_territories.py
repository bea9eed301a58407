"""The territory chooser in a browser: / lists the territories, a click goes to one, whose
search (suggestions included) keeps to it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from normalizer.territories import load_territories
from search_ui.context import close_backend
from search_ui.site import create_site
from tests.browser.conftest import Site, Watched


@pytest.fixture(scope="module")
def two_territories(site: Site) -> Iterator[str]:
    served = create_site({"AGORA_CATALOG": str(site.world.catalog), "AGORA_RATE_LIMIT": "off",
                          "AGORA_TERRITORIES": load_territories("config/territories.yaml")})
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    for app in [served.root, *served.apps.values()]:
        close_backend(app)


def test_choose_a_territory_then_search_it(two_territories: str,
                                           browser_page: Watched) -> None:
    page = browser_page.page
    page.goto(two_territories + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Choisissez votre territoire"
    browser_page.shot("territories")
    page.get_by_role("link", name="Toulouse").click()
    page.wait_for_url(re.compile(r"/t/toulouse/$"))
    assert "commerces de Toulouse" in page.title()
    box = page.get_by_role("combobox", name="Boutique, produit, marque ou métier")
    box.press_sequentially("from", delay=40)
    page.get_by_role("listbox", name="Suggestions").wait_for(state="visible")
    assert page.get_by_role("option").count() > 0
    page.goto(two_territories + "/t/grand_nancy/")
    assert "commerces du Grand Nancy" in page.title()
    box = page.get_by_role("combobox", name="Boutique, produit, marque ou métier")
    box.fill("fromagerie")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/t/grand_nancy/\?q=fromagerie"))
    assert "Toulouse" not in page.locator("main").inner_text()  # no Toulouse shop here
