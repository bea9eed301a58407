"""Rate limits per route class and client, counted in the catalog (``search_ui.ratelimit``).

Two gunicorn workers sharing one budget is in ``test_serve.py``; here the app runs in
process, over the catalog of the module's replica world.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalog.sqlite import SQLiteEngine
from search_ui.app import create_app
from search_ui.context import close_backend
from search_ui.ratelimit import (
    EXTENSION,
    ROUTE_CLASSES,
    RateLimitSettingError,
    parse_limit,
    storage_config,
)
from tests.search_ui.helpers import World

TOKEN = "op-token-5b1e"
#: One URL of each route class per visit; every class gets the same small budget.
CLASS_URLS = {
    "pages": ["/?q=pain", "/pres-de-moi", "/produits/nope", "/boutiques/nope"],
    "api": ["/api/search?q=pain", "/api/suggest?q=fro", "/api/openapi.json"],
    "overlap": ["/overlap", "/overlap/platforms.csv", "/overlap.json",
                "/overlap/figures/jaccard_shops.svg"],
    "operator": ["/sources/connexion", "/sources", "/sources.json"],
}


@pytest.fixture(scope="module")
def catalog(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the world's catalog (SQLite's backup API) for this module's counters."""
    path = tmp_path_factory.mktemp("ratelimit") / "catalog.sqlite"
    source, copy = sqlite3.connect(world.catalog), sqlite3.connect(path)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return path


@pytest.fixture
def make_app(catalog: Path) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def make(**config: Any) -> Flask:
        settings = {"AGORA_CATALOG": str(catalog), "AGORA_OPERATOR_TOKEN": TOKEN,
                    "AGORA_RATE_LIMIT": "100/day", "AGORA_RATE_LIMIT_PAGES": "100/day",
                    "AGORA_RATE_LIMIT_OVERLAP": "100/day",
                    "AGORA_RATE_LIMIT_OPERATOR": "100/day",
                    "AGORA_RATE_LIMIT_LOGIN_FAILURES": "100/day", **config}
        app = create_app(settings)
        limiter = app.extensions.get(EXTENSION)
        if limiter is not None and not apps:
            limiter.reset()  # the counters of earlier tests on this catalog
        apps.append(app)
        return app

    yield make
    for app in apps:
        limiter = app.extensions.get(EXTENSION)
        if limiter is not None and hasattr(limiter.storage, "close"):
            limiter.storage.close()
        close_backend(app)


def statuses(client: FlaskClient, urls: list[str], **kwargs: Any) -> list[int]:
    return [client.get(url, **kwargs).status_code for url in urls]


# --------------------------------------------------------------------------- settings
@pytest.mark.parametrize("spec", ["120/minute", "10 per hour", "5/second; 100/day",
                                  "3 per 10 minutes"])
def test_limit_specs(spec: str) -> None:
    assert parse_limit("AGORA_RATE_LIMIT_PAGES", spec) == spec


@pytest.mark.parametrize("spec", ["off", "OFF", "0", "", None, "none"])
def test_off(spec: str | None) -> None:
    assert parse_limit("AGORA_RATE_LIMIT_PAGES", spec) is None


@pytest.mark.parametrize("spec", ["lots", "10/fortnight", "ten/minute", "0/minute"])
def test_bad_specs_name_the_setting(spec: str) -> None:
    with pytest.raises(RateLimitSettingError, match="AGORA_RATE_LIMIT_OVERLAP"):
        parse_limit("AGORA_RATE_LIMIT_OVERLAP", spec)


def test_storages(tmp_path: Any) -> None:
    uri, options = storage_config("catalog", "var/catalog.sqlite")
    assert uri == "agora+catalog://" and options["catalog"].endswith("/var/catalog.sqlite")
    assert options["catalog"].startswith("/")  # absolute: workers may change folder
    assert storage_config(None, ":memory:") == ("memory://", {})
    url = "postgresql://web@db.internal/agora"
    assert storage_config("catalog", url) == ("agora+catalog://", {"catalog": url})
    for uri in ("redis://cache.internal:6379/2", "rediss://c:6380", "memcached://m:11211",
                "redis+sentinel://s:26379/mymaster", "memory://"):
        assert storage_config(uri, "x.sqlite") == (uri, {})
    with pytest.raises(RateLimitSettingError, match="AGORA_RATE_LIMIT_STORAGE"):
        storage_config("ftp://nowhere", "x.sqlite")


