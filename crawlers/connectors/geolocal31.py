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
import math
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from crawlers.config import SourceConfig
from crawlers.connectors.base import ApiConnector
from crawlers.errors import CrawlError, SourceConfigError
from crawlers.http import Fetched, Fetcher
from crawlers.listing import PageResult

# Haute-Garonne (lon/lat); a live site or another territory sets `options: {bbox: ...}`.
HAUTE_GARONNE_BBOX = (0.44, 42.69, 2.05, 43.92)

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]  # minLon, minLat, maxLon, maxLat

DEFAULT_MIN_TILE = 0.0001  # degrees, about 10 m
CHECKPOINT_VERSION = 1


class InvalidFeature(ValueError):
    """A feature that cannot be a listing; ``source_id`` when its id could be read."""

    def __init__(self, reason: str, source_id: str | None = None) -> None:
        super().__init__(reason)
        self.source_id = source_id


# ---------------------------------------------------------------------- pure helpers
def parse_box(value: Any) -> Box:
    """A bbox option ([a, b, c, d] or 'a,b,c,d') as four floats; ValueError if not one."""
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, list | tuple) or len(parts) != 4:
        raise ValueError(f"bbox must be minLon,minLat,maxLon,maxLat, got {value!r}")
    try:
        box = tuple(float(p) for p in parts)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bbox must hold four numbers, got {value!r}") from exc
    if not all(math.isfinite(v) for v in box) or box[0] >= box[2] or box[1] >= box[3]:
        raise ValueError(f"bbox must have min < max on both axes, got {value!r}")
    return box  # type: ignore[return-value]


def format_box(box: Box) -> str:
    """The bbox query value; repr() round-trips, so the server sees exactly our floats."""
    return ",".join(repr(float(v)) for v in box)


def split_box(box: Box) -> list[Box]:
    """The four quadrants of a box (SW, SE, NW, NE), sharing its midlines."""
    x0, y0, x1, y1 = box
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    return [(x0, y0, xm, ym), (xm, y0, x1, ym), (x0, ym, xm, y1), (xm, ym, x1, y1)]


def owns(box: Box, root: Box, lon: float, lat: float) -> bool:
    """Whether the tile owns the point: half-open [min, max), closed on the root's far edges."""
    x0, y0, x1, y1 = box
    in_x = x0 <= lon < x1 or (lon == x1 and x1 == root[2])
    in_y = y0 <= lat < y1 or (lat == y1 and y1 == root[3])
    return in_x and in_y


def read_collection(data: Any, cap: int | None = None) -> tuple[list[Any], bool]:
    """(features, capped?) of a FeatureCollection; ValueError when it is not one.

    Capped means the server matched more than it returned (``numberMatched`` >
    ``numberReturned``); without ``numberMatched``, an answer of ``cap`` features
    or more is assumed capped.
    """
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ValueError("the answer is not a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list):
        raise ValueError("the FeatureCollection has no features list")
    matched, returned = data.get("numberMatched"), data.get("numberReturned")
    if isinstance(returned, bool) or not isinstance(returned, int):
        returned = len(features)
    if isinstance(matched, int) and not isinstance(matched, bool):
        return features, matched > returned
    return features, cap is not None and len(features) >= cap


def _coordinate(value: Any, name: str, limit: float, sid: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidFeature(f"{name} is not a number: {value!r}", sid)
    try:
        number = float(value)
    except ValueError:
        raise InvalidFeature(f"{name} is not a number: {value!r}", sid) from None
    if not math.isfinite(number) or abs(number) > limit:
        raise InvalidFeature(f"{name} out of range: {value!r}", sid)
    return number


def feature_id(feature: Any) -> str | None:
    """The feature's id (top-level, else properties.id) as text, or None."""
    if not isinstance(feature, dict):
        return None
    props = feature.get("properties")
    for value in (feature.get("id"), props.get("id") if isinstance(props, dict) else None):
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


def feature_point(feature: dict[str, Any], sid: str) -> tuple[float, float]:
    """(lon, lat) of a Point feature; InvalidFeature when there is none."""
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        raise InvalidFeature("feature without geometry", sid)
    if geometry.get("type") != "Point":
        raise InvalidFeature(f"geometry is not a Point: {geometry.get('type')!r}", sid)
    coords = geometry.get("coordinates")
    if not isinstance(coords, list | tuple) or len(coords) < 2:
        raise InvalidFeature(f"bad Point coordinates: {coords!r}", sid)
    return _coordinate(coords[0], "longitude", 180, sid), _coordinate(coords[1], "latitude",
                                                                        90, sid)


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
    registered name (``nom``). Raises InvalidFeature for a feature without id or
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
        raise InvalidFeature("feature without id")
    lon, lat = feature_point(feature, sid)
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise InvalidFeature("feature without properties", sid)
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
            return PageResult(url, page=False, failed=True,
                              errors=[(url, answer.kind, str(answer))])
        url = answer.url
        counts["tiles"] += 1
        try:
            features, capped = read_collection(answer.data, self.cap)
        except ValueError as exc:
            counts["lost"] += 1
            return PageResult(url, failed=True, errors=[(url, "layout", str(exc))])
        small = (box[2] - box[0]) <= self.min_tile and (box[3] - box[1]) <= self.min_tile
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
            result.errors.append((url, "tile_cap", f"tile {format_box(box)} is still capped "
                                  f"at {len(features)} features below the minimum tile size "
                                  f"({self.min_tile:g}°): the rest is out of reach"))
        return result

    def _take(self, feature: Any, root: Box, box: Box, result: PageResult,
              counts: dict[str, int], seen: set[str], reported: set[str]) -> None:
        try:
            listing = feature_listing(feature, self.page_url)
        except InvalidFeature as exc:
            key = exc.source_id or repr(feature)[:200]
            if key in reported:  # a point-less feature comes back from every tile it touches
                return
            reported.add(key)
            counts["invalid"] += 1
            reason = str(exc) + (f" (id={exc.source_id})" if exc.source_id else "")
            result.errors.append((result.url, "invalid_record", reason))
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
