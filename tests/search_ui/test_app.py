"""The app as a whole: factory, security headers, errors mapped in one place, rate limits.

These run on an in-memory search double (``tests.search_ui.helpers.MemoryBackend``) over
the records of a small replica world, so a backend can be made to fail at will.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalog.errors import BackendError
from catalog.store import Catalog
from search_ui.app import CSP, create_app
from tests.search_ui.helpers import XSS_NAME, MemoryBackend, World, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.getbasetemp() / "world")


@pytest.fixture
def backend(world: World) -> MemoryBackend:
    with Catalog.open_read_only(world.catalog) as catalog:
        return MemoryBackend.from_records(list(catalog.entities.records()))


@pytest.fixture
def app(world: World, backend: MemoryBackend) -> Flask:
    return create_app({"AGORA_CATALOG": str(world.catalog), "AGORA_BACKEND": backend,
                       "AGORA_RATE_LIMIT": "off", "AGORA_OPERATOR_TOKEN": "tok"})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_debug_is_off_whatever_the_config(world: World) -> None:
    app = create_app({"AGORA_CATALOG": str(world.catalog), "DEBUG": True})
    assert app.debug is False and app.config["PROPAGATE_EXCEPTIONS"] is False


def test_every_blueprint_is_registered(app: Flask) -> None:
    assert set(app.blueprints) >= {"search", "entities", "api", "overlap", "operator"}
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert {"/", "/pres-de-moi", "/boutiques/<entity_id>", "/produits/<entity_id>",
            "/api/search", "/api/suggest", "/api/shops/<entity_id>",
            "/api/products/<entity_id>", "/api/openapi.json", "/overlap", "/sources",
            "/sources.json"} <= rules


@pytest.mark.parametrize("url", ["/", "/?q=fromagerie", "/api/search?q=pain", "/nowhere"])
def test_security_headers(client: FlaskClient, url: str) -> None:
    r = client.get(url)
    assert r.headers["Content-Security-Policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script(client: FlaskClient, world: World) -> None:
    for url in ("/", "/?q=fromagerie", "/pres-de-moi", f"/boutiques/{world.xss_shop}",
                f"/produits/{world.product}"):
        html = client.get(url).get_data(as_text=True)
        assert XSS_NAME not in html
        assert " onclick=" not in html and " onload=" not in html and "javascript:" not in html
        for tag in html.split("<script")[1:]:
            assert tag.lstrip().startswith("src="), f"inline script in {url}"


def test_operator_pages_keep_their_inline_styles_but_no_script(client: FlaskClient) -> None:
    r = client.get("/sources", headers={"Authorization": "Bearer tok"})
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in csp and "script-src 'self'" in csp
    assert client.get("/sources").status_code == 401


def test_404_html_and_json(client: FlaskClient) -> None:
    page = client.get("/nulle-part")
    assert page.status_code == 404 and "Page introuvable" in page.get_data(as_text=True)
    api = client.get("/api/nulle-part")
    assert api.status_code == 404 and api.json["error"] == "not_found"


def test_405(client: FlaskClient) -> None:
    r = client.post("/api/search")
    assert r.status_code == 405 and r.json["error"] == "method_not_allowed"
    assert "GET" in r.headers["Allow"]


def test_a_crash_is_a_500_without_stack_trace(client: FlaskClient, backend: MemoryBackend,
                                             caplog: pytest.LogCaptureFixture) -> None:
    backend.fail_with = RuntimeError("secret internals /srv/agora/x.py line 12")
    for url in ("/?q=pain", "/api/search?q=pain"):
        r = client.get(url)
        body = r.get_data(as_text=True)
        assert r.status_code == 500
        assert "Traceback" not in body and "secret internals" not in body
    assert client.get("/api/search?q=pain").json["error"] == "internal_error"
    assert "secret internals" in caplog.text  # logged on the server side


def test_backend_errors_are_503(client: FlaskClient, backend: MemoryBackend) -> None:
    backend.fail_with = BackendError("index missing")
    r = client.get("/api/search?q=pain")
    assert r.status_code == 503 and r.json["error"] == "unavailable"
    assert r.headers["Retry-After"] == "30"
    page = client.get("/boutiques/shop-x")
    assert page.status_code == 503 and "indisponible" in page.get_data(as_text=True)


def test_missing_catalog_is_503(tmp_path: Path) -> None:
    app = create_app({"AGORA_CATALOG": str(tmp_path / "none.sqlite"),
                      "AGORA_BACKEND": MemoryBackend()})
    r = app.test_client().get("/pres-de-moi")
    assert r.status_code == 503


def test_a_search_setting_that_cannot_be_honoured_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="AGORA_SEARCH_BUDGET_MS: 'soon'"):
        create_app({"AGORA_CATALOG": str(tmp_path / "catalog.sqlite"),
                    "AGORA_SEARCH_BUDGET_MS": "soon", "AGORA_RATE_LIMIT": "off"})


def test_html_400_is_french(client: FlaskClient) -> None:
    r = client.get("/?q=" + "x" * 201)
    assert r.status_code == 400
    assert "Le paramètre « q » doit faire au plus 200 caractères" in r.get_data(as_text=True)


def test_api_rate_limit_per_client(world: World, backend: MemoryBackend) -> None:
    app = create_app({"AGORA_CATALOG": str(world.catalog), "AGORA_BACKEND": backend,
                      "AGORA_RATE_LIMIT": "3/minute"})
    app.extensions["agora_limiter"].reset()  # counters other tests left in this catalog
    client = app.test_client()
    statuses = [client.get("/api/search?q=pain").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get("/api/suggest?q=pa")
    assert refused.status_code == 429 and refused.json["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    other = client.get("/api/search?q=pain", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 200 and other.headers["X-RateLimit-Remaining"] == "2"
    assert client.get("/?q=pain").status_code == 200  # pages have their own budget
    app.extensions["agora_limiter"].storage.close()


def test_shoppers_get_no_cookie(client: FlaskClient) -> None:
    for url in ("/", "/?q=pain", "/api/search?q=pain", "/overlap", "/nowhere"):
        assert "Set-Cookie" not in client.get(url).headers, url


def test_rate_limit_setting_is_validated(world: World) -> None:
    with pytest.raises(ValueError, match="AGORA_RATE_LIMIT"):
        create_app({"AGORA_CATALOG": str(world.catalog), "AGORA_RATE_LIMIT": "lots"})


def test_a_backend_double_serves_search(client: FlaskClient, backend: MemoryBackend) -> None:
    r = client.get("/api/search?q=fromagerie&kind=shop")
    assert r.status_code == 200 and r.json["total"] > 0
    assert backend.queries[-1].kinds == ("shop",)
