"""The operator pages: the token (header or login form and session), 401 without it, escaped
and redacted data; the token is never taken from the URL."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalog.store import Catalog
from crawlers.config import load_sources
from crawlers.listing import PageResult
from crawlers.sink import CatalogSink
from search_ui.app import create_app
from search_ui.operator import COOKIE, SESSION_LIFETIME

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-3f9a0c"
KEY = "clickandco"
EVIL_URL = "javascript:alert(document.cookie)"
EVIL_REASON = '<script>alert("x")</script> & <b>bold</b>'
SECRET = "platform-secret-77"
SECRET_URL = f"https://user:pw-{SECRET}@tt.test/api/shops?page=2&api_key={SECRET}"
SECRET_REASON = f"HTTP 401 with Authorization: Bearer {SECRET} on /api?token={SECRET}"


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
        for n, errors in ((40, []), (5, [(SECRET_URL, "http_error", SECRET_REASON)])):
            run_id = catalog.begin_run("tout_toulouse")  # a source whose listings fell
            sink = CatalogSink(catalog, run_id, "tout_toulouse")
            sink.write(PageResult(url="https://tt.test/list", listings=shops(n), errors=errors))
            sink.finish()
    return path


@pytest.fixture
def app(catalog_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.delenv("AGORA_OPERATOR_TOKEN", raising=False)
    return create_app({"AGORA_CATALOG": str(catalog_path), "AGORA_RATE_LIMIT": "off",
                       "AGORA_OPERATOR_TOKEN": None, "AGORA_BACKEND": object()})


@pytest.fixture
def client(app: Flask, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setenv("AGORA_OPERATOR_TOKEN", TOKEN)
    return app.test_client()


def csrf(client: FlaskClient, path: str = "/sources/connexion") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def login(client: FlaskClient, token: str = TOKEN, **form: str) -> Any:
    return client.post("/sources/connexion",
                       data={"csrf_token": csrf(client), "token": token, **form})


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


def test_the_401_page_is_the_login_form(client: FlaskClient) -> None:
    response = client.get("/sources?tri=etat")
    html = response.get_data(as_text=True)
    assert response.status_code == 401 and response.mimetype == "text/html"
    assert "Accès réservé" in html and 'action="/sources/connexion"' in html
    assert 'name="next" value="/sources?tri=etat"' in html
    assert 'type="password"' in html and 'name="csrf_token"' in html


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


def test_a_token_in_the_url_is_never_accepted(client: FlaskClient) -> None:
    for path in ("/sources", "/sources.json"):
        response = client.get(f"{path}?token={TOKEN}")
        assert_refused(response)
        assert TOKEN not in response.get_data(as_text=True)
        assert TOKEN not in response.headers.get("Set-Cookie", "")  # (the form's CSRF cookie)
    assert client.get("/sources").status_code == 401  # no access was opened


def test_the_login_form_opens_a_strict_signed_session(client: FlaskClient) -> None:
    response = login(client, next="/sources?tri=etat")
    assert response.status_code == 303 and response.headers["Location"] == "/sources?tri=etat"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and TOKEN not in cookie
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/", "Expires="):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain HTTP here (see the HTTPS test)
    page = client.get("/sources?tri=etat")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Click&#39;n Co" in html
    assert 'action="/sources/deconnexion"' in html  # the logout button
    assert client.get("/sources.json").status_code == 200


def test_a_session_cookie_is_not_a_fixed_function_of_the_token(app: Flask,
                                                               client: FlaskClient) -> None:
    first = login(client).headers["Set-Cookie"].split(";")[0]
    other = app.test_client()
    time.sleep(1.1)  # the signature carries a timestamp: two logins differ in any case
    second = login(other).headers["Set-Cookie"].split(";")[0]
    assert first != second


def test_the_session_cookie_is_secure_over_https(client: FlaskClient) -> None:
    token = csrf(client)
    response = client.post("/sources/connexion", base_url="https://localhost",
                           data={"csrf_token": token, "token": TOKEN})
    assert response.status_code == 303 and "Secure" in response.headers["Set-Cookie"]


def test_the_form_needs_its_csrf_token(client: FlaskClient, app: Flask) -> None:
    response = client.post("/sources/connexion", data={"token": TOKEN})
    assert response.status_code == 400 and "expiré" in response.get_data(as_text=True)
    stranger = csrf(app.test_client())  # a token of another browser's session
    response = client.post("/sources/connexion", data={"token": TOKEN, "csrf_token": stranger})
    assert response.status_code == 400
    assert client.get("/sources").status_code == 401


def test_a_wrong_token_in_the_form_is_401(client: FlaskClient) -> None:
    response = login(client, token=TOKEN + "x")
    assert_refused(response)
    assert "Jeton incorrect" in response.get_data(as_text=True)
    assert client.get("/sources").status_code == 401


def test_logout_ends_the_session(client: FlaskClient) -> None:
    login(client)
    html = client.get("/sources").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    assert client.post("/sources/deconnexion", data={}).status_code == 400  # CSRF needed
    response = client.post("/sources/deconnexion", data={"csrf_token": token.group(1)})
    assert response.status_code == 303 and response.headers["Location"] == "/sources/connexion"
    assert_refused(client.get("/sources"))


def test_a_forged_cookie_is_401(client: FlaskClient) -> None:
    client.set_cookie(COOKIE, TOKEN)
    assert_refused(client.get("/sources"))
    client.set_cookie(COOKIE, "0" * 64)
    assert_refused(client.get("/sources.json"))
    other = create_app({"AGORA_CATALOG": ":memory:", "AGORA_RATE_LIMIT": "off",
                        "AGORA_SECRET_KEY": "another-secret"}).test_client()
    forged = login(other).headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    client.set_cookie(COOKIE, forged)  # a valid session of a server with another secret
    assert_refused(client.get("/sources"))


def test_a_changed_token_ends_the_session(client: FlaskClient,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    login(client)
    assert client.get("/sources").status_code == 200
    monkeypatch.setenv("AGORA_OPERATOR_TOKEN", "a-new-token")
    assert_refused(client.get("/sources"))
    monkeypatch.setenv("AGORA_OPERATOR_TOKEN", TOKEN)
    assert client.get("/sources").status_code == 401  # the stale session was emptied


def test_a_session_expires(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    login(client)
    assert client.get("/sources").status_code == 200
    later = time.time() + SESSION_LIFETIME.total_seconds() + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert_refused(client.get("/sources"))


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/sources",
                                    "/elsewhere", "/sources/connexion", ""])
def test_after_login_only_an_operator_page_is_a_destination(client: FlaskClient,
                                                           target: str) -> None:
    assert login(client, next=target).headers["Location"] == "/sources"


def test_secrets_in_errors_are_shown_masked(client: FlaskClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    html = client.get("/sources", headers=headers).get_data(as_text=True)
    body = client.get("/sources.json", headers=headers).get_data(as_text=True)
    for text in (html, body):
        assert SECRET not in text and "pw-" not in text
    assert "https://***@tt.test/api/shops?page=2&amp;api_key=***" in html
    data = client.get("/sources.json", headers=headers).get_json()
    [source] = [s for s in data["sources"] if s["key"] == "tout_toulouse"]
    [error] = [e for e in source["errors"] if e["kind"] == "http_error"]
    assert error["url"] == "https://***@tt.test/api/shops?page=2&api_key=***"
    assert error["reason"] == ("HTTP 401 with Authorization: Bearer *** on "
                               "/api?token=***")


def test_the_app_config_token_wins_over_the_environment(app: Flask,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_OPERATOR_TOKEN", TOKEN)
    app.config["AGORA_OPERATOR_TOKEN"] = "from-config"
    client = app.test_client()
    assert_refused(client.get("/sources", headers={"Authorization": f"Bearer {TOKEN}"}))
    ok = client.get("/sources", headers={"Authorization": "Bearer from-config"})
    assert ok.status_code == 200
