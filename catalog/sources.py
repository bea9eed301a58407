"""The sources' public configuration, registered by the crawl side for every reader.

The sources file belongs to the crawlers; the web app and the status pages must
not read it (they may run on machines that have neither the file nor its
credentials). So the commands that load it (``agora crawl``, ``import``,
``schedule``, ``sources status``) register each source's public part here:
key, name, order, whether it is enabled, its schedule, and its base URL and home
page without credentials (no user, password, query or fragment).

Example:
    >>> public_url("https://user:secret@api.example/v1?token=x#top")
    'https://api.example/v1'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from catalog.engine import Engine, utcnow


class SourceEntry(Protocol):
    """What registering reads of a source's configuration (``crawlers.config.SourceConfig``)."""

    @property
    def key(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def enabled(self) -> bool: ...

    @property
    def schedule(self) -> Mapping[str, Any] | None: ...

    @property
    def base_url(self) -> str: ...

    @property
    def homepage(self) -> str | None: ...


@dataclass(frozen=True)
class RegisteredSource:
    """One source as registered: what every reader of the catalog may know of it."""

    key: str
    name: str
    position: int
    enabled: bool
    schedule: dict[str, Any] | None
    base_url: str | None
    homepage: str | None
    registered_at: str


def public_url(url: str | None) -> str | None:
    """``url`` without user, password, query or fragment (None stays None)."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class SourceRegistry:
    """The ``sources`` table (a part of ``Catalog``)."""

    db: Engine

    def register_sources(self, sources: Iterable[SourceEntry]) -> list[RegisteredSource]:
        """Replace the registry with ``sources``, in their order (the sources file's)."""
        now = utcnow()
        rows = [(s.key, s.name, i, 1 if s.enabled else 0,
                 json.dumps(dict(s.schedule), sort_keys=True) if s.schedule else None,
                 public_url(s.base_url), public_url(s.homepage), now)
                for i, s in enumerate(sources)]

        def work() -> None:
            with self.db.transaction(lock="sources"):  # two registrations never interleave
                self.db.execute("DELETE FROM sources")
                self.db.executemany(
                    "INSERT INTO sources(key, name, position, enabled, schedule, base_url, "
                    "homepage, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

        self.db.retrying(work)
        return self.registered_sources()

    def registered_sources(self) -> list[RegisteredSource]:
        """Every registered source, in the sources file's order."""
        return [RegisteredSource(
            key=r["key"], name=r["name"], position=r["position"], enabled=bool(r["enabled"]),
            schedule=json.loads(r["schedule"]) if r["schedule"] else None,
            base_url=r["base_url"], homepage=r["homepage"], registered_at=r["registered_at"])
            for r in self.db.query("SELECT * FROM sources ORDER BY position, key")]
