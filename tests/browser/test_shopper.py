"""A shopper in headless Chromium: search with suggestions, a facet, distance, a shop, a
product, the platforms shown, hostile names, the keyboard alone, a phone-sized screen.

Screenshots of the main pages are saved under test-output/screenshots/.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from typing import Any

import pytest

from tests.search_ui.helpers import XSS_NAME, XSS_TITLE

from .conftest import Site, Watched

pytestmark = pytest.mark.browser


def record(site: Site, entity_id: str) -> dict[str, Any]:
    conn = sqlite3.connect(site.world.catalog)
    row = conn.execute("SELECT data FROM entities WHERE entity_id = ?", (entity_id,)).fetchone()
    conn.close()
    return json.loads(row[0])


def wait_until(page: Any, expression: str, timeout_s: float = 10.0) -> None:
    """Poll ``expression`` from outside the page (the page's CSP forbids the eval that
    Playwright's wait_for_function relies on, and rightly so)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {expression}"
        page.wait_for_timeout(50)


def distances_km(page: Any) -> list[float]:
    out = []
    for text in page.locator(".hit .distance").all_inner_texts():
        m = re.match(r"à ([\d,]+)\s(km|m)", text.replace("\xa0", " "))
        assert m, text
        value = float(m.group(1).replace(",", "."))
        out.append(value if m.group(2) == "km" else value / 1000)
    return out


def test_search_with_suggestions_then_a_facet(site: Site, browser_page: Watched) -> None:
    page = browser_page.page
    page.goto(site.url + "/")
    browser_page.shot("home")
    box = page.get_by_role("combobox", name="Boutique, produit, marque ou métier")
    box.press_sequentially("from", delay=40)
    listbox = page.get_by_role("listbox", name="Suggestions")
    listbox.wait_for(state="visible")
    assert box.get_attribute("aria-expanded") == "true"
    options = page.get_by_role("option")
    assert options.count() >= 1 and "from" in options.first.inner_text().lower()
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == "q-suggestion-0"
    assert options.first.get_attribute("aria-selected") == "true"
    browser_page.shot("suggestions")
    box.press("Escape")
    assert listbox.is_hidden() and box.get_attribute("aria-expanded") == "false"
    box.press_sequentially("agerie")
    box.press("Enter")
    page.wait_for_url(re.compile(r"\?q=fromagerie"))
    title = page.locator("#results-title")
    before = int(re.sub(r"\D", "", title.inner_text().split("résultat")[0]))
    assert before > 3
    browser_page.shot("search-results")

    # a facet: tick a platform; the page reloads filtered, focus back on the box ticked
    facet = page.get_by_role("group", name="Plateforme").get_by_label(re.compile("Géo.local31"))
    facet.check()
    page.wait_for_url(re.compile(r"plateforme=geolocal31"))
    after = int(re.sub(r"\D", "", page.locator("#results-title").inner_text().split("résultat")[0]))
    assert 0 < after < before
    wait_until(page, "document.activeElement && document.activeElement.value === 'geolocal31'")
    for hit in page.locator("li.hit").all():
        assert hit.locator(".badge-geolocal31").count() == 1
    assert page.get_by_role("link", name=re.compile("Plateforme : Géo.local31")).is_visible()
    browser_page.shot("search-facet")


def test_misspelt_words_show_the_words_meant_with_a_way_back(site: Site,
                                                          browser_page: Watched) -> None:
    """Two letters swapped: the results of the word meant, and the text as typed offered."""
    page = browser_page.page
    page.goto(site.url + "/")
    box = page.get_by_role("combobox", name="Boutique, produit, marque ou métier")
    box.fill("formagerie")
    box.press("Enter")
    page.wait_for_url(re.compile(r"\?q=formagerie"))
    notice = page.locator(".did-you-mean.corrected")
    assert "Résultats pour « fromagerie »" in notice.inner_text()
    assert int(re.sub(r"\D", "", page.locator("#results-title").inner_text()
                      .split("résultat")[0])) > 0
    browser_page.shot("corrected-results")
    notice.get_by_role("link", name="« formagerie »").click()
    page.wait_for_url(re.compile(r"tel_quel=1"))
    assert page.locator(".did-you-mean.corrected").count() == 0
    assert "Aucun résultat" in page.locator("#results-title").inner_text()
    browser_page.shot("as-typed-results")


def test_near_me_by_place_sorts_by_distance(site: Site, browser_page: Watched) -> None:
    page = browser_page.page
    page.goto(site.url + "/pres-de-moi")
    browser_page.shot("near-me")
    page.get_by_label("Commune, code postal ou adresse").fill("Toulouse")
    page.locator("#place-rayon").select_option("")
    page.get_by_role("button", name="Chercher autour de ce lieu").click()
    page.wait_for_url(re.compile(r"lieu=Toulouse"))
    found = distances_km(page)
    assert len(found) >= 5 and found == sorted(found)
    assert page.locator("#tri").input_value() == "distance"
    assert "Autour de Toulouse" in page.locator(".place-line").inner_text()
    browser_page.shot("near-me-results")


def test_near_me_by_position(site: Site, located_page: Watched) -> None:
    page = located_page.page
    page.goto(site.url + "/pres-de-moi")
    page.get_by_role("button", name="Me localiser et chercher").click()
    page.wait_for_url(re.compile(r"lat=43\.6047\d*&lon=1\.4421"))
    found = distances_km(page)
    assert found and found == sorted(found) and max(found) <= 5.0  # the 5 km radius chosen
    assert "votre position" in page.locator(".place-line").inner_text()


def test_sort_by_distance_from_the_results(site: Site, browser_page: Watched) -> None:
    page = browser_page.page
    page.goto(site.url + "/?q=boulangerie&lieu=Toulouse&tri=pertinence")
    page.locator("#tri").select_option("distance")
    page.wait_for_url(re.compile(r"lieu=Toulouse(?!.*tri=pertinence)"))
    found = distances_km(page)
    assert found == sorted(found) and len(found) >= 2


def test_open_a_shop_then_a_product_and_check_platforms(site: Site,
                                                        browser_page: Watched) -> None:
    page = browser_page.page
    shop = record(site, site.world.multi_platform_shop)
    page.goto(site.url + "/?q=" + shop["name"].replace("&", "%26"))
    page.get_by_role("link", name=shop["name"], exact=True).first.click()
    page.wait_for_url(re.compile(site.world.multi_platform_shop))
    assert page.get_by_role("heading", level=1).inner_text() == shop["name"]
    badges = page.locator(".on-platforms .badge")
    shown = {b.get_attribute("class").split("badge-")[1] for b in badges.all()}
    assert shown == set(shop["platforms"]) and len(shown) >= 2
    hrefs = {b.get_attribute("href") for b in badges.all()}
    assert hrefs <= {s["url"] for s in shop["sources"]}
    table = page.locator("table.listings tbody tr")
    assert table.count() == len(shop["sources"])
    plan = page.get_by_role("img", name=re.compile("Plan de situation"))
    assert plan.is_visible()
    browser_page.shot("shop")

    page.locator(".items a.item-title").first.click()
    page.wait_for_url(re.compile(r"/produits/"))
    assert page.get_by_role("heading", name="Offres par boutique et par plateforme").is_visible()
    rows = page.locator("table.offers tbody tr")
    assert rows.count() >= 1
    assert rows.first.locator(".badge").inner_text().strip()
    browser_page.shot("item")

    product = record(site, site.world.product)
    page.goto(site.url + f"/produits/{site.world.product}")
    prices = [float(t.replace("\xa0€", "").replace(",", ".").replace("\u202f", ""))
              for t in page.locator("table.offers td.num").all_inner_texts()]
    assert len(prices) >= 2 and prices == sorted(prices)
    assert prices[0] * 100 == pytest.approx(product["price_min"])
    shown = {c.split("badge-")[1] for c in page.locator(".entity-head .badge").evaluate_all(
        "els => els.map(e => e.className)")}
    assert shown == set(product["platforms"])
    browser_page.shot("product")


def test_hostile_names_show_as_text_and_run_nothing(site: Site, browser_page: Watched) -> None:
    page = browser_page.page
    page.goto(site.url + "/?q=alert")
    assert page.get_by_role("link", name=XSS_NAME).count() >= 1
    page.goto(site.url + f"/boutiques/{site.world.xss_shop}")
    assert page.get_by_role("heading", level=1).inner_text() == XSS_NAME
    assert page.locator("script:not([src])").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.get_by_text("<b>gras</b> & <i>italique</i>").is_visible()
    browser_page.shot("shop-hostile-name")
    page.goto(site.url + f"/produits/{site.world.xss_item}")
    assert page.get_by_role("heading", level=1).inner_text() == XSS_TITLE
    assert page.locator("img").count() == 0
    page.wait_for_timeout(300)
    assert browser_page.dialogs == []  # checked again by the fixture


def test_keyboard_alone(site: Site, browser_page: Watched) -> None:
    page = browser_page.page
    page.goto(site.url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Aller au contenu"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.type("boulangerie")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=boulangerie"))
    # Tab to the first facet checkbox and tick it with the space bar
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "checkbox":
            break
    name = page.evaluate("document.activeElement.name")
    value = page.evaluate("document.activeElement.value")
    page.keyboard.press(" ")
    page.wait_for_url(re.compile(rf"{name}={value}"))
    wait_until(page, "document.activeElement && document.activeElement.checked === true")
    browser_page.shot("keyboard-facet")


