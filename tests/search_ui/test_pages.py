"""The shopper's pages on a replica world built by the real pipeline (embedded index)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from flask.testing import FlaskClient

from search_ui.present import highlight
from tests.search_ui.helpers import (
    CONFLICT_NAME,
    XSS_NAME,
    XSS_TITLE,
    XSS_URL,
    World,
)


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.get_data(as_text=True)[:500])
    assert r.mimetype == "text/html"
    return r.get_data(as_text=True)


def hits(html: str) -> list[str]:
    return re.findall(r'<h2 class="hit-title" id="hit-\d+"><a href="([^"]+)"', html)


def total(html: str) -> int:
    m = re.search(r'<h1 id="results-title"[^>]*>\s*([\d\u202f ]+|Aucun) r', html)
    assert m, "no results title"
    return 0 if m.group(1) == "Aucun" else int(re.sub(r"\D", "", m.group(1)))


def test_landing_offers_browsing(client: FlaskClient) -> None:
    html = page(client, "/")
    assert 'role="search"' in html and 'id="q"' in html and 'role="combobox"' in html
    assert "Parcourir par métier" in html and "/?categorie=fromagerie" in html
    assert "/?plateforme=clickandco" in html


def test_search_mixes_shops_and_products_with_platform_badges(client: FlaskClient) -> None:
    html = page(client, "/?q=fromagerie")
    assert total(html) > 3
    assert "/boutiques/" in html
    # each badge links to the listing's page on its platform
    badges = re.findall(r'<a class="badge badge-(\w+)" href="([^"]+)"', html)
    assert badges and all(url.startswith("http") for _, url in badges)
    assert "Plateforme" in html and "Catégorie" in html
    assert "Commune" in html and "Services" in html
    assert re.search(r'<li class="service service-\w+">', html)


def test_products_show_their_price_range(client: FlaskClient, world: World) -> None:
    html = page(client, "/?q=nougaro&type=produit")
    assert total(html) >= 1
    assert re.search(r'class="price">(de )?\d+,\d\d\xa0€', html)
    assert "kind-product" in html or "kind-offer" in html


def test_a_facet_filters_and_is_shown_as_chosen(client: FlaskClient) -> None:
    everything = page(client, "/?q=fromagerie")
    filtered = page(client, "/?q=fromagerie&plateforme=geolocal31")
    assert 0 < total(filtered) < total(everything)
    assert 'name="plateforme" value="geolocal31" checked' in filtered
    assert "Plateforme : Géo'local31" in unescape(filtered)
    # every hit of the filtered page is on that platform
    assert filtered.count('class="hit hit-') == filtered.count("badge-geolocal31\"") or all(
        "badge-geolocal31" in block
        for block in filtered.split('<li class="hit hit-')[1:])


def test_price_facet_and_inputs(client: FlaskClient) -> None:
    html = page(client, "/?q=fromage&type=produit&prix_max=5")
    assert "Prix : jusqu’à 5,00\xa0€" in html
    for amount in re.findall(r'class="price">(?:de )?(\d+),(\d\d)', html):
        assert int(amount[0]) * 100 + int(amount[1]) <= 500


def test_sort_by_distance_from_a_typed_place(client: FlaskClient) -> None:
    html = page(client, "/?lieu=Toulouse&type=boutique&par_page=10")
    assert "Autour de <strong>Toulouse</strong>" in html
    distances = [float(m.replace(",", ".")) * (1 if unit == "km" else 0.001)
                 for m, unit in re.findall(r'class="distance"[^>]*>à ([\d,]+)\xa0(km|m)<', html)]
    assert len(distances) >= 5 and distances == sorted(distances)
    assert '<option value="distance" selected' in html


def test_position_and_radius(client: FlaskClient) -> None:
    html = page(client, "/?lat=43.6045&lon=1.4420&rayon=1&type=boutique")
    for d, unit in re.findall(r'class="distance"[^>]*>à ([\d,]+)\xa0(km|m)<', html):
        assert unit == "m" or float(d.replace(",", ".")) <= 1.0
    assert "Rayon : 1,0\xa0km" in html


def test_distance_sort_without_a_place_is_explained(client: FlaskClient) -> None:
    html = page(client, "/?q=pain&tri=distance")
    assert "Pour trier par distance, indiquez votre position ou un lieu." in html


def test_unknown_place_is_explained(client: FlaskClient) -> None:
    html = page(client, "/?lieu=Quimper")
    assert "Lieu « Quimper » introuvable" in html


def test_corrected_results_offer_the_text_as_typed(client: FlaskClient) -> None:
    """A misspelt word: the results of the word meant, and a link back to the typed one."""
    html = page(client, "/?q=fromgerie&plateforme=geolocal31")
    assert total(html) > 0
    assert re.search(r"Résultats pour <strong>« fromagerie »</strong> ;\s*rechercher plutôt "
                     r'<a href="/\?q=fromgerie&amp;plateforme=geolocal31&amp;tel_quel=1">'
                     r"« fromgerie »</a>", html)
    typed = page(client, "/?q=fromgerie&plateforme=geolocal31&tel_quel=1")
    assert total(typed) == 0 and "Résultats pour" not in typed
    assert 'name="tel_quel" value="1"' in typed  # kept by the search form


def test_did_you_mean(client: FlaskClient) -> None:
    """Nothing found, even for the word meant: the correction is offered, not imposed."""
    html = page(client, "/?q=fromgerie&plateforme=nulle_part")
    assert total(html) == 0 and "Résultats pour" not in html
    assert re.search(r'Vouliez-vous dire <a href="/\?q=fromagerie&amp;plateforme=nulle_part">'
                     r"« fromagerie »</a>", html)


def test_empty_state(client: FlaskClient) -> None:
    html = page(client, "/?q=xylophonique+zzzzqqq")
    assert total(html) == 0
    assert "Rien ne correspond à « xylophonique zzzzqqq »" in html
    assert "Vérifiez l’orthographe" in html


def test_pagination(client: FlaskClient) -> None:
    first = page(client, "/?type=boutique&par_page=5")
    assert 'aria-label="Pages de résultats"' in first and 'rel="next"' in first
    second = page(client, "/?type=boutique&par_page=5&page=2")
    assert set(hits(first)).isdisjoint(hits(second))
    assert 'aria-current="page" class="current"><span class="visually-hidden">Page </span>2' \
        in second


def test_near_me_page(client: FlaskClient) -> None:
    html = page(client, "/pres-de-moi")
    assert "data-geolocate" in html and 'name="lieu"' in html
    assert '<option value="Toulouse">' in html  # communes of the build, for the datalist
    assert 'label for="lieu"' in html


def test_shop_page_merges_every_platform_and_shows_conflicts(client: FlaskClient,
                                                              world: World) -> None:
    html = page(client, f"/boutiques/{world.conflict_shop}")
    assert f"<h1 id=\"shop-name\">{CONFLICT_NAME}</h1>" in html
    assert "Présente sur 2 plateformes" in html
    assert "https://toutoulouse.example/boutique/conflict-a" in html
    assert "https://dansmazone.example/commerce/conflict-b" in html
    assert "Les plateformes ne sont pas d’accord" in html
    assert "05 61 11 22 33" in html and "05 62 99 88 77" in html
    assert 'href="tel:+33561112233"' in html
    assert "du mardi au samedi : 9h–19h" in unescape(html).lower() or "Du mardi" in html
    assert "Livraison" in html and "18 rue des Filatiers, 31000 Toulouse" in html
    # the plan: inline SVG, no tile server
    assert '<svg class="plan-svg"' in html and "plan-scale" in html
    assert "tile" not in html.lower() and "openstreetmap" not in html.lower()


def test_shop_page_lists_its_items_and_neighbours(client: FlaskClient, world: World) -> None:
    html = page(client, f"/boutiques/{world.multi_platform_shop}")
    assert re.search(r"Produits \((\d+)\)", html) and "/produits/" in html
    assert "Boutiques voisines" in html
    platforms = re.findall(r'<li><a class="badge badge-(\w+)" href="http', html)
    assert len(set(platforms)) >= 2


def test_product_page_compares_offers(client: FlaskClient, world: World) -> None:
    html = page(client, f"/produits/{world.product}")
    rows = re.findall(r'<td class="num">([^<]+)</td>', html)
    prices = [float(r.replace("\xa0€", "").replace(",", ".")) for r in rows if "€" in r]
    assert len(prices) >= 2 and prices == sorted(prices)
    assert "Offres par boutique et par plateforme" in html and "/boutiques/" in html
    assert "Voir sur" in html


def test_a_shop_item_has_a_page_too(client: FlaskClient, world: World) -> None:
    html = page(client, f"/produits/{world.xss_item}")
    assert "9,90\xa0€" in html and f"/boutiques/{world.xss_shop}" in html


@pytest.mark.parametrize("url", ["/boutiques/shop-nope", "/produits/product-nope",
                                 "/boutiques/..%2F..%2Fetc", "/boutiques/" + "x" * 200])
def test_unknown_entities_are_404(client: FlaskClient, url: str) -> None:
    page(client, url, 404)


def test_kind_mismatch_is_404(client: FlaskClient, world: World) -> None:
    page(client, f"/produits/{world.conflict_shop}", 404)
    page(client, f"/boutiques/{world.product}", 404)


# --------------------------------------------------------------------------- hostile data
def test_scraped_markup_is_text_everywhere(client: FlaskClient, world: World) -> None:
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for url in ("/?q=alert", f"/boutiques/{world.xss_shop}", f"/produits/{world.xss_item}",
                "/?q=tarte"):
        html = page(client, url)
        assert XSS_NAME not in html and XSS_TITLE not in html
        assert not re.search(r"<[^>]*onerror", html) and "<img src=x" not in html
    shop = page(client, f"/boutiques/{world.xss_shop}")
    assert escaped in shop and "&lt;b&gt;gras&lt;/b&gt; &amp; &lt;i&gt;italique&lt;/i&gt;" in shop
    assert XSS_URL not in shop  # a javascript: link is never a link
    assert 'href="javascript' not in shop


def test_highlights_keep_only_mark() -> None:
    assert str(highlight("<mark>Pain</mark> &lt;b&gt;")) == "<mark>Pain</mark> &lt;b&gt;"
    assert str(highlight("<mark><script>x</script></mark>")) == \
        "<mark>&lt;script&gt;x&lt;/script&gt;</mark>"
    assert str(highlight("<mark>open")) == "open"
    assert str(highlight("a <img src=x onerror=alert(1)> b")) == \
        "a &lt;img src=x onerror=alert(1)&gt; b"
