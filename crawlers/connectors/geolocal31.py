"""Géo'local31 connector: cover Haute-Garonne with bounding boxes under the answer cap.

The platform answers ``GET /api/commerces?bbox=minLon,minLat,maxLon,maxLat`` with
a GeoJSON FeatureCollection holding at most a capped number of features (100 on
the replica) and no paging: when more shops match, ``numberMatched`` >
``numberReturned`` and the rest is out of reach. So the connector walks a
quadtree: it starts from the configured box (``options.bbox``, Haute-Garonne by
default), and splits every capped tile into four quadrants until each answer is
complete.

Tile edges: the server filters with closed boxes (OGC ``bbox`` semantics), so a
shop on a shared edge comes back from both neighbours. The connector keeps a
feature only in the tile that owns it, half-open ``[min, max)`` on both axes
(closed on the start box's own east and north edges), so every point has
exactly one owner; it also drops ids it already yielded, in case.

Endless splitting is guarded: a tile narrower than ``options.min_tile`` degrees
that is still capped (more shops at one point than the cap, a market hall) is
not split again: its features are kept, an error ``tile_cap`` is recorded and
the page counts as lost, so the run is partial rather than silently short.

The checkpoint after each answer is the queue of tiles still to fetch plus
counters; a killed run resumes from it. Options (all optional):
``bbox`` ([minLon, minLat, maxLon, maxLat] or "a,b,c,d"), ``min_tile``
(degrees, default 0.0001), ``cap`` (assume an answer of that many features is
capped when the server omits ``numberMatched``), ``endpoint`` (default
``/api/commerces``), ``page_url`` (default ``/commerce/{id}``).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from crawlers.config import SourceConfig
from crawlers.connectors.base import ApiConnector
from crawlers.errors import (
    CrawlError,
    ErrorKind,
    InvalidRecord,
    PageError,
    SourceConfigError,
    SourceLayoutChanged,
)
from crawlers.http import Fetched, Fetcher
from crawlers.listing import PageResult
from crawlers.tiling import (
    DEFAULT_MIN_TILE,
    Box,
    feature_id,
    feature_point,
    format_box,
    is_smallest,
    owns,
    parse_box,
    read_collection,
    split_box,
)

# Haute-Garonne (lon/lat); a live site or another territory sets `options: {bbox: ...}`.
HAUTE_GARONNE_BBOX = (0.44, 42.69, 2.05, 43.92)

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1


# ---------------------------------------------------------------------- parsing
def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return value if isinstance(value, str) else None


def _text_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return None
    items = [v for v in (_text(x) for x in value) if v and v.strip()]
    return items or None


def feature_listing(feature: Any, page_url: str) -> dict[str, Any]:
    """A shop listing in the contract from one Géo'local31 feature.

    ``page_url`` is the absolute template of the public page, with ``{id}``. The
    shop's sign (``enseigne``) is its name when the register has one, else the
    registered name (``nom``). Raises InvalidRecord for a feature without id or
    without a usable point.

    Example:
        >>> f = {"type": "Feature", "id": "GL31-000001", "geometry": {"type": "Point",
        ...      "coordinates": [1.44, 43.6]}, "properties": {"nom": "CAVE & CO",
        ...      "activite": "Caviste"}}
        >>> feature_listing(f, "https://x/commerce/{id}")["lat"]
        43.6
    """
    sid = feature_id(feature)
    if sid is None:
        raise InvalidRecord("feature without id")
    lon, lat = feature_point(feature, sid)
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise InvalidRecord("feature without properties", source_id=sid)
    activite = _text(props.get("activite"))
    listing: dict[str, Any] = {
        "kind": "shop",
        "source_id": sid,
        "url": page_url.replace("{id}", quote(sid, safe="")),
        "name": _text(props.get("enseigne")) or _text(props.get("nom")),
        "address": _text(props.get("adresse")),
        "postcode": _text(props.get("code_postal")),
        "city": _text(props.get("commune")),
        "phone": _text(props.get("telephone")),
        "website": _text(props.get("site_web")),
        "siret": _text(props.get("siret")),
        "lat": lat,
        "lon": lon,
        "categories": [activite] if activite else None,
        "services": _text_list(props.get("services")),
        "opening_hours": _text(props.get("horaires")),
    }
    return {k: v for k, v in listing.items() if v is not None}


# ---------------------------------------------------------------------- the connector
class Geolocal31Connector(ApiConnector):
    """Géo'local31: a quadtree of bbox requests, each tile split until under the cap."""

    def __init__(self, config: SourceConfig, client: httpx.Client, *,
                 fetcher: Fetcher | None = None) -> None:
        super().__init__(config, client, fetcher=fetcher)
        try:
            self.root = parse_box(config.option("bbox", list(HAUTE_GARONNE_BBOX)))
            self.min_tile = float(config.option("min_tile", DEFAULT_MIN_TILE))
            cap = config.option("cap")
            self.cap = int(cap) if cap is not None else None
        except (TypeError, ValueError) as exc:
            raise SourceConfigError(f"options: {exc}", source=config.key) from exc
        if self.min_tile <= 0:
            raise SourceConfigError("options: min_tile must be positive", source=config.key)
        self.endpoint = str(config.option("endpoint", "/api/commerces"))
        self.page_url = self.absolute(str(config.option("page_url", "/commerce/{id}")))

    def tile_url(self, box: Box) -> str:
        return self.absolute(self.endpoint) + "?" + urlencode({"bbox": format_box(box)})

    def _fetch(self, box: Box) -> Fetched | CrawlError:
        try:
            return self.fetcher.get_json(self.endpoint, {"bbox": format_box(box)})
        except CrawlError as exc:
            return exc

    def _start(self, checkpoint: Any) -> tuple[Box, deque[Box], dict[str, int]]:
        if isinstance(checkpoint, dict) and checkpoint.get("version") == CHECKPOINT_VERSION:
            try:
                root = parse_box(checkpoint["root"])
                queue = deque(parse_box(t) for t in checkpoint["queue"])
                counts = {str(k): int(v) for k, v in checkpoint.get("counts", {}).items()}
                return root, queue, counts
            except (KeyError, TypeError, ValueError):
                log.warning("%s: unreadable checkpoint, starting over", self.source)
        elif checkpoint is not None:
            log.warning("%s: unknown checkpoint, starting over", self.source)
        return self.root, deque([self.root]), {}

    def pages(self, checkpoint: Any | None = None, *,
              since: datetime | None = None) -> Iterator[PageResult]:
        root, queue, counts = self._start(checkpoint)
        for key in ("tiles", "split", "features", "invalid", "capped_small", "lost"):
            counts.setdefault(key, 0)
        seen: set[str] = set()
        reported: set[str] = set()
        workers = max(1, self.config.concurrency)
        with ThreadPoolExecutor(max_workers=workers,
                                thread_name_prefix=f"{self.source}-tile") as pool:
            while queue:
                batch = [queue.popleft() for _ in range(min(workers, len(queue)))]
                answers = list(pool.map(self._fetch, batch))
                for i, (box, answer) in enumerate(zip(batch, answers, strict=True)):
                    result = self._page(root, box, answer, queue, counts, seen, reported)
                    # what is still to fetch after this page: the rest of the batch first
                    remaining = batch[i + 1:] + list(queue)
                    result.checkpoint = {"version": CHECKPOINT_VERSION, "root": list(root),
                                         "queue": [list(t) for t in remaining],
                                         "counts": dict(counts)}
                    yield result

    def _page(self, root: Box, box: Box, answer: Fetched | CrawlError, queue: deque[Box],
              counts: dict[str, int], seen: set[str], reported: set[str]) -> PageResult:
        url = self.tile_url(box)
        if isinstance(answer, CrawlError):
            counts["lost"] += 1
            return PageResult(url, page=False, failed=True, errors=[PageError.of(answer, url)])
        url = answer.url
        counts["tiles"] += 1
        try:
            features, capped = read_collection(answer.data, self.cap)
        except SourceLayoutChanged as exc:
            counts["lost"] += 1
            return PageResult(url, failed=True, errors=[PageError(url, exc.kind, str(exc))])
        small = is_smallest(box, self.min_tile)
        if capped and not small:
            counts["split"] += 1
            queue.extend(split_box(box))
            return PageResult(url)  # nothing kept: the quadrants will bring every feature
        result = PageResult(url)
        for feature in features:
            self._take(feature, root, box, result, counts, seen, reported)
        if capped:
            counts["capped_small"] += 1
            result.failed = True
            result.errors.append(PageError(url, ErrorKind.TILE_CAP, f"tile {format_box(box)} is still capped "
                                  f"at {len(features)} features below the minimum tile size "
                                  f"({self.min_tile:g}°): the rest is out of reach"))
        return result

    def _take(self, feature: Any, root: Box, box: Box, result: PageResult,
              counts: dict[str, int], seen: set[str], reported: set[str]) -> None:
        try:
            listing = feature_listing(feature, self.page_url)
        except InvalidRecord as exc:
            key = exc.source_id or repr(feature)[:200]
            if key in reported:  # a point-less feature comes back from every tile it touches
                return
            reported.add(key)
            counts["invalid"] += 1
            reason = str(exc) + (f" (id={exc.source_id})" if exc.source_id else "")
            result.errors.append(PageError(result.url, exc.kind, reason))
            if exc.source_id:
                result.touched.append(exc.source_id)
            return
        if not owns(box, root, listing["lon"], listing["lat"]):
            return  # on an edge: the neighbouring tile owns it
        if listing["source_id"] in seen:
            return
        seen.add(listing["source_id"])
        counts["features"] += 1
        result.listings.append(listing)
