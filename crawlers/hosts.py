"""Which hosts a crawler may reach: the platform's own origin, and the hosts its entry allows.

Crawlers follow links, sitemap entries, next pages and redirects on the
platform's origin only (scheme, host and port of its ``base_url``), so that a
wrong selector or a hostile page never sends a crawler (and the source's
credentials) around the web or into the internal network: another host,
another port of the same host, ``localhost`` for ``127.0.0.1``, a link-local
metadata address are all "somewhere else". An operator may accept more hosts
with the entry's ``allowed_hosts`` (a CDN, a second domain): they are followed,
but credentials are only ever sent to the platform's origin
(``PlatformHosts.is_home``). Every crawler asks here, so the rule holds for
every crawler type at once.

Example:
    >>> hosts = PlatformHosts("http://shop.test", ("cdn.test:8080",))
    >>> hosts.is_home("HTTP://Shop.test:80/a?p=2"), hosts.allows("http://cdn.test:8080/x.html")
    (True, True)
    >>> hosts.allows("https://shop.test/"), hosts.is_home("http://cdn.test:8080/")
    (False, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
                   r"(?::(?P<port>\d{1,5}))?")

Origin = tuple[str, str, int]


def origin(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL, lowercased, default port filled in; None
    for anything else (another scheme, a port that does not parse, no host)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def host_label(url: str) -> str:
    """``host:port`` of a URL, for counting and reports (``?`` when it has none)."""
    found = origin(url)
    if found is None:
        return urlsplit(url).netloc.rpartition("@")[2].lower() or "?"
    return f"{found[1]}:{found[2]}"


def parse_allowed_host(value: str) -> tuple[str, int | None]:
    """``cdn.example`` or ``cdn.example:8080`` -> (host, port or None); ValueError if not."""
    match = _HOST.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a host or host:port (no scheme, no path)")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{value!r}: port out of range")
    return match["host"].strip("[]").rstrip(".").lower(), port


@dataclass(frozen=True)
class PlatformHosts:
    """The platform's origin and the other hosts its entry allows (``allowed_hosts``).

    An allowed host without a port stands for that host on the default port of
    http and https; with one, for that port.
    """

    base_url: str
    allowed: tuple[str, ...] = ()

    @property
    def home(self) -> Origin | None:
        return origin(self.base_url)

    def is_home(self, url: str) -> bool:
        """Whether ``url`` is on the platform's own origin: the only one credentials go to."""
        found = origin(url)
        return found is not None and found == self.home

    def allows(self, url: str) -> bool:
        """Whether a crawler may request ``url``: the platform's origin or an allowed host."""
        if self.is_home(url):
            return True
        found = origin(url)
        if found is None:
            return False
        scheme, host, port = found
        for entry in self.allowed:
            allowed_host, allowed_port = parse_allowed_host(entry)
            if host == allowed_host and port == (allowed_port or DEFAULT_PORTS[scheme]):
                return True
        return False

