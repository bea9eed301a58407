"""Websites to a canonical host, e-mail addresses to lower case.

"https://www.Boulangerie-Dupont.fr/contact?x=1" -> "boulangerie-dupont.fr": no
scheme, no "www.", no port, path or query, lower case, internationalised names
kept in Unicode. Pages on a shared host (a Facebook page, an Instagram account,
a Google site) would make every shop on it share one "website": for those
hosts the first path segment is kept ("facebook.com/boulangeriedupont").

Example:
    >>> website_host("HTTP://WWW.Cave-Des-Carmes.FR/boutique/")
    ('cave-des-carmes.fr', None)
    >>> website_host("https://fr-fr.facebook.com/BoulangerieDupont/")
    ('facebook.com/boulangeriedupont', None)
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

# Hosts where many shops have a page: the page, not the host, names the shop.
SHARED_HOSTS = frozenset({
    "facebook.com", "fb.com", "instagram.com", "twitter.com", "x.com", "linkedin.com",
    "tiktok.com", "youtube.com", "pinterest.com", "sites.google.com", "google.com",
    "business.site", "linktr.ee", "pagesjaunes.fr", "tripadvisor.fr", "tripadvisor.com",
    "etsy.com", "leboncoin.fr", "ebay.fr", "amazon.fr", "wordpress.com", "blogspot.com",
    "over-blog.com", "wixsite.com", "jimdo.com", "jimdofree.com", "e-monsite.com",
})
# Edge hyphens break RFC 1035 but resolve in practice and are met on real shop sites.
_HOST_LABEL = re.compile(r"^(?!-+$)[a-z0-9\u00a1-\uffff-]{1,63}$")
_EMAIL = re.compile(r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9\u00a1-\uffff-]+(?:\.[a-z0-9\u00a1-\uffff-]+)+$")
_GENERIC = frozenset({"pages", "pg", "p", "people", "view", "site", "s", "profile", "user",
                      "shop"})
_SUBDOMAIN_PREFIXES = ("www.", "www2.", "www3.", "m.", "fr-fr.", "fr.", "mobile.")


def _strip_host(host: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _SUBDOMAIN_PREFIXES:
            if host.startswith(prefix) and host.count(".") >= 2:
                host = host[len(prefix):]
                changed = True
    return host


@lru_cache(maxsize=100_000)
def website_host(raw: str | None) -> tuple[str | None, str | None]:
    """(canonical host, problem code "invalid_website") of a website field."""
    if raw is None:
        return None, None
    text = str(raw).strip().strip("<>\"'").split()[0] if str(raw).strip() else ""
    if not text:
        return None, None
    if "://" not in text:
        text = "http://" + text.lstrip("/")
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return None, "invalid_website"
    if parts.scheme.lower() not in ("http", "https"):
        return None, "invalid_website"
    host = _strip_host(host)
    labels = host.split(".")
    if (len(labels) < 2 or not all(_HOST_LABEL.match(lb) for lb in labels)
            or labels[-1].isdigit() or len(labels[-1]) < 2):
        return None, "invalid_website"
    if host in SHARED_HOSTS:
        shared = "facebook.com" if host == "fb.com" else host
        segment = next((s for s in parts.path.split("/") if s and s.lower() not in _GENERIC),
                       None)
        if segment and segment.lower() == "profile.php":  # facebook.com/profile.php?id=123
            found = re.search(r"(?:^|&)id=(\d+)", parts.query)
            segment = found.group(1) if found else None
        if segment:
            return f"{shared}/{segment.lower()}", None
        return None, "invalid_website"
    return host, None


@lru_cache(maxsize=100_000)
def normalize_email(raw: str | None) -> tuple[str | None, str | None]:
    """(lower-case address, problem code "invalid_email") of an e-mail field.

    A "mailto:" prefix and surrounding brackets go; of several addresses the first
    valid one is kept.
    """
    if raw is None or not str(raw).strip():
        return None, None
    text = str(raw).strip()
    for candidate in re.split(r"[\s,;]+", text):
        candidate = candidate.strip("<>()[]\"'.").lower()
        if candidate.startswith("mailto:"):
            candidate = candidate[7:].split("?")[0]
        if _EMAIL.match(candidate) and ".." not in candidate:
            return candidate, None
    return None, "invalid_email"
