"""What a request borrows from the app (the platforms table, read once per build, and the
catalog connection a SQLite thread keeps across requests), and the badges built from it."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from catalog.backends.base import Hit
from catalog.store import Catalog
from search_ui.app import create_app
from search_ui.context import close_backend, get_catalog, platform, platforms
from search_ui.present import badges_html, hit_views, with_details
from search_ui.search import find_place
from tests.search_ui.helpers import MemoryBackend


@dataclass(frozen=True)
class Source:
    key: str
    name: str
    enabled: bool = True
    schedule: dict[str, Any] | None = None
    base_url: str = "https://example.org"
    homepage: str | None = None


def _complete_build(catalog: Catalog) -> int:
    build_id = catalog.entities.begin_build("full")
    catalog.entities.complete_build(build_id, "full", {})
    return build_id


def test_a_platform_registered_shows_from_the_next_build(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with Catalog.open(path) as catalog:
        catalog.register_sources([Source("alpha", "Alpha", homepage="https://alpha.example")])
        _complete_build(catalog)
    app = create_app({"AGORA_CATALOG": str(path), "AGORA_RATE_LIMIT": "off",
                      "AGORA_BACKEND": MemoryBackend([])})
    try:
        with app.test_request_context("/"):
            assert list(platforms()) == ["alpha"]
            assert platform("alpha").homepage == "https://alpha.example"
            assert platform("beta").name == "Beta"  # not registered: by its key, last
        with Catalog.open(path) as catalog:
            catalog.register_sources([Source("beta", "Bêta Local"), Source("alpha", "Alpha")])
            _complete_build(catalog)
        with app.test_request_context("/"):
            assert list(platforms()) == ["beta", "alpha"]
            assert platform("beta").name == "Bêta Local"
            assert platform("alpha").rank == 1
    finally:
        close_backend(app)


def test_a_sqlite_thread_keeps_its_connection(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    Catalog.open(path).close()
    app = create_app({"AGORA_CATALOG": str(path), "AGORA_RATE_LIMIT": "off",
                      "AGORA_BACKEND": MemoryBackend([])})
    seen: list[Catalog] = []

    def one_request() -> None:
        with app.test_request_context("/"):
            seen.append(get_catalog())

    try:
        one_request()
        one_request()
        other = threading.Thread(target=one_request)
        other.start()
        other.join()
        assert seen[0] is seen[1]  # the same thread: the same connection
        assert seen[2] is not seen[0]  # SQLite: one connection per thread
    finally:
        close_backend(app)
    with pytest.raises(sqlite3.ProgrammingError):  # closed with the app
        seen[0].conn.execute("SELECT 1")


def test_badges_are_escaped_links_to_safe_urls() -> None:
    html = str(badges_html([
        {"key": "a&b", "name": "<b>Nom</b>", "url": 'https://x.example/?a=1&b="2"'},
        {"key": "plain", "name": "Plain", "url": None}], "Sur <les> plateformes"))
    assert 'aria-label="Sur &lt;les&gt; plateformes"' in html
    assert ('<a class="badge badge-a&amp;b" href="https://x.example/?a=1&amp;b=&#34;2&#34;" '
            'rel="noopener noreferrer nofollow" title="Voir sur &lt;b&gt;Nom&lt;/b&gt; '
            '(site externe)">&lt;b&gt;Nom&lt;/b&gt;') in html
    assert '<span class="badge badge-plain">Plain</span>' in html
    assert "<b>" not in html
    assert str(badges_html([])) == ""


def test_a_catalog_replaced_under_the_app_is_reopened(tmp_path: Path) -> None:
    path, other = tmp_path / "catalog.sqlite", tmp_path / "restored.sqlite"
    with Catalog.open(path) as catalog:
        catalog.register_sources([Source("alpha", "Alpha")])
        _complete_build(catalog)
    with Catalog.open(other) as catalog:
        catalog.register_sources([Source("gamma", "Gamma")])
        _complete_build(catalog)  # the same build number as the file it replaces
    app = create_app({"AGORA_CATALOG": str(path), "AGORA_RATE_LIMIT": "off",
                      "AGORA_BACKEND": MemoryBackend([])})
    try:
        with app.test_request_context("/"):
            assert list(platforms()) == ["alpha"]
        other.replace(path)  # as ``agora restore --force`` does
        with app.test_request_context("/"):
            assert list(platforms()) == ["gamma"]
    finally:
        close_backend(app)


def _app_on_one_platform(path: Path) -> Any:
    """An app on a catalog with one complete build and one platform, "alpha"."""
    with Catalog.open(path) as catalog:
        catalog.register_sources([Source("alpha", "Alpha")])
        _complete_build(catalog)
    return create_app({"AGORA_CATALOG": str(path), "AGORA_RATE_LIMIT": "off",
                       "AGORA_BACKEND": MemoryBackend([])})


def test_a_hit_view_follows_its_document_and_the_platforms_table(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    app = _app_on_one_platform(path)
    doc = {"id": "shop-1", "kind": "shop", "name": "Chez Léa", "city": "Albi",
           "platforms": ["alpha"],
           "sources": [{"source": "alpha", "url": "https://alpha.example/lea"}]}

    def view(document: dict[str, Any], score: float = 1.0) -> dict[str, Any]:
        with app.test_request_context("/"):
            return hit_views([Hit("shop-1", "shop", "Chez Léa", score, document)])[0]

    try:
        first = view(doc)
        assert first["commune"] == "Albi" and first["href"] == "/boutiques/shop-1"
        assert first["platforms"] == [{"key": "alpha", "name": "Alpha",
                                       "url": "https://alpha.example/lea"}]
        again = view(doc, score=2.0)  # the same document: drawn once
        assert again["platforms"] is first["platforms"] and again["score"] == 2.0
        moved = view({**doc, "city": "Castres"})  # the next index's document
        assert moved["commune"] == "Castres"
        with Catalog.open(path) as catalog:
            catalog.register_sources([Source("alpha", "Alpha Local")])
            _complete_build(catalog)
        assert view({**doc, "city": "Castres"})["platforms"][0]["name"] == "Alpha Local"
    finally:
        close_backend(app)


def _catalog_with_a_shop(path: Path, city: str, lat: float, lon: float) -> None:
    with Catalog.open(path) as catalog:
        build_id = catalog.entities.begin_build("full")
        catalog.entities.write_build(build_id, {"shop-1": {
            "entity_id": "shop-1", "kind": "shop", "name": "Chez Léa", "city": city,
            "postcode": "81000", "lat": lat, "lon": lon}}, [], [], replace_all=True)
        catalog.entities.complete_build(build_id, "full", {})


def test_the_place_finder_reads_a_catalog_replaced_under_the_app(tmp_path: Path) -> None:
    path, other = tmp_path / "catalog.sqlite", tmp_path / "restored.sqlite"
    _catalog_with_a_shop(path, "Albi", 43.93, 2.15)
    _catalog_with_a_shop(other, "Castres", 43.61, 2.24)  # the same build number
    app = create_app({"AGORA_CATALOG": str(path), "AGORA_RATE_LIMIT": "off",
                      "AGORA_BACKEND": MemoryBackend([])})
    try:
        with app.test_request_context("/"):
            assert find_place("Albi") is not None and find_place("Castres") is None
        other.replace(path)  # as ``agora restore --force`` does
        with app.test_request_context("/"):
            assert find_place("Castres") is not None and find_place("Albi") is None
    finally:
        close_backend(app)


def test_a_hits_details_are_drawn_once_per_document(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    app = _app_on_one_platform(path)
    doc = {"id": "offer-1", "kind": "offer", "name": "Pain <bis>", "brand": "Fournil",
           "city": "Albi", "price_min": 250, "price_max": 250, "platforms": ["alpha"]}

    def details(document: dict[str, Any], name: str = "Pain <bis>") -> Any:
        with app.test_request_context("/"):
            return with_details(hit_views([Hit("offer-1", "offer", name, 1.0, document)]))[0][
                "details"]

    try:
        first = details(doc)
        assert '<span>Fournil</span>' in first and "<span>Albi</span>" in first
        assert "2,50\u00a0€" in first and 'badge-alpha' in first
        assert details(doc) is first  # the same document: drawn once
        assert "<span>Castres</span>" in details({**doc, "city": "Castres"})
        assert "Fournil" not in details({**doc, "city": "Castres"}, name="Fournil")
    finally:
        close_backend(app)
