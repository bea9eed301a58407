"""Helpers and fixtures shared by the crawler tests.

- ``repository_config(key, base_url, **changes)``: a platform's entry of
  ``config/sources.yaml``, pointed at a replica (``config_of`` reads any text);
  ``repository_at`` and ``declarative_at`` make either for a URL known later.
- ``crawl_once(config, home)``: one crawl through the orchestrator (a worker
  process, as ``agora crawl`` runs it); ``live(home, key)`` and
  ``expected(platform)``: listings by source id, in the catalog and as served.
- ``listings_of(results, key)``: what a connector's PageResults hold, as the
  catalog would store it (``gone`` tombstones applied).
- ``dead_pid()``, ``start_worker(...)``: a run left by a worker that died, and a
  worker started by hand to be killed.
- ``html_response(request, body)``: a Scrapy response for a spider callback.
- ``gated_replica``: a replica whose server lets a budget of requests through
  and holds the rest until opened, so that a crawl can be killed mid-way, always
  at a point where pages are stored and requests are pending.
- ``hostile_replica``: a replica served on 127.0.0.1 behind traps, and the same
  app on 127.0.0.2 ("somewhere else"), both logging every request's headers
  (``tests.crawlers.hostile``).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import scrapy
from scrapy.http import HtmlResponse, Response
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from catalog.store import Catalog
from crawlers import orchestrator
from crawlers.config import load_sources, parse_sources
from crawlers.errors import InvalidListing
from crawlers.listing import PageResult, validate_listing
from crawlers.orchestrator import RunReport, crawl_sources
from crawlers.source import SourceConfig
from replicas.faults import FaultProfile, request_body_digest
from replicas.platforms.base import Platform
from replicas.server import platform_class
from replicas.world import World
from tests.conftest import SOURCES_FILE
from tests.crawlers.hostile import HostilePair

Listings = dict[str, dict[str, Any]]


# ---------------------------------------------------------------------- configuration
def config_of(text: str, key: str = "demo") -> SourceConfig:
    """One entry of a sources file written in a test (indentation removed)."""
    return parse_sources(textwrap.dedent(text))[key]


def repository_config(key: str, base_url: str, **changes: Any) -> SourceConfig:
    """The platform's entry of config/sources.yaml, pointed at ``base_url``."""
    config = load_sources(SOURCES_FILE)[key]
    return dataclasses.replace(config, base_url=base_url, **changes)


def repository_at(key: str, **changes: Any) -> Callable[[str], SourceConfig]:
    """``repository_config`` of ``key`` for a base URL known later (a replica's)."""
    return lambda url: repository_config(key, url, **changes)


def declarative_at(text: str, key: str, **changes: Any) -> Callable[[str], SourceConfig]:
    """``config_of(text, key)`` for a base URL known later (a replica's)."""
    return lambda url: dataclasses.replace(config_of(text, key), base_url=url, **changes)


# ---------------------------------------------------------------------- crawling
def crawl_once(config: SourceConfig, home: Path, **kwargs: Any) -> RunReport:
    """One crawl of one source through the orchestrator and a worker process."""
    [report] = crawl_sources([config], home, poll_seconds=0.1, **kwargs)
    return report


def live(home: Path, key: str) -> Listings:
    """The source's live listings in the catalog, by source id."""
    with Catalog.in_home(home) as catalog:
        return {item["source_id"]: item for item in catalog.listings(source=key)}


def expected(platform: Platform) -> Listings:
    """What a perfect crawler gets from the platform, by source id."""
    return {item["source_id"]: item for item in platform.expected_listings()}


def listings_of(results: Iterable[PageResult], key: str) -> Listings:
    """The listings a connector's results hold, as the catalog would keep them."""
    store: Listings = {}
    for result in results:
        for raw in result.listings:
            try:
                item = validate_listing({**raw, "source": key})
            except InvalidListing:
                continue  # the sink records those; not listings
            store[item["source_id"]] = item
        for gone in result.gone:
            store.pop(gone, None)
    return store


