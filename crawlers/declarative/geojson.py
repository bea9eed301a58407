"""The ``geojson`` type: a bounding box covered with tiles, each split in four while capped.

``GeoJsonConnector`` is the generic connector: it asks ``endpoint`` for the
features of a tile (``bbox_param`` = the box, plus ``params``), and walks a
quadtree from ``root``: an answer that is capped (``numberMatched`` >
``numberReturned``, or ``cap`` features when the server does not say) is split
into its four quadrants instead of kept; a feature is kept only by the tile that
owns its point (``crawlers.tiling.owns``) and once per crawl. A tile no larger
than ``min_tile`` that is still capped (more shops at one point than the cap,
a market hall) is not split again: its features are kept, a ``tile_cap`` error
recorded and the page counted lost, so the run is partial rather than silently
short. Subclasses say how a feature becomes a listing (``feature_listing``).

The checkpoint after each answer is the queue of tiles still to fetch plus
counters; a killed run resumes from it.

``DeclarativeGeoJsonConnector`` maps features with the fields of a ``geojson``
entry (see ``docs/connectors.md``); the Géo'local31 connector is a hand-written one.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import jmespath

from crawlers.connectors.base import ApiConnector
from crawlers.declarative.schema import GeoSpec, compile_spec
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
from crawlers.parsing.records import fingerprint
from crawlers.source import SourceConfig
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

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1
COUNTS = ("tiles", "split", "features", "invalid", "capped_small", "lost")


class GeoJsonConnector(ApiConnector):
    """A quadtree of bbox requests, each tile split until under the cap."""

    #: the GeoJSON endpoint answering a box
    endpoint: str = ""
    #: the query parameter carrying the box
    bbox_param: str = "bbox"
    #: fixed query parameters
    params: Mapping[str, Any] = {}
    #: degrees below which a capped tile is not split again
    min_tile: float = DEFAULT_MIN_TILE
    #: features per answer assumed capped when the server does not say
    cap: int | None = None
    #: the box covered (set by the subclass)
    root: Box
    #: headers of the tile requests (on the platform's origin only)
    headers: Mapping[str, str] = {}

    def feature_listing(self, feature: Any, url: str) -> dict[str, Any]:
        """The listing of one feature; InvalidRecord (with its id when read) if unusable."""
        raise NotImplementedError

    def query(self, box: Box) -> dict[str, Any]:
        return {**self.params, self.bbox_param: format_box(box)}

    def tile_url(self, box: Box) -> str:
        return self.absolute(self.endpoint) + "?" + urlencode(self.query(box), safe=",")

    def _fetch(self, box: Box) -> Fetched | CrawlError:
        try:
            return self.fetcher.get_json(self.endpoint, self.query(box), headers=self.headers)
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
        for key in COUNTS:
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
            result.errors.append(PageError(
                url, ErrorKind.TILE_CAP, f"tile {format_box(box)} is still capped at "
                f"{len(features)} features below the minimum tile size ({self.min_tile:g}°): "
                "the rest is out of reach"))
        return result

    def _take(self, feature: Any, root: Box, box: Box, result: PageResult,
              counts: dict[str, int], seen: set[str], reported: set[str]) -> None:
        try:
            listing = self.feature_listing(feature, result.url or self.absolute(self.endpoint))
            sid = listing["source_id"]
            lon, lat = feature_point(feature, sid)
        except InvalidRecord as exc:
            key = exc.source_id or fingerprint(feature)
            if key in reported:  # a point-less feature comes back from every tile it touches
                return
            reported.add(key)
            counts["invalid"] += 1
            reason = str(exc) + (f" (id={exc.source_id})" if exc.source_id else "")
            result.errors.append(PageError(result.url, exc.kind, reason))
            if exc.source_id:
                result.touched.append(exc.source_id)
            return
        if not owns(box, root, lon, lat):
            return  # on an edge: the neighbouring tile owns it
        if sid in seen:
            return
        seen.add(sid)
        counts["features"] += 1
        result.listings.append(listing)


class DeclarativeGeoJsonConnector(GeoJsonConnector):
    """GeoJSON tiles of a ``geojson`` entry; properties mapped by JMESPath."""

    def __init__(self, config: SourceConfig, client: httpx.Client, *,
                 fetcher: Fetcher | None = None) -> None:
        super().__init__(config, client, fetcher=fetcher)
        spec = compile_spec(config)
        if not isinstance(spec, GeoSpec):
            raise SourceConfigError(f"connector {config.connector!r} is not geojson",
                                    source=config.key)
        self.spec = spec
        self.root = spec.bbox
        self.endpoint = spec.endpoint
        self.bbox_param = spec.bbox_param
        self.params = spec.params
        self.min_tile = spec.min_tile
        self.cap = spec.cap
        self.headers = spec.shape.request_headers(json_rule=True)

    def feature_listing(self, feature: Any, url: str) -> dict[str, Any]:
        """``lat``/``lon`` default to the Point geometry."""
        try:
            listing = self.spec.item.listing(feature, feature, url)
        except (TypeError, ValueError, jmespath.exceptions.JMESPathError) as exc:
            raise InvalidRecord(f"shop: {exc}", source_id=feature_id(feature)) from exc
        sid = listing.get("source_id")
        if sid is None:
            raise InvalidRecord("feature without id")
        lon, lat = feature_point(feature, sid)
        listing.setdefault("lat", lat)
        listing.setdefault("lon", lon)
        problem = self.spec.item.problem(listing)
        if problem:
            raise InvalidRecord(problem, source_id=sid)
        return listing
