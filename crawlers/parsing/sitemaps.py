"""Sitemaps: ``Sitemap:`` lines of a robots.txt, sitemap indexes and url sets, gzip or not.

Sitemaps are parsed strictly (well-formed XML, a ``sitemapindex`` or ``urlset``
root), so that one cut short in transit is retried rather than half read; gzip is
told by its magic number, not by the name or the content type, and inflated no
further than the protocol's 50 MB limit (``BodyTooLarge`` past it, a gzip stream
cut short or corrupt is a ``MalformedSitemap``).

Example:
    >>> parse_sitemap(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    ...               b'<url><loc> http://x/a </loc></url></urlset>')
    ('urlset', [SitemapEntry(loc='http://x/a', lastmod=None)])
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from crawlers.bodies import inflate
from crawlers.errors import MalformedPage, MalformedSitemap

DEFAULT_SITEMAP_INDEX = "/sitemap_index.xml"
MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps protocol's own limit, uncompressed

_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                              remove_comments=True)


@dataclass(frozen=True)
class SitemapEntry:
    """One ``<url>`` or ``<sitemap>`` of a sitemap."""

    loc: str
    lastmod: str | None = None


def sitemaps_from_robots(text: str) -> list[str]:
    """The ``Sitemap:`` URLs of a robots.txt, in order."""
    out = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "sitemap" and value.strip():
            out.append(value.strip())
    return out


def decode_sitemap(body: bytes, *, max_bytes: int = MAX_SITEMAP_BYTES) -> bytes:
    """The sitemap's XML bytes: gunzipped when gzip (by magic number), bounded in size."""
    if body[:2] != b"\x1f\x8b":
        return body
    try:
        return inflate(body, max_bytes, "gzip")
    except MalformedPage as exc:
        raise MalformedSitemap(str(exc)) from exc


def parse_sitemap(body: bytes) -> tuple[str, list[SitemapEntry]]:
    """('index' | 'urlset', entries) of a sitemap body (XML or gzip); MalformedSitemap if not."""
    data = decode_sitemap(body)
    try:
        root = etree.fromstring(data, parser=_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise MalformedSitemap(f"not well-formed XML: {exc}") from exc
    tag = etree.QName(root).localname
    if tag not in ("sitemapindex", "urlset"):
        raise MalformedSitemap(f"not a sitemap (root element {tag!r})")
    child = "sitemap" if tag == "sitemapindex" else "url"
    entries = []
    for node in root:
        if not isinstance(node.tag, str) or etree.QName(node).localname != child:
            continue
        loc = lastmod = None
        for part in node:
            if not isinstance(part.tag, str):
                continue
            name = etree.QName(part).localname
            if name == "loc":
                loc = (part.text or "").strip()
            elif name == "lastmod":
                lastmod = (part.text or "").strip() or None
        if loc:
            entries.append(SitemapEntry(loc, lastmod))
    return ("index" if tag == "sitemapindex" else "urlset"), entries
