"""The place finder and the SVG plan's projection."""

from __future__ import annotations

import pytest

from search_ui.geo import Gazetteer, haversine_km, plan, project

SHOPS = [
    ("Toulouse", "31000", "12 rue du Taur", 43.6047, 1.4421),
    ("Toulouse", "31000", "3 rue du Taur", 43.6043, 1.4423),
    ("Toulouse", "31400", "8 avenue de Rangueil", 43.5800, 1.4560),
    ("Labège", "31670", "97 rue Pierre-Paul-Riquet", 43.5289, 1.5350),
    ("Labège", "31670", "1 rue de la Croix", 43.5300, 1.5330),
    ("Ramonville-Saint-Agne", "31520", "5 avenue Tolosane", 43.5460, 1.4780),
]


@pytest.fixture
def gaz() -> Gazetteer:
    return Gazetteer.from_shops(SHOPS)


@pytest.mark.parametrize(("text", "precision", "label"), [
    ("Labège", "commune", "Labège"),
    ("labege", "commune", "Labège"),
    ("LABÈGE ", "commune", "Labège"),
    ("Ramonville Saint-Agne", "commune", "Ramonville-Saint-Agne"),
    ("31520", "postcode", "31520 Ramonville-Saint-Agne"),
    ("Labège 31670", "postcode", "31670 Labège"),
    ("31400", "postcode", "31400 Toulouse"),
    ("12 rue du Taur, Toulouse", "street", "rue du Taur, Toulouse"),
    ("rue du taur", "street", "rue du Taur, Toulouse"),
    ("Tolouse", "commune", "Toulouse"),
])
def test_find(gaz: Gazetteer, text: str, precision: str, label: str) -> None:
    place = gaz.find(text)
    assert place is not None and (place.precision, place.label) == (precision, label)


def test_unknown_places(gaz: Gazetteer) -> None:
    assert gaz.find("Paris") is None and gaz.find("") is None and gaz.find("!!!") is None


def test_communes_by_size(gaz: Gazetteer) -> None:
    assert gaz.commune_names()[0] == "Toulouse"
    assert set(gaz.commune_names()) == {"Toulouse", "Labège", "Ramonville-Saint-Agne"}


def test_projection_is_metres_east_and_north() -> None:
    east, north = project((43.6, 1.44), (43.601, 1.441))
    assert north == pytest.approx(110.6, abs=0.5)
    assert east == pytest.approx(80.6, abs=0.5)  # shrinks with cos(latitude)
    assert haversine_km((43.6, 1.44), (43.601, 1.441)) == pytest.approx(0.1369, abs=0.002)


def test_plan_keeps_everything_inside_with_a_true_scale() -> None:
    centre = (43.6, 1.44)
    neighbours = [(43.603, 1.44, "north", "/n"), (43.6, 1.446, "east", "/e"),
                  (43.598, 1.437, "south-west", None)]
    p = plan(centre, "Shop", neighbours, width=600, height=360)
    main, north, east, sw = p.points
    assert main.main and (main.x, main.y) == (300, 180)
    assert north.y < main.y and north.x == pytest.approx(300)
    assert east.x > main.x and east.y == pytest.approx(180)
    assert sw.x < main.x and sw.y > main.y
    for point in p.points:
        assert 0 < point.x < 600 and 0 < point.y < 360
    # the scale bar's pixels match the projection: metres east of east.x / px
    px_per_m = (east.x - main.x) / project(centre, (43.6, 1.446))[0]
    assert p.scale_px == pytest.approx(p.scale_m * px_per_m, rel=0.01)
    assert p.scale_m in (50, 100, 200, 250, 500)


def test_plan_alone_has_a_minimum_extent() -> None:
    p = plan((43.6, 1.44), "Alone", [])
    assert len(p.points) == 1 and p.extent_m >= 250
