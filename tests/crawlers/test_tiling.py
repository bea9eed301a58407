"""Map tiles: boxes, quadrants, one owner per point, capped answers, features' points."""

from __future__ import annotations

from typing import Any

import pytest

from crawlers.errors import InvalidRecord, SourceLayoutChanged
from crawlers.tiling import (
    feature_id,
    feature_point,
    format_box,
    is_smallest,
    owns,
    parse_box,
    read_collection,
    split_box,
)


def feature(sid: str, lon: Any, lat: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": sid, "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"id": sid}}


def test_read_collection_tells_a_capped_answer() -> None:
    fs = [feature(str(i), 1, 43) for i in range(3)]
    base = {"type": "FeatureCollection", "features": fs}
    assert read_collection({**base, "numberMatched": 3, "numberReturned": 3}) == (fs, False)
    assert read_collection({**base, "numberMatched": 9, "numberReturned": 3}) == (fs, True)
    assert read_collection(base) == (fs, False)
    assert read_collection(base, cap=3) == (fs, True)  # no numberMatched: trust the cap
    for bad in ({"features": fs}, {"type": "FeatureCollection"}, [], None):
        with pytest.raises(SourceLayoutChanged):
            read_collection(bad)


def test_boxes_split_and_own_every_point_once() -> None:
    root = (0.0, 0.0, 8.0, 8.0)
    quads = split_box(root)
    assert quads == [(0, 0, 4, 4), (4, 0, 8, 4), (0, 4, 4, 8), (4, 4, 8, 8)]
    for point in [(4, 4), (0, 0), (8, 8), (8, 0), (0, 8), (4, 8), (8, 4), (2, 4), (4, 1)]:
        assert sum(owns(q, root, *point) for q in quads) == 1, point
    assert not owns(root, root, 8.5, 4)
    assert parse_box("0.44,42.69,2.05,43.92") == (0.44, 42.69, 2.05, 43.92)
    assert parse_box([1, 2, 3, 4]) == (1.0, 2.0, 3.0, 4.0)
    for bad in ("1,2,3", [3, 2, 1, 4], "a,b,c,d", 7, [0, 0, "inf", 1]):
        with pytest.raises(ValueError):
            parse_box(bad)
    box = (1 / 3, 43.1 / 7, 2.05, 43.92)
    assert parse_box(format_box(box)) == box  # the server sees exactly our floats
    assert is_smallest((0, 0, 0.01, 0.01), 0.01) and not is_smallest((0, 0, 0.02, 0.01), 0.01)


@pytest.mark.parametrize(("broken", "reason"), [
    ({"type": "Feature", "id": "A", "geometry": None}, "without geometry"),
    (feature("A", 1.44, "43°36'N"), "latitude is not a number"),
    (feature("A", None, 43.6), "longitude is not a number"),
    (feature("A", 1.44, 143.6), "out of range"),
    (feature("A", True, 43.6), "not a number"),
    ({"type": "Feature", "id": "A", "geometry": {"type": "Polygon", "coordinates": []}},
     "not a Point"),
    ({"type": "Feature", "id": "A", "geometry": {"type": "Point", "coordinates": [1]}},
     "bad Point coordinates"),
])
def test_a_feature_without_a_usable_point_is_an_invalid_record(broken: dict[str, Any],
                                                              reason: str) -> None:
    with pytest.raises(InvalidRecord, match=reason) as info:
        feature_point(broken, "A")
    assert info.value.source_id == "A"


def test_feature_ids_top_level_then_properties() -> None:
    assert feature_id(feature("GL-1", 1, 2)) == "GL-1"
    assert feature_id({"id": None, "properties": {"id": 7}}) == "7"
    assert feature_id({"id": " ", "properties": {}}) is None
    assert feature_id({"id": True}) is None and feature_id("garbage") is None
    assert feature_point(feature("A", "1.5", 43), "A") == (1.5, 43.0)
