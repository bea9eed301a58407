import pytest

from normalizer.geo import OCCITANIE, Territory, check_coordinates, geohash

TOULOUSE = (43.6045, 1.4440)


def test_inside() -> None:
    assert check_coordinates(*TOULOUSE) == (43.6045, 1.444, None)


def test_swapped_is_swapped_back_and_flagged() -> None:
    assert check_coordinates(1.444, 43.6045) == (43.6045, 1.444, "swapped_coordinates")


@pytest.mark.parametrize("lat, lon, code", [
    (0, 0, "zero_coordinates"),
    (0.0, 0.0, "zero_coordinates"),
    (48.8566, 2.3522, "outside_territory"),      # Paris
    (43.6045, 91.0, "outside_territory"),
    (95.0, 1.444, "invalid_coordinates"),
    (43.6, None, "missing_coordinate"),
    (None, 1.4, "missing_coordinate"),
    (float("nan"), 1.4, "invalid_coordinates"),
    ("abc", 1.4, "invalid_coordinates"),
])
def test_rejected(lat: object, lon: object, code: str) -> None:
    assert check_coordinates(lat, lon) == (None, None, code)  # type: ignore[arg-type]


def test_missing_is_not_a_problem() -> None:
    assert check_coordinates(None, None) == (None, None, None)


def test_territory_is_configurable() -> None:
    ile_de_france = Territory(bbox=(1.44, 48.12, 3.56, 49.24), name="Île-de-France")
    assert check_coordinates(48.8566, 2.3522, ile_de_france) == (48.8566, 2.3522, None)
    assert check_coordinates(*TOULOUSE, ile_de_france)[2] == "outside_territory"
    assert OCCITANIE.bbox == (-0.33, 42.33, 4.85, 45.05)


@pytest.mark.parametrize("lat, lon, precision, expected", [
    (57.64911, 10.40744, 11, "u4pruydqqvj"),    # the reference example
    (43.6045, 1.444, 7, "spc00cg"),
    (43.6045, 1.444, 5, "spc00"),
    (-33.8688, 151.2093, 6, "r3gx2f"),
])
def test_geohash(lat: float, lon: float, precision: int, expected: str) -> None:
    assert geohash(lat, lon, precision) == expected
