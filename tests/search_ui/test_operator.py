"""The operator pages: the token (header, cookie, ?token=), 401 without it, escaped data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalog.store import Catalog
from crawlers.config import load_sources
from crawlers.listing import PageResult
from crawlers.sink import CatalogSink
from search_ui.operator import COOKIE, operator_bp

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-3f9a0c"
KEY = "clickandco"
EVIL_URL = "javascript:alert(document.cookie)"
EVIL_REASON = '<script>alert("x")</script> & <b>bold</b>'


def shops(n: int, *, phone: bool = True) -> list[dict[str, Any]]:
    return [{"kind": "shop", "source_id": f"s{i}", "url": f"https://shop.test/{i}",
             "name": f"Boutique {i}", **({"phone": "05 61 00 00 00"} if phone else {})}
            for i in range(n)]


@pytest.fixture
def catalog_path(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.sqlite"
    with Catalog.open(path) as catalog:
        catalog.register_sources(load_sources(ROOT / "config" / "sources.yaml").values())
        for listings, errors in ((shops(30), []),
                                 (shops(30, phone=False), [(EVIL_URL, "invalid_record",
                                                            EVIL_REASON)])):
            run_id = catalog.begin_run(KEY)
            sink = CatalogSink(catalog, run_id, KEY)
            sink.write(PageResult(url="https://shop.test/list", listings=listings,
                                  errors=errors))
            sink.finish()
        for n in (40, 5):  # a source whose listings fell
            run_id = catalog.begin_run("tout_toulouse")
            sink = CatalogSink(catalog, run_id, "tout_toulouse")
            sink.write(PageResult(url="https://tt.test/list", listings=shops(n)))
            sink.finish()
    return path


@pytest.fixture
def app(catalog_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.delenv("AGORA_OPERATOR_TOKEN", raising=False)
    app = Flask("operator-test")
    app.config.update(AGORA_CATALOG=str(catalog_path))
    app.register_blueprint(operator_bp)
    return app


@pytest.fixture
def client(app: Flask, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setenv("AGORA_OPERATOR_TOKEN", TOKEN)
    return app.test_client()


def assert_refused(response: Any) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    assert KEY not in body and "Boutique" not in body and "degraded" not in body


@pytest.mark.parametrize("path", ["/sources", "/sources.json"])
def test_without_a_configured_token_everything_is_401(app: Flask, path: str) -> None:
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}):
        assert_refused(client.get(path, headers=headers))
    assert_refused(client.get(path + "?token="))


def test_an_empty_token_in_the_environment_is_no_token(app: Flask,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_OPERATOR_TOKEN", "")
    assert_refused(app.test_client().get("/sources", headers={"Authorization": "Bearer "}))


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": TOKEN}, {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": "Bearer tök"},
])
def test_a_missing_or_wrong_token_is_401(client: FlaskClient, headers: dict[str, str]) -> None:
    assert_refused(client.get("/sources", headers=headers))
    response = client.get("/sources.json", headers=headers)
    assert_refused(response)
    assert response.get_json()["error"] == "unauthorized"


def test_the_401_page_is_html_for_a_browser(client: FlaskClient) -> None:
    response = client.get("/sources")
    assert response.status_code == 401 and response.mimetype == "text/html"
    assert "Accès réservé" in response.get_data(as_text=True)


def test_a_bearer_token_opens_the_pages(client: FlaskClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    page = client.get("/sources", headers=headers)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "Click&#39;n Co" in html and 'state-degraded">dégradée' in html
    assert ("champ shop.phone rempli dans 0 % des annonces, contre 100 % (seuil : 50 %)"
            " — par exemple <a href=\"https://shop.test/0\"") in html
    assert "boutiques : 5 annonces au lieu de 40 (seuil : 20)" in html
    data = client.get("/sources.json", headers=headers).get_json()
    [source] = [s for s in data["sources"] if s["key"] == KEY]
    assert source["state"] == "degraded" and source["last_run"]["kinds"] == {"shop": 30}
    assert {e["kind"] for e in source["errors"]} == {"degraded", "invalid_record"}
    assert any(e["url"] == EVIL_URL for e in source["errors"])
    assert source["last_good_run"]["id"] == 1 and source["live_listings"] == 30
    never = [s for s in data["sources"] if s["key"] == "geolocal31"][0]
    assert never["state"] == "never run" and never["last_run"] is None


def test_scraped_strings_are_escaped_and_never_links(client: FlaskClient) -> None:
    html = client.get("/sources", headers={"Authorization": f"Bearer {TOKEN}"}
                      ).get_data(as_text=True)
    assert EVIL_REASON not in html and "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert 'href="javascript:' not in html and EVIL_URL in html  # shown as text only
    assert 'href="https://shop.test/' in html  # real URLs are links


def test_a_token_in_the_query_sets_a_strict_cookie_and_leaves_the_url(
        client: FlaskClient) -> None:
    response = client.get(f"/sources?token={TOKEN}&tri=etat")
    assert response.status_code == 303
    assert response.headers["Location"] == "/sources?tri=etat"  # the token leaves the URL
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and TOKEN not in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    page = client.get("/sources?tri=etat")  # the test client sends the cookie back
    assert page.status_code == 200 and "Click&#39;n Co" in page.get_data(as_text=True)
    assert client.get("/sources.json").status_code == 200


def test_a_wrong_query_token_or_a_forged_cookie_is_401(client: FlaskClient) -> None:
    assert_refused(client.get(f"/sources?token={TOKEN}0"))
    client.set_cookie(COOKIE, TOKEN)
    assert_refused(client.get("/sources"))
    client.set_cookie(COOKIE, "0" * 64)
    assert_refused(client.get("/sources.json"))


def test_a_changed_token_ends_the_cookie(client: FlaskClient,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    client.get(f"/sources?token={TOKEN}")
    assert client.get("/sources").status_code == 200
    monkeypatch.setenv("AGORA_OPERATOR_TOKEN", "a-new-token")
    assert_refused(client.get("/sources"))


def test_the_app_config_token_wins_over_the_environment(app: Flask,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_OPERATOR_TOKEN", TOKEN)
    app.config["AGORA_OPERATOR_TOKEN"] = "from-config"
    client = app.test_client()
    assert_refused(client.get("/sources", headers={"Authorization": f"Bearer {TOKEN}"}))
    ok = client.get("/sources", headers={"Authorization": "Bearer from-config"})
    assert ok.status_code == 200