@pytest.mark.parametrize(("key", "value"), [
    ("AGORA_RATE_LIMIT_PAGES", "lots"), ("AGORA_RATE_LIMIT", "ten/minute"),
    ("AGORA_RATE_LIMIT_STORAGE", "mongodb+ftp://x"), ("AGORA_TRUST_PROXY", "two"),
    ("AGORA_TRUST_PROXY", "50")])
def test_the_app_refuses_a_setting_it_cannot_honour(world: World, key: str, value: str) -> None:
    with pytest.raises(ValueError, match=key):
        create_app({"AGORA_CATALOG": str(world.catalog), key: value})


def test_a_storage_without_its_client_package_is_refused(world: World) -> None:
    if importlib.util.find_spec("redis") is not None:  # not a dependency: an operator's choice
        pytest.skip("the redis package is installed here")
    with pytest.raises(RateLimitSettingError, match="AGORA_RATE_LIMIT_STORAGE"):
        create_app({"AGORA_CATALOG": str(world.catalog),
                    "AGORA_RATE_LIMIT_STORAGE": "redis://127.0.0.1:1"})


# --------------------------------------------------------------------------- classes
def test_every_route_belongs_to_a_class(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    classed = {bp for c in ROUTE_CLASSES for bp in c.blueprints}
    assert set(app.blueprints) == classed
    for rule in app.url_map.iter_rules():
        assert rule.endpoint == "static" or rule.endpoint.split(".")[0] in classed, rule


@pytest.mark.parametrize("name", list(CLASS_URLS))
def test_each_route_class_has_its_own_budget(make_app: Callable[..., Flask], name: str) -> None:
    setting = {c.name: c.setting for c in ROUTE_CLASSES}[name]
    budget = len(CLASS_URLS[name])
    app = make_app(**{setting: f"{budget}/day"})
    client = app.test_client()
    if name == "operator":
        client = app.test_client()
        for url in CLASS_URLS[name]:  # the operator is logged in by header
            assert client.get(url, headers={"Authorization": f"Bearer {TOKEN}"}
                              ).status_code in (200, 303)
    else:
        assert 429 not in statuses(client, CLASS_URLS[name])
    # the budget is per class, shared by its routes: any of them is refused now
    for url in CLASS_URLS[name]:
        refused = client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert refused.status_code == 429, url
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert refused.headers["Content-Security-Policy"]
    # the other classes are untouched, and so is another client
    for other, urls in CLASS_URLS.items():
        if other not in (name, "operator"):
            assert client.get(urls[0]).status_code != 429, other
    assert client.get(CLASS_URLS[name][0],
                      environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code != 429
    assert client.get("/static/agora.css").status_code == 200  # static files are not counted


def test_a_refused_page_is_the_site_page_and_the_api_answers_json(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(AGORA_RATE_LIMIT_PAGES="1/day", AGORA_RATE_LIMIT="1/day")
    client = app.test_client()
    assert statuses(client, ["/?q=pain", "/api/search?q=pain"]) == [200, 200]
    page = client.get("/?q=pain")
    html = page.get_data(as_text=True)
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert "Trop de requêtes" in html and 'href="/static/agora.css"' in html
    assert "Revenir à la recherche" in html
    api = client.get("/api/search?q=pain")
    assert api.status_code == 429 and api.json["error"] == "rate_limited"
    assert "1 per 1 day" in api.json["message"]
    assert int(api.headers["Retry-After"]) >= 1 and api.headers["X-RateLimit-Limit"] == "1"


def test_api_answers_say_what_is_left(make_app: Callable[..., Flask]) -> None:
    client = make_app(AGORA_RATE_LIMIT="5/day").test_client()
    remaining = [client.get("/api/search?q=pain").headers["X-RateLimit-Remaining"]
                 for _ in range(3)]
    assert remaining == ["4", "3", "2"]


def test_off_switches_every_limit_off(make_app: Callable[..., Flask]) -> None:
    app = make_app(AGORA_RATE_LIMIT="off", AGORA_RATE_LIMIT_PAGES="1/day")
    assert EXTENSION not in app.extensions
    assert 429 not in statuses(app.test_client(), ["/?q=pain"] * 4)


def test_a_class_set_to_off_is_not_limited(make_app: Callable[..., Flask]) -> None:
    client = make_app(AGORA_RATE_LIMIT_PAGES="off", AGORA_RATE_LIMIT="1/day").test_client()
    assert 429 not in statuses(client, ["/?q=pain"] * 4)
    assert statuses(client, ["/api/search?q=pain"] * 2) == [200, 429]


# --------------------------------------------------------------------------- operator
def test_wrong_tokens_are_counted_and_lock_the_client_out(
        make_app: Callable[..., Flask]) -> None:
    client = make_app(AGORA_RATE_LIMIT_LOGIN_FAILURES="3/day").test_client()
    for _ in range(3):  # looking at the form is free
        assert client.get("/sources/connexion").status_code == 200
        assert client.get("/sources").status_code == 401
    wrong = {"Authorization": "Bearer guess"}
    assert statuses(client, ["/sources.json"] * 3, headers=wrong) == [401, 401, 401]
    right = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/sources.json", headers=right).status_code == 429  # locked out
    other = {"REMOTE_ADDR": "198.51.100.4"}
    assert client.get("/sources.json", headers=right, environ_base=other).status_code == 200


# --------------------------------------------------------------------------- proxy trust
def test_without_proxy_trust_a_forged_forwarded_for_shares_the_socket_bucket(
        make_app: Callable[..., Flask]) -> None:
    client = make_app(AGORA_RATE_LIMIT="2/day", AGORA_TRUST_PROXY="0").test_client()
    codes = [client.get("/api/search?q=pain", headers={"X-Forwarded-For": f"203.0.113.{i}"}
                        ).status_code for i in range(3)]
    assert codes == [200, 200, 429]


def test_behind_a_trusted_proxy_each_client_has_its_bucket(
        make_app: Callable[..., Flask]) -> None:
    client = make_app(AGORA_RATE_LIMIT="2/day", AGORA_TRUST_PROXY="1").test_client()
    for i in range(3):  # the proxy's socket address is the same for all
        forwarded = {"X-Forwarded-For": f"203.0.113.{i}"}
        assert statuses(client, ["/api/search?q=pain"] * 2, headers=forwarded) == [200, 200]
    assert client.get("/api/search?q=pain",
                      headers={"X-Forwarded-For": "203.0.113.0"}).status_code == 429
    # a client cannot choose its address by adding to the header: only the last hop counts
    spoof = {"X-Forwarded-For": "203.0.113.250, 203.0.113.0"}
    assert client.get("/api/search?q=pain", headers=spoof).status_code == 429


# --------------------------------------------------------------------------- shared store
def test_two_apps_on_one_catalog_share_the_budget(make_app: Callable[..., Flask]) -> None:
    """As two workers would: each has its own process state, the counters are the catalog's."""
    first = make_app(AGORA_RATE_LIMIT="4/day").test_client()
    second = make_app(AGORA_RATE_LIMIT="4/day").test_client()
    codes = [c.get("/api/search?q=pain").status_code for c in (first, second) * 3]
    assert codes == [200, 200, 200, 200, 429, 429]


def test_a_locked_catalog_never_fails_a_request(make_app: Callable[..., Flask],
                                                catalog: Path) -> None:
    """A build holding the write lock: the limiter counts in memory meanwhile."""
    client = make_app(AGORA_RATE_LIMIT="3/day").test_client()
    holder = SQLiteEngine.connect(catalog)
    try:
        with holder.transaction():
            holder.execute("CREATE TABLE IF NOT EXISTS lock_probe (x INTEGER)")
            codes = statuses(client, ["/api/search?q=pain"] * 4)
        holder.execute("DROP TABLE IF EXISTS lock_probe")
        counted = holder.query("SELECT count(*) FROM rate_limits")[0][0]
    finally:
        holder.close()
    assert codes == [200, 200, 200, 429]
    assert counted == 0  # nothing reached the catalog: the counting was in memory
