"""Click'n Co connector: cursor-paged shops, then each shop's products, under a rate limit.

The API pages shops with an opaque cursor (``/api/shops?cursor=&limit=50``) and
serves products per shop (``/api/shops/<id>/products?cursor=``), so a crawl makes
about one request per shop. Those requests run on a small thread pool
(``concurrency`` threads) behind a client-side token bucket that follows the
rate the API announces in ``X-RateLimit-Limit`` / ``X-RateLimit-Burst`` (or the
``rate_limit`` option), a little under it, so that 429s stay rare; those that
still come are waited out by the Fetcher (``Retry-After``), and a request that
ran out of retries on 429 gets a few more rounds here before its page is lost.

The checkpoint after each page is ``{"cursor", "exhausted", "pending"}``: the
next shops page, whether the shop list is done, and the shops whose products
are not stored yet. A resumed run continues the shop list from the cursor and
fetches the products of the pending shops again; everything else is in the
catalog already. Cursor paging cannot drift, so nothing needs re-paging.

Options (``options:`` in sources.yaml): ``page_size`` (1-50, default 50),
``rate_limit`` (requests a second; default: what the API announces, 20 until it
does; 0: no pacing), ``rate_burst``, ``rate_margin`` (share of the announced rate used,
default 0.95), ``rate_limited_rounds`` (extra rounds after 429s ran out the
retries, default 3).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any, ClassVar

import httpx

from crawlers.connectors.base import ApiConnector
from crawlers.errors import (
    CrawlError,
    FetchError,
    InvalidRecord,
    PageError,
    RateLimited,
    SourceLayoutChanged,
)
from crawlers.http import Fetched, Fetcher
from crawlers.listing import PageResult
from crawlers.source import SourceConfig
from crawlers.transforms import cents_to_decimal

log = logging.getLogger(__name__)

SHOPS_PATH = "/api/shops"
MAX_PAGE_SIZE = 50
DEFAULT_RATE = 20.0
DAY_CODES = {"monday": "Mo", "tuesday": "Tu", "wednesday": "We", "thursday": "Th",
             "friday": "Fr", "saturday": "Sa", "sunday": "Su"}
DAY_ORDER = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
SERVICE_FLAGS = ("click_and_collect", "delivery", "local_delivery")


# --------------------------------------------------------------------------- parsing
def price_from_cents(value: Any) -> str:
    """Integer cents as a decimal string: 1290 -> '12.90'; InvalidRecord otherwise.

    >>> price_from_cents(1290), price_from_cents("5")
    ('12.90', '0.05')
    """
    text = cents_to_decimal(value)
    if text is None:
        raise InvalidRecord(f"price_cents is not a number of cents: {value!r}")
    return text


def opening_hours_text(entries: Any) -> str | None:
    """Per-day entries to one OSM-style line: 'Tu-Sa 09:30-12:30,14:00-19:00; Su 08:00-12:00'.

    Consecutive days with the same ranges are grouped, as OpenStreetMap writes them.
    Entries that do not read as ``{"day", "opens", "closes"}`` are skipped.
    """
    if not isinstance(entries, list):
        return None
    by_day: dict[str, list[str]] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        day = DAY_CODES.get(str(entry.get("day", "")).lower())
        opens, closes = entry.get("opens"), entry.get("closes")
        if day is None or not isinstance(opens, str) or not isinstance(closes, str):
            continue
        by_day.setdefault(day, []).append(f"{opens}-{closes}")
    groups: list[tuple[str, str, str]] = []  # (first day, last day, ranges)
    for day in DAY_ORDER:
        if day not in by_day:
            continue
        ranges = ",".join(by_day[day])
        if groups and groups[-1][2] == ranges and \
                DAY_ORDER.index(groups[-1][1]) == DAY_ORDER.index(day) - 1:
            groups[-1] = (groups[-1][0], day, ranges)
        else:
            groups.append((day, day, ranges))
    parts = [f"{a if a == b else f'{a}-{b}'} {ranges}" for a, b, ranges in groups]
    return "; ".join(parts) or None


def _text(value: Any) -> Any:
    return value if isinstance(value, str | int | float) and not isinstance(value, bool) else None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def record_id(item: Any) -> str | None:
    """The API id of a shop or product record, or None when it has none."""
    if not isinstance(item, dict):
        return None
    value = item.get("id")
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def shop_listing(item: dict[str, Any], absolute: Callable[[str], str]) -> dict[str, Any]:
    """A Click'n Co shop record as a listing in the contract (strings as shown)."""
    sid = record_id(item)
    if sid is None:
        raise InvalidRecord("shop without an id")
    address = _mapping(item.get("address"))
    location = _mapping(item.get("location"))
    category = _text(item.get("category"))
    services = [flag for flag in SERVICE_FLAGS if item.get(flag) is True]
    permalink = item.get("permalink")
    return {
        "kind": "shop",
        "source_id": sid,
        "url": absolute(permalink if isinstance(permalink, str) and permalink
                        else f"/boutique/{sid}"),
        "name": _text(item.get("name")),
        "address": _text(address.get("line1")),
        "postcode": _text(address.get("zip")),
        "city": _text(address.get("city")),
        "phone": _text(item.get("phone_e164")),
        "email": _text(item.get("email")),
        "website": _text(item.get("website")),
        "siret": _text(item.get("siret")),
        "lat": _text(location.get("lat")),
        "lon": _text(location.get("lon")),
        "categories": [category] if category else None,
        "services": services or None,
        "opening_hours": opening_hours_text(item.get("opening_hours")),
        "description": _text(item.get("description")),
    }


