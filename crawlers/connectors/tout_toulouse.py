"""Tout Toulouse: the federation app's bearer-token JSON API, paged by offset.

``GET /api/v1/shops`` and ``/api/v1/products`` answer ``{"total", "offset",
"limit", "items"}`` with items sorted by id. Offset paging drifts when listings
are added or removed while we page (a window shifts by a few items, so some are
served twice and some never), so the walk is built to notice it:

- **Overlapping windows.** Pages are requested every ``page_size - overlap``
  items. Since items are sorted by id, a page shares at least one id with the
  previous one exactly when nothing fell between them; the walk's ids then form
  one contiguous run ``[first_id, last_id]`` of the sorted list, and a page
  whose smallest id is above ``last_id`` is a gap: the walk backs off half a step
  and asks again. Ids already covered are not yielded twice (dedupe by id).
- **Counting, not remembering.** Thanks to contiguity the number of distinct ids
  covered is a counter, not a set: new ids are those outside ``[first_id,
  last_id]``. Rows whose id is missing (a broken record, reported as an error)
  are told apart by a digest of their content. When the walk ends, ids plus
  id-less rows are checked against the announced ``total``; what is missing can
  only lie before ``first_id`` or after ``last_id`` (a head or tail window that
  drifted), so the head and the tail are re-paged, a few rounds at most. Still
  short: the run is reported incomplete (a failed page), so that nothing is
  wrongly marked gone. After a lost page the check is moot (the run is partial).
- **Resuming.** The checkpoint after each page holds the endpoint, the next
  offset and the coverage (``first_id``, ``last_id``, ``count``, ``total``, the
  digests of id-less rows). A killed run resumes at that offset with that
  coverage, so the final completeness check counts what was seen before the kill
  too: it works the same after a resume as in one go. A checkpoint made for
  another ``since`` is ignored (the run starts over).

Incremental runs pass ``updated_since`` (``since`` minus ``since_margin_s``, for
clock skew); the answer then also holds tombstones ``{"id", "deleted": true}``,
whose source ids go into ``PageResult.gone``. A full crawl ignores tombstones.

Source ids are ``boutique-<id>`` for shops and ``produit-<id>`` for products (the
two id sequences may overlap on the platform). Options (``options:`` in
sources.yaml): ``page_size`` (100, the API's maximum), ``overlap`` (5),
``since_margin_s`` (300), ``max_backoffs`` (4, per gap), ``recovery_rounds`` (3),
``max_consecutive_failures`` (3, then the rest of an endpoint is given up).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from crawlers.connectors.base import ApiConnector
from crawlers.errors import (
    CrawlError,
    ErrorKind,
    FetchError,
    InvalidRecord,
    PageError,
    SourceLayoutChanged,
)
from crawlers.listing import PageResult
from crawlers.parsing.records import fingerprint

log = logging.getLogger(__name__)

SHOP_PREFIX = "boutique-"
PRODUCT_PREFIX = "produit-"
MAX_PAGE_SIZE = 100

# (name, API path, listing kind)
ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("shops", "/api/v1/shops", "shop"),
    ("products", "/api/v1/products", "product"),
)

# The app's labels for its service flags, as it shows them on a shop's page.
SERVICE_LABELS: tuple[tuple[str, str], ...] = (
    ("click_and_collect", "Click & Collect"),
    ("livraison", "Livraison"),
    ("livraison_locale", "Livraison locale"),
)

CHECKPOINT_VERSION = 1


# --------------------------------------------------------------------------- parsing
def native_id(value: Any) -> int | None:
    """The platform's integer id, or None when the value cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def source_id_for(kind: str, ident: int) -> str:
    """'boutique-12' / 'produit-34': shop and product ids never collide."""
    return (SHOP_PREFIX if kind == "shop" else PRODUCT_PREFIX) + str(ident)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def shop_listing(item: dict[str, Any], absolute: Callable[[str], str]) -> dict[str, Any]:
    """A shop item of the API as a listing in the contract (values as given)."""
    ident = native_id(item.get("id"))
    address = _mapping(item.get("adresse"))
    geo = _mapping(item.get("geo"))
    services = _mapping(item.get("services"))
    name = item.get("nom")
    legal_form = item.get("forme_juridique")
    if isinstance(name, str) and isinstance(legal_form, str) and legal_form.strip():
        name = f"{name} {legal_form.strip()}"  # the app shows "Maison Roux SARL"
    categories = item.get("categories")
    return {
        "kind": "shop",
        "source_id": source_id_for("shop", ident) if ident is not None else None,
        "url": absolute(f"/boutique/{ident}"),
        "name": name,
        "address": address.get("rue"),
        "postcode": address.get("code_postal"),
        "city": address.get("ville"),
        "phone": item.get("telephone"),
        "email": item.get("email"),
        "website": item.get("site_web"),
        "siret": item.get("siret"),
        "lat": geo.get("lat"),
        "lon": geo.get("lng"),
        "categories": categories if isinstance(categories, list) else (
            [categories] if isinstance(categories, str) else None),
        "services": [label for flag, label in SERVICE_LABELS if services.get(flag) is True],
        "opening_hours": item.get("horaires"),
        "description": item.get("description"),
    }


