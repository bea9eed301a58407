"""Requests per client for every route class, counted in a store every worker shares.

One Flask-Limiter for the whole app, registered by ``create_app`` (no view module
declares its own limit). Each route class has its budget per client address
(``request.remote_addr``, i.e. the proxy's ``X-Forwarded-For`` when
``AGORA_TRUST_PROXY`` trusts it):

=========  ==========================================  ===========================
class      routes                                      setting (default)
=========  ==========================================  ===========================
pages      search, near me, shop and product pages      ``AGORA_RATE_LIMIT_PAGES``
api        ``/api/*``                                   ``AGORA_RATE_LIMIT``
overlap    ``/overlap``, its CSV, JSON and figures      ``AGORA_RATE_LIMIT_OVERLAP``
operator   ``/sources*`` and the operator login         ``AGORA_RATE_LIMIT_OPERATOR``
=========  ==========================================  ===========================

plus ``AGORA_RATE_LIMIT_LOGIN_FAILURES``: wrong operator tokens per client (a
client past it is refused on the operator pages, right token or not, until the
window has passed: token guessing is that slow). Values read "120/minute",
"10 per hour", several joined by ";"; a class set to "off" is not limited, and
``AGORA_RATE_LIMIT=off`` switches every limit off.

The counters live in ``AGORA_RATE_LIMIT_STORAGE``: ``catalog`` (the default: the
catalog's ``rate_limits`` table, ``catalog.ratelimit``, shared by every worker of
the machine, or of every machine on PostgreSQL), or a ``limits`` storage URI:
``redis://``, ``rediss://``, ``redis+sentinel://``, ``redis+cluster://``,
``memcached://`` (their client packages installed by the operator), ``memory://``
(each worker its own counters). The strategy is the sliding window counter. When
the store fails (a build holding the SQLite write lock, a server down) each
worker counts in memory until it answers again, and no request fails for it.

A refused request gets a 429 with ``Retry-After`` (the error page of the site, or
JSON under ``/api/``); API answers carry ``X-RateLimit-Limit`` and
``X-RateLimit-Remaining``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.errors import ConfigurationError

from catalog.ratelimit import SCHEME

log = logging.getLogger(__name__)

STORAGE_SCHEMES = ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster",
                   "memcached", "memory")
STRATEGY = "sliding-window-counter"
_OFF = ("off", "none", "0", "unlimited")


@dataclass(frozen=True)
class RouteClass:
    """A set of blueprints spending from one budget per client."""

    name: str
    setting: str
    blueprints: tuple[str, ...]


ROUTE_CLASSES = (
    RouteClass("pages", "AGORA_RATE_LIMIT_PAGES", ("search", "entities")),
    RouteClass("api", "AGORA_RATE_LIMIT", ("api",)),
    RouteClass("overlap", "AGORA_RATE_LIMIT_OVERLAP", ("overlap",)),
    RouteClass("operator", "AGORA_RATE_LIMIT_OPERATOR", ("operator",)),
)
LOGIN_FAILURES = "AGORA_RATE_LIMIT_LOGIN_FAILURES"
EXTENSION = "agora_limiter"
#: Set on ``g`` by the operator blueprint when a request brought a wrong token.
FAILED_LOGIN_FLAG = "agora_operator_token_refused"


class RateLimitSettingError(ValueError):
    """A rate-limit setting that cannot be honoured (names the setting)."""

    def __init__(self, setting: str, value: object, reason: str) -> None:
        super().__init__(f"{setting}={value!r}: {reason}")
        self.setting, self.value = setting, value


def parse_limit(setting: str, value: str | None) -> str | None:
    """The limit string to give Flask-Limiter, None for "off".

    Raises:
        RateLimitSettingError: not a limit ("120/minute", "10 per hour; 100 per day").
    """
    text = (value or "").strip()
    if text.lower() in _OFF or not text:
        return None
    try:
        items = parse_many(text)
    except ValueError as exc:
        raise RateLimitSettingError(setting, value, "expected e.g. '120/minute', "
                                    "'10 per hour; 100 per day' or 'off'") from exc
    if any(item.amount < 1 for item in items):
        raise RateLimitSettingError(setting, value, "a limit allows at least one request")
    return text


def storage_config(value: str | None, catalog: str) -> tuple[str, dict[str, Any]]:
    """(storage URI, storage options) for Flask-Limiter from ``AGORA_RATE_LIMIT_STORAGE``.

    Raises:
        RateLimitSettingError: neither ``catalog`` nor a known storage URI.
    """
    text = (value or "catalog").strip()
    if text == "catalog":
        if catalog == ":memory:":  # one process's in-memory catalog: counters in memory too
            return "memory://", {}
        if "://" in catalog:  # a server catalog's URL, as it is
            return f"{SCHEME}://", {"catalog": catalog}
        return f"{SCHEME}://", {"catalog": str(Path(catalog).resolve())}
    scheme = urlsplit(text).scheme
    if scheme not in STORAGE_SCHEMES:
        raise RateLimitSettingError("AGORA_RATE_LIMIT_STORAGE", value,
                                    "expected 'catalog' or a storage URI ("
                                    + ", ".join(f"{s}://" for s in STORAGE_SCHEMES) + ")")
    return text, {}


def init_limiter(app: Flask, config: Mapping[str, Any]) -> Limiter | None:
    """Create the app's limiter from ``config`` (the app's) and register every route class.

    Returns None when ``AGORA_RATE_LIMIT`` is "off" (nothing limited).

    Raises:
        RateLimitSettingError: a limit or the storage cannot be honoured.
    """
    if parse_limit("AGORA_RATE_LIMIT", config.get("AGORA_RATE_LIMIT")) is None:
        return None
    limits = {c.name: parse_limit(c.setting, config.get(c.setting)) for c in ROUTE_CLASSES}
    failures = parse_limit(LOGIN_FAILURES, config.get(LOGIN_FAILURES))
    uri, options = storage_config(config.get("AGORA_RATE_LIMIT_STORAGE"),
                                  str(config["AGORA_CATALOG"]))
    try:
        limiter = Limiter(get_remote_address, app=app, storage_uri=uri,
                          storage_options=options, strategy=STRATEGY, key_prefix="agora",
                          in_memory_fallback_enabled=True, swallow_errors=True,
                          headers_enabled=False)
    except ConfigurationError as exc:  # e.g. redis:// without the redis package
        raise RateLimitSettingError("AGORA_RATE_LIMIT_STORAGE", uri, str(exc)) from exc
    for route_class in ROUTE_CLASSES:
        value = limits[route_class.name]
        if value is None:
            continue
        shared = limiter.shared_limit(value, scope=route_class.name)
        for name in route_class.blueprints:
            shared(app.blueprints[name])  # type: ignore[call-overload]  # a Blueprint is accepted; the stubs list views only
    if failures is not None:
        limiter.shared_limit(failures, scope="operator-login-failures",
                             deduct_when=_token_refused)(app.blueprints["operator"])  # type: ignore[call-overload]  # as above
    app.after_request(_limit_headers)
    app.extensions[EXTENSION] = limiter
    return limiter


def _token_refused(response: Response) -> bool:
    return response.status_code == 401 and bool(g.get(FAILED_LOGIN_FLAG))


def retry_after(limit: RequestLimit | None, now: float | None = None) -> int:
    """Whole seconds (at least 1) before ``limit`` lets the client in again."""
    if limit is None:
        return 60
    try:
        reset = limit.window.reset_time
    except Exception:
        return max(1, int(limit.limit.get_expiry()))
    return max(1, math.ceil(reset - (time.time() if now is None else now)))


def current_limit() -> RequestLimit | None:
    """The limit that decided this request (the breached one on a 429), if any."""
    limiter: Limiter | None = current_app.extensions.get(EXTENSION)
    return limiter.current_limit if limiter is not None else None


def _limit_headers(response: Response) -> Response:
    """``X-RateLimit-*`` on API answers, and ``Retry-After`` on every 429."""
    limit = current_limit()
    if limit is None or not (response.status_code == 429 or request.blueprint == "api"):
        return response
    try:
        remaining = 0 if response.status_code == 429 else limit.remaining
    except Exception as exc:
        log.debug("rate-limit headers skipped: %s", exc)
        return response
    response.headers["X-RateLimit-Limit"] = str(limit.limit.amount)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    if response.status_code == 429:
        response.headers["Retry-After"] = str(retry_after(limit))
    return response
