"""Covering a bounding box with map tiles: boxes, quadrants, who owns a point, capped answers.

Shop locators answer "the shops in this box" (GeoJSON, OGC ``bbox``) with a
capped number of features and no paging, so a crawler walks a quadtree: a
capped tile is split in four until every answer is whole. The server filters
with closed boxes, so a shop on a shared edge comes back from both neighbours;
``owns`` gives every point exactly one tile: half-open ``[min, max)`` on both
axes, closed on the start box's own east and north edges.

Example:
    >>> root = (0.0, 0.0, 2.0, 2.0)
    >>> [owns(tile, root, 1.0, 1.0) for tile in split_box(root)]
    [False, False, False, True]
"""

from __future__ import annotations

import math
from typing import Any

from crawlers.errors import InvalidRecord, SourceLayoutChanged

Box = tuple[float, float, float, float]  # minLon, minLat, maxLon, maxLat

DEFAULT_MIN_TILE = 0.0001  # degrees, about 10 m


def parse_box(value: Any) -> Box:
    """A bbox ([a, b, c, d] or 'a,b,c,d') as four floats; ValueError if it is not one."""
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, list | tuple) or len(parts) != 4:
        raise ValueError(f"bbox must be minLon,minLat,maxLon,maxLat, got {value!r}")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bbox must hold four numbers, got {value!r}") from exc
    box = (x0, y0, x1, y1)
    if not all(math.isfinite(v) for v in box) or x0 >= x1 or y0 >= y1:
        raise ValueError(f"bbox must have min < max on both axes, got {value!r}")
    return box


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


def is_smallest(box: Box, min_tile: float) -> bool:
    """Whether the tile is no wider and no taller than the smallest tile split."""
    return (box[2] - box[0]) <= min_tile and (box[3] - box[1]) <= min_tile


def read_collection(data: Any, cap: int | None = None) -> tuple[list[Any], bool]:
    """(features, capped?) of a FeatureCollection; SourceLayoutChanged when it is not one.

    Capped means the server matched more than it returned (``numberMatched`` >
    ``numberReturned``); without ``numberMatched``, an answer of ``cap`` features
    or more is assumed capped.
    """
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise SourceLayoutChanged("the answer is not a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list):
        raise SourceLayoutChanged("the FeatureCollection has no features list")
    matched, returned = data.get("numberMatched"), data.get("numberReturned")
    if isinstance(returned, bool) or not isinstance(returned, int):
        returned = len(features)
    if isinstance(matched, int) and not isinstance(matched, bool):
        return features, matched > returned
    return features, cap is not None and len(features) >= cap


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


def _coordinate(value: Any, name: str, limit: float, sid: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidRecord(f"{name} is not a number: {value!r}", source_id=sid)
    try:
        number = float(value)
    except ValueError:
        raise InvalidRecord(f"{name} is not a number: {value!r}", source_id=sid) from None
    if not math.isfinite(number) or abs(number) > limit:
        raise InvalidRecord(f"{name} out of range: {value!r}", source_id=sid)
    return number


def feature_point(feature: dict[str, Any], sid: str) -> tuple[float, float]:
    """(lon, lat) of a Point feature; InvalidRecord (with the id) when there is none."""
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        raise InvalidRecord("feature without geometry", source_id=sid)
    if geometry.get("type") != "Point":
        raise InvalidRecord(f"geometry is not a Point: {geometry.get('type')!r}", source_id=sid)
    coords = geometry.get("coordinates")
    if not isinstance(coords, list | tuple) or len(coords) < 2:
        raise InvalidRecord(f"bad Point coordinates: {coords!r}", source_id=sid)
    return (_coordinate(coords[0], "longitude", 180, sid),
            _coordinate(coords[1], "latitude", 90, sid))