def product_listing(item: dict[str, Any], absolute: Callable[[str], str]) -> dict[str, Any]:
    """A product item of the API as a listing in the contract.

    Raises InvalidRecord when the product names no shop: every product of the
    federation's app belongs to a shop, so such a row is broken, not shopless.
    """
    ident = native_id(item.get("id"))
    shop = native_id(item.get("boutique_id"))
    if shop is None:
        raise InvalidRecord(f"product without a shop (boutique_id={item.get('boutique_id')!r})")
    return {
        "kind": "product",
        "source_id": source_id_for("product", ident) if ident is not None else None,
        "url": absolute(f"/produit/{ident}"),
        "title": item.get("libelle"),
        "brand": item.get("marque"),
        "gtin": item.get("ean"),
        "price": item.get("prix"),
        "currency": item.get("devise"),
        "availability": item.get("disponibilite"),
        "category": item.get("categorie"),
        "description": item.get("description"),
        "image_url": item.get("image"),
        "shop_source_id": source_id_for("shop", shop),
    }


@dataclass
class ParsedItem:
    """One API item with a usable id: a listing, a tombstone, or a broken row."""

    ident: int
    source_id: str
    listing: dict[str, Any] | None = None
    deleted: bool = False
    problem: str | None = None


@dataclass
class ParsedPage:
    items: list[ParsedItem] = field(default_factory=list)
    high_water: str | None = None  # the latest updated_at of the answer (platform clock)
    # rows without a usable id: (fingerprint of their content, reason)
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def parse_items(items: list[Any], kind: str, absolute: Callable[[str], str]) -> ParsedPage:
    """Sort one answer's items into listings, tombstones, broken rows and id-less rows."""
    page = ParsedPage()
    for raw in items:
        if not isinstance(raw, dict):
            page.unreadable.append((fingerprint(raw),
                                    f"item is not an object: {type(raw).__name__}"))
            continue
        stamp = raw.get("updated_at")
        if isinstance(stamp, str) and (page.high_water is None or stamp > page.high_water):
            page.high_water = stamp
        ident = native_id(raw.get("id"))
        if ident is None:
            label = raw.get("nom") if kind == "shop" else raw.get("libelle")
            page.unreadable.append((fingerprint(raw), (
                f"{kind} without a usable id (id={raw.get('id')!r}, "
                f"{'nom' if kind == 'shop' else 'libelle'}={label!r})")))
            continue
        sid = source_id_for(kind, ident)
        if raw.get("deleted") is True:
            page.items.append(ParsedItem(ident, sid, deleted=True))
            continue
        try:
            listing = (shop_listing if kind == "shop" else product_listing)(raw, absolute)
        except InvalidRecord as exc:
            page.items.append(ParsedItem(ident, sid, problem=str(exc)))
            continue
        page.items.append(ParsedItem(ident, sid, listing=listing))
    return page