def dead_pid() -> int:
    """The pid of a process that has exited (a killed worker's)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def start_worker(config: SourceConfig, run_id: int, home: Path) -> subprocess.Popen[bytes]:
    """A worker process crawling ``config`` into run ``run_id``, as the orchestrator starts it."""
    return orchestrator.start_worker(
        [sys.executable, "-m", "crawlers.worker", "--source", config.key, "--run-id",
         str(run_id), "--home", str(home), "--config-stdin"], config)


# ---------------------------------------------------------------------- spiders
def html_response(request: scrapy.Request, body: str | bytes) -> Response:
    """The response a spider callback gets for ``request`` (HTML, or bytes for XML)."""
    data = body.encode() if isinstance(body, str) else body
    if request.url.endswith((".gz", ".xml", ".txt")):
        return Response(request.url, body=data, request=request)
    return HtmlResponse(request.url, body=data, encoding="utf-8", request=request)


# ---------------------------------------------------------------------- gated replicas
class Gate:
    """WSGI middleware: lets ``budget`` requests through, holds the others until opened."""

    def __init__(self, app: Callable[..., Any], budget: int) -> None:
        self.app, self.budget = app, budget
        self.waiting = 0
        self.is_open = False
        self.after_open: list[str] = []  # paths asked once opened
        self._cond = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "/")
        query = environ.get("QUERY_STRING", "")
        asked = path + ("?" + query if query else "")
        if environ.get("REQUEST_METHOD") == "POST":  # which page: the body says
            asked += "#" + request_body_digest(environ)
        with self._cond:
            if self.is_open:
                self.after_open.append(asked)
            self.waiting += 1
            self._cond.wait_for(lambda: self.is_open or self.budget > 0, timeout=120)
            self.waiting -= 1
            if not self.is_open:
                self.budget -= 1
        return self.app(environ, start_response)

    def grant(self, n: int) -> None:
        """Let ``n`` more requests through."""
        with self._cond:
            self.budget += n
            self._cond.notify_all()

    def stalled(self) -> bool:
        """Whether requests are held for want of budget."""
        with self._cond:
            return self.waiting > 0 and self.budget <= 0 and not self.is_open

    def open(self) -> None:
        with self._cond:
            self.is_open = True
            self._cond.notify_all()


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture
def gated_replica() -> Iterator[Callable[..., tuple[Platform, Gate]]]:
    """Start one replica platform behind a ``Gate``: (platform, gate)."""
    servers: list[tuple[BaseWSGIServer, threading.Thread, Gate]] = []

    def start(key: str, *, shops: int, seed: int, budget: int,
              faults: FaultProfile | None = None,
              regions: tuple[str, ...] = ("toulouse",)) -> tuple[Platform, Gate]:
        world = World.generate(seed, shops, regions=regions)
        platform = platform_class(key)(world, faults=faults or FaultProfile())
        gate = Gate(platform.wsgi(), budget)
        server = make_server("127.0.0.1", 0, gate, threaded=True, request_handler=_Quiet)
        server.daemon_threads = True
        platform.base_url = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread, gate))
        return platform, gate

    yield start
    for server, thread, gate in servers:
        gate.open()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------------- hostile replicas
@pytest.fixture
def hostile_replica() -> Iterator[Callable[..., tuple[Platform, HostilePair]]]:
    """Start a replica platform behind traps: (platform, pair of hosts)."""
    pairs: list[HostilePair] = []

    def start(key: str, *, shops: int = 30, seed: int = 3,
              **attributes: Any) -> tuple[Platform, HostilePair]:
        platform = platform_class(key)(World.generate(seed, shops), faults=FaultProfile())
        for name, value in attributes.items():
            setattr(platform, name, value)
        platform.set_world(platform.world)
        pair = HostilePair(platform.wsgi(), _needs_no_token(platform)).__enter__()
        pairs.append(pair)
        platform.base_url = pair.platform.url
        return platform, pair

    yield start
    for pair in pairs:
        pair.__exit__()


def _needs_no_token(platform: Platform) -> Callable[..., Any]:
    """The platform's app as a second host serves it: like a CDN, without asking for the
    token (the request is logged as it came, before this)."""
    app = platform.wsgi()
    token = getattr(platform, "token", None)

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if token:
            environ = {**environ, "HTTP_AUTHORIZATION": f"Bearer {token}"}
        return app(environ, start_response)
    return serve
