"""Sitemaps: robots.txt lines, indexes and url sets, gzip, strict parsing of cut sitemaps."""

from __future__ import annotations

import gzip

import pytest

from crawlers.errors import BodyTooLarge, MalformedPage, MalformedSitemap
from crawlers.parsing.sitemaps import (
    SitemapEntry,
    decode_sitemap,
    parse_sitemap,
    sitemaps_from_robots,
)

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def urlset(*locs: str) -> bytes:
    urls = "".join(f"<url><loc>{loc}</loc><lastmod>2026-01-05</lastmod></url>" for loc in locs)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset {NS}>{urls}</urlset>'.encode()


def test_sitemaps_from_robots_reads_every_sitemap_line() -> None:
    text = "User-agent: *\nDisallow: /panier\nsitemap: http://a/x.xml\nSitemap:  http://a/y.xml \n"
    assert sitemaps_from_robots(text) == ["http://a/x.xml", "http://a/y.xml"]
    assert sitemaps_from_robots("User-agent: *\n") == []


def test_parse_sitemap_reads_indexes_urlsets_and_gzip() -> None:
    index = (f'<sitemapindex {NS}><sitemap><loc>http://a/sitemaps/produits-1.xml.gz</loc>'
             "<lastmod>2026-01-12</lastmod></sitemap></sitemapindex>").encode()
    assert parse_sitemap(index) == ("index", [SitemapEntry("http://a/sitemaps/produits-1.xml.gz",
                                                           "2026-01-12")])
    body = urlset("http://a/produit/1-x", "http://a/commerce/2-y")
    kind, entries = parse_sitemap(gzip.compress(body))
    assert kind == "urlset" and [e.loc for e in entries] == ["http://a/produit/1-x",
                                                            "http://a/commerce/2-y"]


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_parse_sitemap_rejects_a_cut_sitemap_plain_or_gzip(cut: float) -> None:
    body = urlset(*(f"http://a/produit/{i}-x" for i in range(200)))
    with pytest.raises(MalformedSitemap):
        parse_sitemap(body[: int(len(body) * cut)])
    packed = gzip.compress(body)
    with pytest.raises(MalformedSitemap):
        parse_sitemap(packed[: int(len(packed) * cut)] + b'<div class="<')
    with pytest.raises(MalformedSitemap):
        parse_sitemap(b"<html><body>Erreur</body></html>")


def test_a_gzip_bomb_is_refused_past_the_size_limit() -> None:
    bomb = gzip.compress(b" " * 5000)
    assert decode_sitemap(bomb, max_bytes=5000) == b" " * 5000
    with pytest.raises(BodyTooLarge, match=r"larger than max_body \(4999 bytes\)") as info:
        decode_sitemap(bomb, max_bytes=4999)
    assert info.value.kind == "too_large" and not isinstance(info.value, MalformedPage)
