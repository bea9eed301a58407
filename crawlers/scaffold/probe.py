"""What a scaffold may fetch: the platform's origin only, robots.txt obeyed, a page and time budget.

``Probe`` fetches through the crawlers' own HTTP layer (``crawlers.http``:
checked redirects, a bounded body) as the drafted entry's crawler would, with
the default User-Agent; robots.txt is read first and every URL it disallows is
skipped; past ``max_pages`` fetches or ``seconds`` nothing more is fetched
(``exhausted``). ``sitemap_pages`` lists the page URLs of the sitemaps robots.txt
names (or ``/sitemap.xml``, ``/sitemap_index.xml``), indexes followed.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from protego import Protego

from crawlers.errors import CrawlError, MalformedSitemap
from crawlers.http import Fetcher, make_client
from crawlers.parsing.sitemaps import parse_sitemap, sitemaps_from_robots
from crawlers.source import SourceConfig

log = logging.getLogger(__name__)


@dataclass
class Page:
    """One answer: where it came from, its content type, its text."""

    url: str
    content_type: str
    text: str
    body: bytes = b""


class Probe:
    """Bounded, polite fetching of one site (see the module docs)."""

    def __init__(self, base_url: str, *, max_pages: int = 60, seconds: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.config = SourceConfig(key="scaffold", name="scaffold", connector="html",
                                   base_url=self.base_url, retries=1, timeout=10.0,
                                   concurrency=1)
        self.max_pages, self.deadline = max_pages, time.monotonic() + seconds
        self.fetched = 0
        self.skipped: list[str] = []  # disallowed by robots.txt
        self.robots: Any = None
        self.robots_text = ""
        self._client = make_client(self.config)
        self._fetcher = Fetcher(self.config, self._client)
        self._cache: dict[tuple[str, str], Page | None] = {}

    def __enter__(self) -> Probe:
        page = self._get(self.base_url + "/robots.txt", None, robots=False)
        self.robots_text = page.text if page else ""
        self.robots = Protego.parse(self.robots_text)
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    @property
    def exhausted(self) -> bool:
        return self.fetched >= self.max_pages or time.monotonic() > self.deadline

    def absolute(self, url: str) -> str:
        return url if url.startswith(("http://", "https://")) else (
            self.base_url + "/" + url.lstrip("/"))

    def get(self, url: str, accept: str | None = None) -> Page | None:
        """The page (None: off the origin, disallowed, over budget, or not answered)."""
        return self._get(self.absolute(url), accept, robots=True)

    def _get(self, url: str, accept: str | None, *, robots: bool) -> Page | None:
        key = (url, accept or "")
        if key in self._cache:
            return self._cache[key]
        if not self.config.hosts.is_home(url) or self.exhausted:
            return None
        if robots and self.robots is not None and not self.robots.can_fetch(
                url, self.config.agent):
            self.skipped.append(url)
            return None
        self.fetched += 1
        try:
            fetched = self._fetcher.get(url, headers={"Accept": accept} if accept else None)
            page = Page(fetched.url, fetched.headers.get("Content-Type", ""), fetched.text,
                        fetched.text.encode("utf-8"))
        except CrawlError as exc:
            log.info("scaffold: %s: %s", url, exc)
            page = None
        self._cache[key] = page
        return page

    def post_json(self, url: str, payload: Any, *, headers: dict[str, str] | None = None
                  ) -> Any:
        """POST ``payload`` as JSON and the JSON answer (CrawlError: none), within the budget."""
        url = self.absolute(url)
        if not self.config.hosts.is_home(url) or self.exhausted:
            raise CrawlError(f"{url}: off the origin or over budget")
        self.fetched += 1
        return self._fetcher.get_json(url, method="POST", content=json.dumps(payload).encode(),
                                      content_type="application/json", headers=headers).data

    def raw(self, url: str) -> bytes | None:
        """A body as bytes (a sitemap, maybe gzipped), within the budget."""
        url = self.absolute(url)
        if not self.config.hosts.is_home(url) or self.exhausted:
            return None
        self.fetched += 1
        try:
            with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    return None
                return response.read()[:self.config.max_body]
        except Exception as exc:
            log.info("scaffold: %s: %s", url, exc)
            return None

    def sitemap_pages(self, limit: int = 2000) -> list[str]:
        """Page URLs the sitemaps list (on the origin), indexes followed, at most ``limit``."""
        queue = sitemaps_from_robots(self.robots_text) or ["/sitemap_index.xml", "/sitemap.xml"]
        pages: list[str] = []
        seen: set[str] = set()
        while queue and len(pages) < limit and not self.exhausted:
            url = self.absolute(queue.pop(0))
            if url in seen:
                continue
            seen.add(url)
            body = self.raw(url)
            if not body:
                continue
            try:
                kind, entries = parse_sitemap(body)
            except (MalformedSitemap, CrawlError):
                continue
            for entry in entries:
                if not self.config.hosts.is_home(entry.loc):
                    continue
                (queue if kind == "index" else pages).append(entry.loc)
        return pages[:limit]
