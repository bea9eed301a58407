"""The territories file: validation naming file, line, territory and key; territory_of."""

from __future__ import annotations

import pytest

from normalizer.territories import (
    TerritoryConfigError,
    load_territories,
    parse_territories,
    territory_of,
)

GOOD = """\
territories:
  toulouse:
    name: Toulouse
    departments: ["31", "81"]
    bbox: [-0.33, 42.33, 4.85, 45.05]
    sources: [tout_toulouse, mavillemonshopping]
    texts: {title: Agora Toulouse, place_examples: "ex. Labège"}
  grand_nancy:
    name: Grand Nancy
    postcodes: ["54000", "54500"]
    bbox: [6.05, 48.60, 6.32, 48.76]
    sources: [mavillemonshopping]
"""


def test_the_shipped_file_is_valid() -> None:
    territories = load_territories("config/territories.yaml")
    assert territories.keys == ("toulouse", "grand_nancy")
    assert all(t.sources and t.bbox for t in territories)


@pytest.mark.parametrize(("postcode", "lat", "lon", "expected"), [
    ("31000", 43.6, 1.44, "toulouse"),
    ("81000", None, None, "toulouse"),  # by department
    ("54500", None, None, "grand_nancy"),  # a listed postcode
    ("54000", 43.6, 1.44, "grand_nancy"),  # the postcode wins over wrong coordinates
    (None, 48.69, 6.18, "grand_nancy"),  # no postcode: the box
    ("", 43.6, 1.44, "toulouse"),
    ("54300", 48.59, 6.49, None),  # Lunéville: Meurthe-et-Moselle, not the Grand Nancy
    ("75001", 48.86, 2.35, None),
    (None, None, None, None),
    ("n/a", "x", "y", None),
])
def test_territory_of(postcode: str | None, lat: object, lon: object,
                      expected: str | None) -> None:
    territories = parse_territories(GOOD)
    assert territory_of(territories, postcode, lat, lon) == expected  # type: ignore[arg-type]


def test_texts_fall_back_to_the_name_and_area_holds_each_box() -> None:
    territories = parse_territories(GOOD)
    assert territories["toulouse"].text("title") == "Agora Toulouse"
    assert territories["grand_nancy"].text("tagline") == "Grand Nancy"
    area = territories.area()
    assert area.contains(48.69, 6.18) and area.contains(43.6, 1.44)
    assert not area.contains(46.0, 5.5)  # inside the union of the boxes, in neither
    assert territories.select(["grand_nancy"]).keys == ("grand_nancy",)
    with pytest.raises(TerritoryConfigError, match="unknown territory 'lyon'"):
        territories.select(["lyon"])


def test_every_problem_is_named_with_file_line_and_key() -> None:
    bad = """\
territories:
  toulouse:
    name: Toulouse
    departements: ["31"]
    sources: [tout_toulouse]
    texts: {title: x, slogan: y}
  Nancy:
    name: Nancy
  lyon:
    name: Lyon
    postcodes: ["6900", 69001]
    bbox: [5, 46, 4, 45]
    sources: []
"""
    with pytest.raises(TerritoryConfigError) as info:
        parse_territories(bad, "territories.yaml")
    found = [(p.line, p.territory, p.key) for p in info.value.problems]
    assert (4, "toulouse", "departements") in found  # unknown key
    assert (2, "toulouse", "departments") in found  # nowhere to be
    assert (6, "toulouse", "texts.slogan") in found
    assert (7, "Nancy", None) in found  # not a key
    assert (11, "lyon", "postcodes[0]") in found
    assert (12, "lyon", "bbox") in found
    assert (13, "lyon", "sources") in found
    assert "territories.yaml:4: territory 'toulouse': departements: unknown key" in str(
        info.value)


@pytest.mark.parametrize("text", ["", "[]", "territories: []", "places: {}\n"])
def test_a_file_without_territories_is_refused(text: str) -> None:
    with pytest.raises(TerritoryConfigError):
        parse_territories(text, "t.yaml")