# --------------------------------------------------------------------------- coverage
@dataclass
class Coverage:
    """What a walk over one endpoint has seen: a contiguous run of the id-sorted list.

    ``count`` is the number of distinct ids in ``[first_id, last_id]``,
    ``null_rows`` the fingerprints of the distinct id-less rows met (rare: a row
    lost its id; two identical ones count once, which errs on the safe side),
    ``total`` the latest total the API announced.
    """

    first_id: int | None = None
    last_id: int | None = None
    count: int = 0
    null_rows: list[str] = field(default_factory=list)
    total: int | None = None

    def is_new(self, ident: int) -> bool:
        if self.first_id is None or self.last_id is None:
            return True
        return ident < self.first_id or ident > self.last_id

    def after_gap(self, ids: list[int]) -> bool:
        """Whether a page going forward leaves a hole after what is covered."""
        return self.last_id is not None and bool(ids) and min(ids) > self.last_id

    def before_gap(self, ids: list[int]) -> bool:
        """Whether a head page ends before what is covered begins (a hole between)."""
        return self.first_id is not None and bool(ids) and max(ids) < self.first_id

    def take(self, ids: list[int]) -> list[int]:
        """Add a page's ids; return the new ones (in page order)."""
        new = [i for i in dict.fromkeys(ids) if self.is_new(i)]
        if new:
            self.count += len(new)
            low, high = min(new), max(new)
            self.first_id = low if self.first_id is None else min(self.first_id, low)
            self.last_id = high if self.last_id is None else max(self.last_id, high)
        return new

    @property
    def complete(self) -> bool:
        return self.total is not None and self.seen >= self.total

    @property
    def seen(self) -> int:
        return self.count + len(self.null_rows)


@dataclass
class WalkState:
    """Where the walk over one endpoint stands (the checkpoint's ``state``)."""

    offset: int = 0
    phase: str = "walk"  # walk | recover | done
    coverage: Coverage = field(default_factory=Coverage)
    broken: bool = False  # a page was lost: contiguity (and the final check) no longer hold
    rounds: int = 0  # recovery rounds done

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WalkState:
        return cls(offset=int(data.get("offset", 0)), phase=str(data.get("phase", "walk")),
                   coverage=Coverage(**data.get("coverage", {})),
                   broken=bool(data.get("broken", False)), rounds=int(data.get("rounds", 0)))


