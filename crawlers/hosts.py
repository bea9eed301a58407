"""Which host a URL is on: crawlers follow links, sitemap entries and next pages on the
platform's own host only, so that a wrong selector or a hostile page never sends a crawler
(and the source's credentials) around the web.

Every crawler asks ``same_host``; a wider rule (a CDN or a second domain an operator
allows) belongs here, so that it holds for every crawler at once.

Example:
    >>> same_host("http://Shop.test/a?p=2", "http://shop.test/")
    True
"""

from __future__ import annotations

from urllib.parse import urlsplit


def host_of(url: str) -> str:
    """The URL's host and port, lowercased (``shop.test:8080``)."""
    return urlsplit(url).netloc.lower()


def same_host(url: str, base_url: str) -> bool:
    """Whether ``url`` is on the host (and port) of ``base_url``."""
    return host_of(url) == host_of(base_url)