def product_listing(item: dict[str, Any], shop_id: str | None,
                    absolute: Callable[[str], str]) -> dict[str, Any]:
    """A Click'n Co product record as a listing; InvalidRecord when its price is unusable."""
    sid = record_id(item)
    if sid is None:
        raise InvalidRecord("product without an id")
    price = None
    if item.get("price_cents") is not None:
        price = price_from_cents(item.get("price_cents"))
    owner = item.get("shop_id") if isinstance(item.get("shop_id"), str) else shop_id
    permalink = item.get("permalink")
    return {
        "kind": "product",
        "source_id": sid,
        "url": absolute(permalink if isinstance(permalink, str) and permalink
                        else f"/produit/{sid}"),
        "title": _text(item.get("name")),
        "brand": _text(item.get("brand")),
        "gtin": _text(item.get("ean")),
        "price": price,
        "currency": _text(item.get("currency")),
        "availability": _text(item.get("stock")),
        "category": _text(item.get("category")),
        "description": _text(item.get("description")),
        "image_url": _text(item.get("image_url")),
        "shop_source_id": owner,
    }


def read_page(data: Any) -> tuple[list[Any], str | None]:
    """(items, next cursor) of an API answer; SourceLayoutChanged if it is not a page."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise SourceLayoutChanged("answer without a 'data' list")
    cursor = data.get("next_cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise SourceLayoutChanged(f"next_cursor is not text: {cursor!r}")
    return data["data"], cursor or None


# --------------------------------------------------------------------------- pacing
class Pacer:
    """A client-side token bucket, thread-safe; its rate can follow the server's."""

    def __init__(self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._tokens = self.burst
        self._at = clock()
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()

    def set_rate(self, rate: float, burst: float) -> None:
        with self._lock:
            if rate > 0:
                self.rate = rate
            self.burst = max(1.0, burst)
            self._tokens = min(self._tokens, self.burst)

    def acquire(self) -> float:
        """Take one token, waiting for it; returns the seconds waited."""
        with self._lock:  # reserve a token now (the balance may go negative), wait outside
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1.0
            wait_s = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait_s > 0:
            self._sleep(wait_s)
        return wait_s


# --------------------------------------------------------------------------- connector
class ClickAndCoConnector(ApiConnector):
    """Shops by cursor, then products shop by shop on a thread pool, rate-limited."""

    supports_incremental: ClassVar[bool] = False

    def __init__(self, config: SourceConfig, client: httpx.Client, *,
                 fetcher: Fetcher | None = None) -> None:
        super().__init__(config, client, fetcher=fetcher)
        self.page_size = max(1, min(MAX_PAGE_SIZE, int(config.option("page_size", MAX_PAGE_SIZE))))
        self.workers = max(1, config.concurrency)
        self.margin = float(config.option("rate_margin", 0.95))
        self.rate_limited_rounds = int(config.option("rate_limited_rounds", 3))
        fixed = config.option("rate_limit")
        self.follow_server = fixed is None
        rate = DEFAULT_RATE if fixed is None else float(fixed)
        if rate <= 0:  # rate_limit: 0 switches pacing off (the Fetcher still honours 429s)
            rate = 1e9
        burst = float(config.option("rate_burst", rate))
        self.pacer = Pacer(rate * self.margin, self._client_burst(burst))
        self._stats_lock = threading.Lock()

    def _client_burst(self, burst: float) -> float:
        # Half the server's burst: the server's bucket keeps slack for uneven arrivals.
        return max(1.0, math.floor(burst / 2))

    # ------------------------------------------------------------------ fetching
    def _count(self, key: str, n: int = 1) -> None:
        # Kept in the Fetcher's counters, which the worker stores with the run.
        if n:
            with self._stats_lock:
                self.fetcher.stats[key] += n

    def _get(self, path: str, params: dict[str, Any]) -> Fetched:
        """One API answer: paced, retried by the Fetcher, and a few more rounds on 429."""
        for round_ in range(self.rate_limited_rounds + 1):
            waited = self.pacer.acquire()
            self._count("paced_ms", round(waited * 1000))
            try:
                fetched = self.fetcher.get_json(path, params)
            except RateLimited:
                if round_ >= self.rate_limited_rounds:
                    raise
                self._count("rate_limited_rounds")
                time.sleep(1.0 + round_)
                continue
            self._follow(fetched.headers)
            return fetched
        raise AssertionError("unreachable")

    def _follow(self, headers: httpx.Headers) -> None:
        """Match the client bucket to the policy the server announces."""
        if not self.follow_server:
            return
        try:
            rate = float(headers.get("X-RateLimit-Limit", ""))
        except ValueError:
            return
        try:
            burst = float(headers.get("X-RateLimit-Burst", rate))
        except ValueError:
            burst = rate
        if rate > 0 and (abs(rate * self.margin - self.pacer.rate) > 1e-9
                         or self._client_burst(burst) != self.pacer.burst):
            log.info("%s: following the announced rate limit of %g/s", self.source, rate)
            self.pacer.set_rate(rate * self.margin, self._client_burst(burst))

    def _url(self, path: str, params: dict[str, Any]) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
        return self.absolute(path) + ("?" + query if query else "")

    def _shops_page(self, cursor: str | None) -> tuple[PageResult, str | None, list[str], bool]:
        """(result, next cursor, shop ids to fetch products of, fetched?)."""
        params: dict[str, Any] = {"limit": self.page_size}
        if cursor:
            params["cursor"] = cursor
        try:
            fetched = self._get(SHOPS_PATH, params)
        except CrawlError as exc:
            url = exc.url or self._url(SHOPS_PATH, params)
            return (PageResult(url, page=False, failed=True, errors=[PageError.of(exc, url)]),
                    None, [], False)
        try:
            items, next_cursor = read_page(fetched.data)
        except SourceLayoutChanged as exc:
            return (PageResult(fetched.url, failed=True,
                               errors=[PageError.of(exc, fetched.url)]), None, [], False)
        result = PageResult(fetched.url)
        shop_ids: list[str] = []
        for item in items:
            try:
                listing = shop_listing(item, self.absolute)
            except InvalidRecord as exc:
                sid = record_id(item)
                name = item.get("name") if isinstance(item, dict) else None
                result.errors.append(PageError(fetched.url, exc.kind,
                                               f"{exc} (name={name!r})" if name else str(exc)))
                if sid:
                    result.touched.append(sid)
                continue
            result.listings.append(listing)
            shop_ids.append(listing["source_id"])
        return result, next_cursor, shop_ids, True

    def _products_page(self, shop_id: str, cursor: str | None,
                       ) -> tuple[PageResult, str | None, bool]:
        """(result, next cursor, fetched?) for one page of a shop's products."""
        path = f"{SHOPS_PATH}/{shop_id}/products"
        params: dict[str, Any] = {"limit": self.page_size}
        if cursor:
            params["cursor"] = cursor
        try:
            fetched = self._get(path, params)
        except FetchError as exc:
            url = exc.url or self._url(path, params)
            if exc.status == 404:  # the shop left between its listing and now: nothing lost
                return PageResult(url, errors=[PageError(url, exc.kind, f"shop {shop_id} "
                                                         f"vanished: {exc}")]), None, True
            return PageResult(url, page=False, failed=True,
                              errors=[PageError(url, exc.kind, str(exc))]), None, False
        except CrawlError as exc:
            url = exc.url or self._url(path, params)
            return PageResult(url, page=False, failed=True,
                              errors=[PageError(url, exc.kind, str(exc))]), None, False
        try:
            items, next_cursor = read_page(fetched.data)
        except SourceLayoutChanged as exc:
            return PageResult(fetched.url, failed=True,
                              errors=[PageError.of(exc, fetched.url)]), None, False
        result = PageResult(fetched.url)
        for item in items:
            try:
                result.listings.append(product_listing(item, shop_id, self.absolute))
            except InvalidRecord as exc:
                sid = record_id(item)
                result.errors.append(PageError(fetched.url, exc.kind,
                                               f"product {sid}: {exc}" if sid else str(exc)))
                if sid:
                    result.touched.append(sid)
        return result, next_cursor, True

    # ------------------------------------------------------------------ walking
    def pages(self, checkpoint: Any | None = None, *,
              since: datetime | None = None) -> Iterator[PageResult]:
        state = checkpoint if isinstance(checkpoint, dict) else {}
        cursor: str | None = state.get("cursor")
        exhausted = bool(state.get("exhausted", False))
        pending: dict[str, None] = dict.fromkeys(state.get("pending") or [])  # ordered set
        waiting: deque[tuple[str, str | None]] = deque((sid, None) for sid in pending)
        # Shop pages run ahead of products only this far, so the checkpoint stays small.
        backlog_limit = max(2 * self.page_size, 4 * self.workers)
        inflight: dict[Future[Any], tuple[str, str | None]] = {}
        shops_inflight = False
        shops_lost = False  # a shops page ran out of retries: the rest of the list is lost
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=self.source)

        def checkpoint_now() -> dict[str, Any]:
            return {"cursor": cursor, "exhausted": exhausted, "pending": list(pending)}

        def submit() -> None:
            nonlocal shops_inflight
            if (not exhausted and not shops_lost and not shops_inflight
                    and len(waiting) < backlog_limit):
                inflight[pool.submit(self._shops_page, cursor)] = ("shops", None)
                shops_inflight = True
            while waiting and len(inflight) < self.workers + 1:
                shop_id, product_cursor = waiting.popleft()
                inflight[pool.submit(self._products_page, shop_id, product_cursor)] = (
                    shop_id, product_cursor)

        try:
            submit()
            while inflight:
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for future in done:
                    what, _ = inflight.pop(future)
                    if what == "shops":
                        shops_inflight = False
                        result, next_cursor, shop_ids, fetched = future.result()
                        if fetched:
                            cursor, exhausted = next_cursor, next_cursor is None
                            for sid in shop_ids:
                                if sid not in pending:
                                    pending[sid] = None
                                    waiting.append((sid, None))
                        else:
                            shops_lost = True  # the checkpoint keeps the cursor to resume from
                        result.checkpoint = checkpoint_now()
                        yield result
                    else:
                        result, next_cursor, fetched = future.result()
                        if fetched and next_cursor:
                            waiting.appendleft((what, next_cursor))
                        elif fetched:
                            pending.pop(what, None)
                        result.checkpoint = checkpoint_now()
                        yield result
                submit()
        finally:
            for future in inflight:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
