"""Polite, stubborn HTTP for the API connectors, over a client they are handed.

``Fetcher`` retries what is worth retrying (connection errors, timeouts, 5xx,
429, a body cut short) with exponential backoff and jitter, honours
``Retry-After``, keeps the source's delay between requests and its concurrency,
and counts what it did. A 4xx other than 429 is not retried.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from crawlers.errors import FetchError, FetchTimeout, MalformedPage, RateLimited
from crawlers.source import SourceConfig

log = logging.getLogger(__name__)

RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 120.0


@dataclass
class Fetched:
    url: str
    status: int
    headers: httpx.Headers
    text: str
    data: Any = None  # parsed JSON when asked for


def auth_headers_and_params(config: SourceConfig) -> tuple[dict[str, str], dict[str, str]]:
    """HTTP headers and query parameters carrying the source's credentials (``auth:``)."""
    auth = config.auth
    if not auth:
        return {}, {}
    token = auth.get("token", "")
    if auth["type"] == "bearer":
        return {"Authorization": f"Bearer {token}"}, {}
    if auth["type"] == "header":
        return {auth.get("name", "X-Api-Key"): token}, {}
    return {}, {auth.get("name", "api_key"): token}


def make_client(config: SourceConfig, **kwargs: Any) -> httpx.Client:
    """The httpx client a connector gets for a source: base URL, auth, limits, UA."""
    headers, params = auth_headers_and_params(config)
    headers = {"User-Agent": config.agent, "Accept-Language": "fr-FR,fr;q=0.9", **headers}
    return httpx.Client(
        base_url=config.base_url.rstrip("/"),
        headers=headers,
        params=params,
        timeout=httpx.Timeout(config.timeout),
        limits=httpx.Limits(max_connections=config.concurrency,
                            max_keepalive_connections=config.concurrency),
        follow_redirects=True,
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
    """GET with retries, backoff, Retry-After, delay and a concurrency cap."""

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

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> Fetched:
        """GET and parse JSON; a truncated or invalid body is retried, then MalformedPage."""
        return self.get(url, params, parse_json=True)

    def get(self, url: str, params: dict[str, Any] | None = None, *,
            parse_json: bool = False) -> Fetched:
        """GET ``url`` (relative to the base URL), retrying what is worth retrying."""
        attempts = self.config.retries + 1
        last_error: Exception | None = None
        full_url = url
        for attempt in range(attempts):
            self._wait_turn()
            with self._slots:
                try:
                    response = self.client.get(url, params=params)
                    full_url = str(response.url)
                except httpx.TimeoutException:
                    self._count("retry_timeout")
                    last_error = FetchTimeout(f"no answer within {self.config.timeout:g}s",
                                              source=self.config.key, url=str(url))
                    log.info("%s: timeout on %s (attempt %d)", self.config.key, url, attempt + 1)
                    self.sleep(self._backoff(attempt))
                    continue
                except httpx.TransportError as exc:
                    self._count("retry_transport")
                    log.info("%s: %s on %s (attempt %d)", self.config.key, type(exc).__name__,
                             url, attempt + 1)
                    last_error = FetchError(f"{type(exc).__name__}: {exc}",
                                            source=self.config.key, url=str(url))
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
            if status >= 400:
                raise FetchError(f"server answered {status}", source=self.config.key,
                                 url=full_url, status=status)
            text = response.text
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
            self._count("pages")
            return fetched
        assert last_error is not None
        self._count("failed")
        raise last_error
