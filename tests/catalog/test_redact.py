"""Secrets masked in URLs, free text and JSON payloads (``catalog.redact``)."""

from __future__ import annotations

import pytest

from catalog.redact import MASK, is_secret_name, redact, redact_text, redact_url


@pytest.mark.parametrize("name", [
    "token", "access_token", "TOKEN", "api_key", "apikey", "api-key", "X-Api-Key", "key",
    "subscription_key", "secret", "client_secret", "password", "passwd", "pwd", "auth",
    "oauth_token", "authorization", "signature", "sig", "session", "sessionid", "jwt",
    "credentials", "private_key", "access_key", "pass"])
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["page", "q", "author", "authority", "postcode", "code",
                                  "categorie", "commune", "tri", "p", "cursor", "offset", ""])
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(("url", "expected"), [
    ("https://api.example/v1/shops?page=2&token=s3cr3t",
     "https://api.example/v1/shops?page=2&token=***"),
    ("https://api.example/v1?api_key=a&key=b&access_token=c&x=1",
     "https://api.example/v1?api_key=***&key=***&access_token=***&x=1"),
    ("https://bob:hunter2@api.example:8443/v1", "https://***@api.example:8443/v1"),
    ("https://ghp_tok@github.example/repo", "https://***@github.example/repo"),
    ("https://h.example/cb#access_token=zz&state=1", "https://h.example/cb#access_token=***&state=1"),
    ("https://h.example/p?a=1#token=x", "https://h.example/p?a=1#token=***"),
    ("https://h.example/p?token=", "https://h.example/p?token="),
    ("https://h.example/p?page=3", "https://h.example/p?page=3"),
    ("/sources?token=abc&tri=etat", "/sources?token=***&tri=etat"),
    ("", ""),
])
def test_urls(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert redact_url(expected) == expected  # idempotent
    assert redact_text(url) == expected


def test_text_with_urls_pairs_and_headers() -> None:
    text = ("GET https://u:p@api.example/x?api_key=K1 failed (401); retried with token=T2, "
            "Authorization: Bearer T3 and X-Api-Key: T4; see https://docs.example/page.")
    out = redact_text(text)
    for secret in ("u:p", "K1", "T2", "T3", "T4"):
        assert secret not in out
    assert out.endswith("see https://docs.example/page.")
    assert "api_key=***" in out and "Bearer ***" in out and "X-Api-Key: ***" in out
    assert redact_text(out) == out


def test_ordinary_text_is_unchanged() -> None:
    text = "Erreur 500 sur https://shop.example/p?page=2 : « clé » manquante, author=Bob"
    assert redact_text(text) == text


def test_json_payloads() -> None:
    payload = {"sources": [{"key": "tt", "errors": [
        {"url": "https://tt.example/api?token=abc", "message": "Bearer abc refused", "n": 3}]}]}
    out = redact(payload)
    error = out["sources"][0]["errors"][0]
    assert error == {"url": f"https://tt.example/api?token={MASK}",
                     "message": f"Bearer {MASK} refused", "n": 3}