def test_phone_screen(site: Site, phone_page: Watched) -> None:
    page = phone_page.page
    page.goto(site.url + "/?q=fromagerie")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator("#facets-details").evaluate("d => d.open") is False
    phone_page.shot("phone-search")
    page.locator("#facets-details > summary").click()
    assert page.get_by_role("group", name="Plateforme").is_visible()
    page.goto(site.url + f"/boutiques/{site.world.conflict_shop}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.get_by_role("heading", name="Les plateformes ne sont pas d’accord").is_visible()
    phone_page.shot("phone-shop")


def test_overlap_page(site: Site, browser_page: Watched) -> None:
    page = browser_page.page
    page.goto(site.url + "/overlap")
    figures = page.locator(".figure img")
    assert figures.count() == 3
    wait_until(page, "Array.from(document.images).every(i => i.complete)", 30)
    widths = figures.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert all(w > 100 for w in widths)
    page.locator("#ov-category").select_option("fromagerie")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r"categorie=fromagerie"))
    assert "catégorie « fromagerie »" in page.locator(".method").first.inner_text()
    wait_until(page, "Array.from(document.images).every(i => i.complete)", 30)
    browser_page.shot("overlap")


CONTRAST = """
() => {
  function rgb(c) { const m = c.match(/[\\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; }
  function lum([r, g, b]) {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  }
  function background(el) {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0.5) return c;
    }
    return [255, 255, 255];
  }
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || el.closest("svg, .visually-hidden, .skip-link, option")) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none" || !el.getClientRects().length) continue;
    const fg = rgb(style.color), bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize), weight = parseInt(style.fontWeight, 10);
    const large = size >= 24 || (size >= 18.66 && weight >= 700);
    if (ratio < (large ? 3 : 4.5)) bad.push(`${ratio.toFixed(2)} ${el.tagName}.${el.className}: ${n.textContent.trim().slice(0, 30)}`);
  }
  return bad;
}
"""


@pytest.mark.parametrize("path", ["/?q=fromagerie&lieu=Toulouse", "/pres-de-moi", "/overlap"])
def test_text_contrast_meets_wcag_aa(site: Site, browser_page: Watched, path: str) -> None:
    page = browser_page.page
    page.goto(site.url + path)
    assert page.evaluate(CONTRAST) == []


def test_text_contrast_on_entity_pages(site: Site, browser_page: Watched) -> None:
    page = browser_page.page
    for path in (f"/boutiques/{site.world.conflict_shop}", f"/produits/{site.world.product}",
                 f"/boutiques/{site.world.multi_platform_shop}"):
        page.goto(site.url + path)
        assert page.evaluate(CONTRAST) == [], path
