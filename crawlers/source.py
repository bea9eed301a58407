"""One platform's entry of the sources file, validated: what every crawler is configured by.

``crawlers.config`` reads and validates the file into ``SourceConfig`` objects;
everything below it (the registry, connectors, spiders, the HTTP client) is
handed one and reads nothing else, so a caller may adjust a loaded entry
(``dataclasses.replace``) before a crawl.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawlers.hosts import PlatformHosts

DEFAULT_USER_AGENT = "AgoraBot/0.1 (+https://agora.example/bot; federated local search)"
#: the largest answer read, decompressed: the replicas' largest answers (an API page of
#: 100 records, a sitemap of 1,000 URLs) are 35-70 KB, a real listing page with inline
#: scripts rarely passes 2 MB; 8 MB leaves room for both, and keeps a hostile answer
#: from taking the worker's memory
DEFAULT_MAX_BODY = 8 * 1024 * 1024


@dataclass(frozen=True)
class SourceConfig:
    """One validated source entry (defaults as in the sources file's documentation)."""

    key: str
    name: str
    connector: str
    base_url: str
    enabled: bool = True
    homepage: str | None = None
    auth: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    concurrency: int = 4
    delay: float = 0.0
    timeout: float = 15.0
    retries: int = 5
    autothrottle: bool = True
    obey_robots: bool = True
    user_agent: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    max_body: int = DEFAULT_MAX_BODY
    incremental: bool = False
    full_every: int = 4
    schedule: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    extract: dict[str, Any] | None = None
    health: dict[str, Any] | None = None
    line: int = 0

    @property
    def hosts(self) -> PlatformHosts:
        """The platform's origin and the other hosts its crawler may reach."""
        return PlatformHosts(self.base_url, tuple(self.allowed_hosts))

    @property
    def agent(self) -> str:
        """The User-Agent sent to this platform."""
        return self.user_agent or DEFAULT_USER_AGENT

    def option(self, name: str, default: Any = None) -> Any:
        """A connector setting from ``options:`` (validated against the crawler type's keys)."""
        return (self.options or {}).get(name, default)
