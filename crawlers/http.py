"""Polite, stubborn, bounded HTTP for the API connectors, over a client they are handed.

``Fetcher.get`` is the one path of every API request. It retries what is worth
retrying (connection errors, timeouts, 5xx, 429, a body cut short) with
exponential backoff and jitter, honours ``Retry-After``, keeps the source's
delay between requests and its concurrency, and counts what it did. A 4xx other
than 429 is not retried.

It follows redirects itself, hop by hop: a hop to a host the platform does not
allow (``crawlers.hosts``: another host, port or scheme, an internal address)
is refused (``OffsiteRequest``), and so is a loop, a redirect to itself, more
than ``MAX_REDIRECTS`` hops, or a redirect to a page this crawl fetched for
another request (``RedirectRefused``): the page is lost, never read from
somewhere else. Credentials (``auth:``) are attached to each request, hop by
hop, only when its URL is on the platform's origin (``credentials_for``), never
as client-wide defaults a redirect would carry along; so are the headers the
entry sets (``headers:``, the source's and its rule's: ``shaped_headers``). A
request may be a POST with a body (``method``, ``content``): a 303, or a 301/302
answering a POST, is followed by a GET without it, as browsers do. A body is read raw and
decoded within the source's ``max_body`` (``crawlers.bodies``): past it the page
is lost as ``too_large``, without retrying. None of these is retried.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from crawlers.bodies import ACCEPT_ENCODING, BoundedBody
from crawlers.errors import (
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    MalformedPage,
    OffsiteRequest,
    RateLimited,
    RedirectRefused,
)
from crawlers.source import SourceConfig

log = logging.getLogger(__name__)

RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
MAX_RETRY_AFTER = 120.0
#: hops followed before a chain of redirects counts as a loop (browsers stop at 20)
MAX_REDIRECTS = 10


@dataclass
class Fetched:
    url: str  # where the answer came from (after redirects), without credentials
    status: int
    headers: httpx.Headers
    text: str
    data: Any = None  # parsed JSON when asked for


def credentials_for(config: SourceConfig, url: str | httpx.URL
                    ) -> tuple[dict[str, str], dict[str, str]]:
    """HTTP headers and query parameters carrying the source's credentials (``auth:``)
    for a request to ``url``: none unless ``url`` is on the platform's origin."""
    auth = config.auth
    if not auth or not config.hosts.is_home(str(url)):
        return {}, {}
    token = auth.get("token", "")
    if auth["type"] == "bearer":
        return {"Authorization": f"Bearer {token}"}, {}
    if auth["type"] == "header":
        return {auth.get("name", "X-Api-Key"): token}, {}
    return {}, {auth.get("name", "api_key"): token}


def shaped_headers(config: SourceConfig, url: str | httpx.URL,
                   headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers the entry sets (the source's ``headers:``, then a rule's ``headers``)
    for a request to ``url``: none unless ``url`` is on the platform's origin."""
    if not (config.headers or headers) or not config.hosts.is_home(str(url)):
        return {}
    return {**(config.headers or {}), **(headers or {})}


def make_client(config: SourceConfig, **kwargs: Any) -> httpx.Client:
    """The httpx client a connector gets for a source: base URL, limits, UA; no
    credentials (``Fetcher.get`` adds them per request) and no redirects followed."""
    headers = {"User-Agent": config.agent, "Accept-Language": "fr-FR,fr;q=0.9",
               "Accept-Encoding": ACCEPT_ENCODING}
    return httpx.Client(
        base_url=config.base_url.rstrip("/"),
        headers=headers,
        timeout=httpx.Timeout(config.timeout),
        limits=httpx.Limits(max_connections=config.concurrency,
                            max_keepalive_connections=config.concurrency),
        follow_redirects=False,
        **kwargs,
    )


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, min(float(value), MAX_RETRY_AFTER))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), MAX_RETRY_AFTER))