# --------------------------------------------------------------------------- connector
class ToutToulouseConnector(ApiConnector):
    """Walk the shops, then the products, of the Tout Toulouse API."""

    supports_incremental: ClassVar[bool] = True

    @property
    def page_size(self) -> int:
        return max(1, min(MAX_PAGE_SIZE, int(self.config.option("page_size", MAX_PAGE_SIZE))))

    @property
    def step(self) -> int:
        overlap = max(1, int(self.config.option("overlap", 5)))
        return max(1, self.page_size - min(overlap, self.page_size - 1))

    def _max_head_pages(self, cov: Coverage) -> int:
        return 2 + (cov.total or 0) // self.step

    def pages(self, checkpoint: Any | None = None, *,
              since: datetime | None = None) -> Iterator[PageResult]:
        since_key = since.astimezone(UTC).isoformat() if since else None
        params: dict[str, Any] = {}
        if since is not None:
            margin = timedelta(seconds=float(self.config.option("since_margin_s", 300)))
            params["updated_since"] = _iso(since - margin)
        start, state = 0, WalkState()
        if isinstance(checkpoint, dict) and checkpoint.get("v") == CHECKPOINT_VERSION:
            if checkpoint.get("since") == since_key:
                start = int(checkpoint.get("endpoint", 0))
                state = WalkState.from_json(checkpoint.get("state") or {})
                log.info("%s: resuming at endpoint %d, offset %d", self.source, start,
                         state.offset)
            else:
                log.warning("%s: checkpoint made for another 'since', starting over",
                            self.source)
        for number in range(start, len(ENDPOINTS)):
            name, path, kind = ENDPOINTS[number]

            def checkpoint_of(st: WalkState, number: int = number) -> dict[str, Any]:
                return {"v": CHECKPOINT_VERSION, "since": since_key, "endpoint": number,
                        "state": st.to_json()}

            yield from self._endpoint(name, path, kind, state, params, since is not None,
                                      checkpoint_of)
            state = WalkState()

    # ------------------------------------------------------------------ one endpoint
    def _endpoint(self, name: str, path: str, kind: str, state: WalkState,
                  params: dict[str, Any], incremental: bool,
                  checkpoint_of: Callable[[WalkState], dict[str, Any]]) -> Iterator[PageResult]:
        if state.phase == "walk":
            yield from self._walk(name, path, kind, state, params, incremental, checkpoint_of)
        if state.phase == "recover":
            yield from self._recover(name, path, kind, state, params, incremental,
                                     checkpoint_of)

    def _fetch(self, path: str, params: dict[str, Any], offset: int
               ) -> tuple[str, dict[str, Any] | None, PageResult | None]:
        """(url, answer, None) or (url, None, a failed PageResult)."""
        query = {**params, "offset": offset, "limit": self.page_size}
        url = self.absolute(path) + "?" + "&".join(f"{k}={v}" for k, v in query.items())
        try:
            fetched = self.fetcher.get_json(path, query)
        except FetchError as exc:
            if exc.status in (401, 403):
                raise  # nothing can be reached: the run fails with this message
            return url, None, PageResult(url, page=False, failed=True,
                                         errors=[PageError.of(exc, url)])
        except CrawlError as exc:
            return url, None, PageResult(url, page=False, failed=True,
                                         errors=[PageError.of(exc, url)])
        data = fetched.data
        if not (isinstance(data, dict) and isinstance(data.get("items"), list)):
            layout = SourceLayoutChanged("answer without an 'items' list",
                                         source=self.source, url=fetched.url)
            return fetched.url, None, PageResult(fetched.url, page=False, failed=True,
                                                 errors=[PageError.of(layout)])
        return fetched.url, data, None

    def _absorb(self, cov: Coverage, parsed: ParsedPage) -> tuple[list[int], list[str]]:
        """Count one answer into the coverage: (its new ids, its new id-less rows)."""
        new = cov.take([item.ident for item in parsed.items])
        new_nulls = []
        for key, _ in parsed.unreadable:
            if key not in cov.null_rows:
                cov.null_rows.append(key)
                new_nulls.append(key)
        return new, new_nulls

    def _result(self, url: str, kind: str, parsed: ParsedPage, new: list[int],
                new_nulls: list[str], incremental: bool, checkpoint: dict[str, Any]
                ) -> PageResult:
        """The PageResult of one answer: only ids new to the walk are passed on."""
        fresh = set(new)
        result = PageResult(url, checkpoint=checkpoint, high_water=parsed.high_water)
        for item in parsed.items:
            if item.ident not in fresh:
                continue
            fresh.discard(item.ident)  # an id repeated within one answer counts once
            if item.deleted:
                if incremental:
                    result.gone.append(item.source_id)
            elif item.problem:
                result.touched.append(item.source_id)
                page = "/boutique/" if kind == "shop" else "/produit/"
                result.errors.append(PageError(self.absolute(f"{page}{item.ident}"),
                                               ErrorKind.INVALID_RECORD,
                                               f"{item.source_id}: {item.problem}"))
            elif item.listing is not None:
                result.listings.append(item.listing)
        for key, reason in parsed.unreadable:  # each id-less row reported once
            if key in new_nulls:
                result.errors.append(PageError(url, ErrorKind.INVALID_RECORD, reason))
        return result

    def _walk(self, name: str, path: str, kind: str, state: WalkState,
              params: dict[str, Any], incremental: bool,
              checkpoint_of: Callable[[WalkState], dict[str, Any]]) -> Iterator[PageResult]:
        """Page forward with overlapping windows, backing off over gaps."""
        cov = state.coverage
        failures = backoffs = 0
        max_backoffs = int(self.config.option("max_backoffs", 4))
        max_failures = int(self.config.option("max_consecutive_failures", 3))
        while True:
            offset = state.offset
            url, data, failed = self._fetch(path, params, offset)
            if failed is not None:
                failures += 1
                state.broken = True
                if failures >= max_failures or (cov.total is not None
                                                and offset + self.page_size >= cov.total):
                    state.phase = "done"
                    if failures >= max_failures and not (
                            cov.total is not None and offset + self.page_size >= cov.total):
                        failed.errors.append(PageError(
                            url, ErrorKind.ABANDONED, f"{name}: {failures} pages lost in a "
                            "row, the rest of the endpoint is skipped"))
                else:
                    state.offset = offset + self.step
                failed.checkpoint = checkpoint_of(state)
                yield failed
                if state.phase == "done":
                    return
                continue
            assert data is not None
            failures = 0
            parsed = parse_items(data["items"], kind, self.absolute)
            ids = [item.ident for item in parsed.items]
            if isinstance(data.get("total"), int):
                cov.total = data["total"]
            if (offset > 0 and not state.broken and cov.after_gap(ids)
                    and backoffs < max_backoffs):
                # the window moved forward: items fell between this page and the last
                backoffs += 1
                self.fetcher.stats["drift_gaps"] += 1
                state.offset = max(0, offset - max(1, self.step // 2))
                log.info("%s: gap before %s offset %d, backing off to %d", self.source, name,
                         offset, state.offset)
                continue
            backoffs = 0
            new, new_nulls = self._absorb(cov, parsed)
            last = (not data["items"] and offset > 0) or (
                cov.total is not None and offset + self.page_size >= cov.total)
            if last:
                state.phase = "done" if state.broken or cov.complete else "recover"
            else:
                state.offset = offset + self.step
            yield self._result(url, kind, parsed, new, new_nulls, incremental,
                               checkpoint_of(state))
            if last:
                return

    def _recover(self, name: str, path: str, kind: str, state: WalkState,
                 params: dict[str, Any], incremental: bool,
                 checkpoint_of: Callable[[WalkState], dict[str, Any]]) -> Iterator[PageResult]:
        """Re-page the head and the tail until the count reaches the total."""
        cov = state.coverage
        rounds = int(self.config.option("recovery_rounds", 3))
        while not cov.complete and state.rounds < rounds:
            state.rounds += 1
            self.fetcher.stats["recovery_rounds"] += 1
            log.info("%s: %s has %d of %d items, re-paging head and tail (round %d)",
                     self.source, name, cov.seen, cov.total, state.rounds)
            # the head: from offset 0 forward, a chain of overlapping windows, until it
            # meets what is covered; only a chain with no hole is counted
            chain: list[tuple[str, ParsedPage, list[int]]] = []
            offset = 0
            for _ in range(self._max_head_pages(cov)):
                url, data, failed = self._fetch(path, params, offset)
                if failed is not None:
                    chain = []  # a transient loss: the next round tries again
                    break
                assert data is not None
                parsed = parse_items(data["items"], kind, self.absolute)
                ids = [item.ident for item in parsed.items]
                if chain and ids and chain[-1][2] and min(ids) > max(chain[-1][2]):
                    chain = []  # the chain itself has a hole: the next round tries again
                    break
                chain.append((url, parsed, ids))
                if not data["items"] or (ids and not cov.before_gap(ids)):
                    break  # past the end, or met the covered run (pages of id-less rows: on)
                offset += self.step
            else:
                chain = []
            for url, parsed, _ids in reversed(chain):  # nearest the covered run first
                new, new_nulls = self._absorb(cov, parsed)
                yield self._result(url, kind, parsed, new, new_nulls, incremental,
                                   checkpoint_of(state))
            if cov.complete or cov.total is None:
                continue
            # the tail: the last window, backing off until it meets what is covered
            offset = max(0, cov.total - self.page_size)
            for _ in range(int(self.config.option("max_backoffs", 4)) + 1):
                url, data, failed = self._fetch(path, params, offset)
                if failed is not None:
                    break
                assert data is not None
                parsed = parse_items(data["items"], kind, self.absolute)
                ids = [item.ident for item in parsed.items]
                if cov.after_gap(ids) and offset > 0:
                    offset = max(0, offset - max(1, self.step // 2))
                    continue
                new, new_nulls = self._absorb(cov, parsed)
                yield self._result(url, kind, parsed, new, new_nulls, incremental,
                                   checkpoint_of(state))
                break
        state.phase = "done"
        if not cov.complete:
            url = self.absolute(path)
            yield PageResult(url, page=False, failed=True, checkpoint=checkpoint_of(state),
                             errors=[PageError(url, ErrorKind.INCOMPLETE,
                                               f"{name}: {cov.seen} of {cov.total} items "
                                               f"after {state.rounds} re-paging round(s)")])


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