class Fetcher:
    """GET with retries, backoff, Retry-After, delay, a concurrency cap, checked redirects,
    per-request credentials and a body limit."""

    def __init__(self, config: SourceConfig, client: httpx.Client, *,
                 sleep: Any = time.sleep, rng: random.Random | None = None) -> None:
        self.config = config
        self.client = client
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.stats: Counter[str] = Counter()
        self._slots = threading.BoundedSemaphore(config.concurrency)
        self._pace = threading.Lock()
        self._next_at = 0.0
        self._stats_lock = threading.Lock()
        # every URL an answer came from -> the URL first asked for it (redirects included)
        self._fetched_for: dict[str, str] = {}

    def _count(self, key: str, n: int = 1) -> None:
        with self._stats_lock:
            self.stats[key] += n

    def _wait_turn(self) -> None:
        if self.config.delay <= 0:
            return
        with self._pace:
            now = time.monotonic()
            wait = self._next_at - now
            self._next_at = max(now, self._next_at) + self.config.delay
        if wait > 0:
            self.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        return min(10.0, 0.25 * (2 ** attempt)) * (0.5 + self.rng.random())

    def url_of(self, url: str, params: dict[str, Any] | None = None) -> str:
        """The absolute URL a request for ``url`` and ``params`` goes to (no credentials)."""
        return str(self.client.build_request("GET", url, params=params).url)

    def get_json(self, url: str, params: dict[str, Any] | None = None, *,
                 method: str = "GET", content: bytes | None = None,
                 content_type: str | None = None,
                 headers: Mapping[str, str] | None = None) -> Fetched:
        """GET (or POST ``content``) and parse JSON (``Accept: application/json`` unless
        ``headers`` say otherwise); a truncated or invalid body is retried, then
        MalformedPage."""
        if not any(k.lower() == "accept" for k in headers or {}):
            headers = {"Accept": "application/json", **(headers or {})}
        return self.get(url, params, parse_json=True, method=method, content=content,
                        content_type=content_type, headers=headers)

    def get(self, url: str, params: dict[str, Any] | None = None, *,
            parse_json: bool = False, method: str = "GET", content: bytes | None = None,
            content_type: str | None = None,
            headers: Mapping[str, str] | None = None) -> Fetched:
        """GET ``url`` (relative to the base URL), retrying what is worth retrying; or
        ``method`` with ``content`` (of ``content_type``); ``headers`` on the origin only.

        Raises:
            FetchError (RateLimited, FetchTimeout): no usable answer after the retries.
            MalformedPage: the body stayed cut short, undecodable or not JSON.
            OffsiteRequest, RedirectRefused, BodyTooLarge: at once, never retried.
        """
        attempts = self.config.retries + 1
        last_error: Exception | None = None
        asked = self.url_of(url, params)
        for attempt in range(attempts):
            self._wait_turn()
            with self._slots:
                try:
                    full_url, response, body = self._exchange(asked, method, content,
                                                              content_type, headers)
                except httpx.TimeoutException:
                    self._count("retry_timeout")
                    last_error = FetchTimeout(f"no answer within {self.config.timeout:g}s",
                                              source=self.config.key, url=asked)
                    log.info("%s: timeout on %s (attempt %d)", self.config.key, asked,
                             attempt + 1)
                    self.sleep(self._backoff(attempt))
                    continue
                except httpx.TransportError as exc:
                    self._count("retry_transport")
                    log.info("%s: %s on %s (attempt %d)", self.config.key, type(exc).__name__,
                             asked, attempt + 1)
                    last_error = FetchError(f"{type(exc).__name__}: {exc}",
                                            source=self.config.key, url=asked)
                    self.sleep(self._backoff(attempt))
                    continue
                except MalformedPage as exc:  # a body cut short or undecodable
                    self._count("retry_malformed")
                    exc.source, exc.url = self.config.key, asked
                    last_error = exc
                    if attempt < attempts - 1:
                        self.sleep(self._backoff(attempt))
                    continue
            self._count("requests")
            status = response.status_code
            if status in RETRY_STATUSES:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                self._count("retry_429" if status == 429 else "retry_5xx")
                if status == 429:
                    last_error = RateLimited("rate limited (429)", source=self.config.key,
                                             url=full_url, status=429)
                else:
                    last_error = FetchError(f"server answered {status}", source=self.config.key,
                                            url=full_url, status=status)
                log.info("%s: %d on %s, retry in %.2fs", self.config.key, status, full_url,
                         wait if wait is not None else self._backoff(attempt))
                if attempt < attempts - 1:
                    self.sleep(wait if wait is not None else self._backoff(attempt))
                continue
            if status >= 300:
                raise FetchError(f"server answered {status}", source=self.config.key,
                                 url=full_url, status=status)
            text = body.decode(response.encoding or "utf-8", errors="replace")
            fetched = Fetched(full_url, status, response.headers, text)
            if parse_json:
                try:
                    fetched.data = json.loads(text)
                except ValueError as exc:
                    self._count("retry_malformed")
                    last_error = MalformedPage(f"invalid JSON ({exc})", source=self.config.key,
                                               url=full_url)
                    if attempt < attempts - 1:
                        self.sleep(self._backoff(attempt))
                    continue
            with self._stats_lock:
                self._fetched_for.setdefault(full_url, asked)
            self._count("pages")
            return fetched
        assert last_error is not None
        self._count("failed")
        raise last_error

    def _exchange(self, asked: str, method: str = "GET", content: bytes | None = None,
                  content_type: str | None = None, headers: Mapping[str, str] | None = None
                  ) -> tuple[str, httpx.Response, bytes]:
        """(the URL answering, its response, its body: read for a 2xx only), following
        redirects hop by hop; the response is closed."""
        chain = [asked]
        current = asked
        while True:
            if not self.config.hosts.allows(current):
                self._count("refused_offsite")
                what = "redirected to" if len(chain) > 1 else "asked for"
                raise OffsiteRequest(f"{what} {current}, off the platform's hosts: not "
                                     "requested", source=self.config.key, url=asked,
                                     target=current)
            credentials, secret_params = credentials_for(self.config, current)
            sent = {**shaped_headers(self.config, current, headers), **credentials}
            if content is not None and content_type:
                sent["Content-Type"] = content_type
            target = httpx.URL(current)
            if secret_params:
                target = target.copy_merge_params(secret_params)
            response = self.client.send(self.client.build_request(
                method, target, headers=sent, content=content), stream=True)
            try:
                location = response.headers.get("Location")
                status = response.status_code
                if status in REDIRECT_STATUSES and location:
                    current = self._next_hop(chain, str(httpx.URL(current).join(location)))
                    if status == 303 or (status in (301, 302) and method == "POST"):
                        method, content = "GET", None  # as browsers do
                    continue
                body = self._read(response, current) if response.status_code < 300 else b""
                return current, response, body
            finally:
                response.close()

    def _next_hop(self, chain: list[str], target: str) -> str:
        """``target`` when a redirect to it may be followed; RedirectRefused if not."""
        asked = chain[0]
        reason = None
        if target in chain:
            reason = ("redirects to itself" if target == chain[-1] else
                      "redirect loop: " + " -> ".join([*chain[chain.index(target):], target]))
        elif len(chain) > MAX_REDIRECTS:
            reason = f"more than {MAX_REDIRECTS} redirects"
        else:
            with self._stats_lock:
                owner = self._fetched_for.get(target)
            if owner is not None and owner != asked:
                reason = (f"redirects to {target}, already fetched for {owner}: this page's own "
                          "answer is never read")
        if reason is not None:
            self._count("refused_redirects")
            raise RedirectRefused(reason, source=self.config.key, url=asked, target=target)
        self._count("redirects")
        chain.append(target)
        return target

    def _read(self, response: httpx.Response, url: str) -> bytes:
        """The decoded body, within ``max_body`` (BodyTooLarge past it, never retried)."""
        limit = self.config.max_body
        # an answer built in memory (a test's mock transport) comes read and decoded
        in_memory = response.is_stream_consumed
        body = BoundedBody(limit, None if in_memory else response.headers.get(
            "Content-Encoding"), url=url)
        declared = response.headers.get("Content-Length", "")
        try:
            if not body.coding and declared.isdigit() and int(declared) > limit:
                raise body.too_large(int(declared))
            for chunk in [response.content] if in_memory else response.iter_raw():
                body.feed(chunk)
            data = body.finish()
        except BodyTooLarge as exc:
            self._count("too_large")
            exc.source = self.config.key
            log.warning("%s: %s: %s", self.config.key, url, exc)
            raise
        if len(data) > limit // 2:
            log.warning("%s: %s answered %d bytes, over half of max_body (%d)",
                        self.config.key, url, len(data), limit)
        return data
