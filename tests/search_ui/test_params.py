"""Request parameters to a SearchQuery: both vocabularies, bounds, and the 400 reasons."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from catalog.backends.base import MAX_PAGE, MAX_PER_PAGE, MAX_QUERY_LENGTH
from catalog.backends.query import CLI
from search_ui.params import API, HTML, BadParameter, Place, parse_search, query_args


def parse(vocab, geocode=None, **args):  # type: ignore[no-untyped-def]
    items = [(k, v) for k, vs in args.items() for v in (vs if isinstance(vs, list) else [vs])]
    return parse_search(MultiDict(items), vocab, geocode=geocode)


def test_html_vocabulary_maps_to_the_query() -> None:
    p = parse(HTML, q="  pain  ", type=["boutique"], plateforme=["clickandco", "geolocal31"],
              categorie="boulangerie", service="click_collect", prix_min="2,50", prix_max="10",
              tri="prix", page="3", par_page="10")
    q = p.query
    assert q.text == "pain" and q.kinds == ("shop",) and q.sort == "price_asc"
    assert dict(q.filters) == {"platform": ("clickandco", "geolocal31"),
                               "category": ("boulangerie",), "service": ("click_collect",)}
    assert (q.price_min, q.price_max, q.page, q.per_page) == (250, 1000, 3, 10)
    assert p.explicit


def test_empty_form_fields_are_absent() -> None:
    p = parse(HTML, q="", prix_min="", prix_max="", lat="", lon="", lieu="")
    assert not p.explicit and p.query.price_min is None and p.place is None


def test_position_defaults_to_distance_order_and_round_trips() -> None:
    p = parse(HTML, q="vélo", lat="43.6", lon="1.44", rayon="5")
    assert p.query.sort == "distance" and p.query.near == (43.6, 1.44)
    assert p.query.radius_km == 5
    args = dict(query_args(p, HTML, page=2))
    assert args == {"q": "vélo", "lat": "43.60000", "lon": "1.44000", "rayon": "5", "page": "2"}


def test_a_typed_place_is_geocoded() -> None:
    place = Place(43.5, 1.5, "Labège", "commune")
    p = parse(HTML, geocode=lambda text: place if text == "Labège" else None, lieu="Labège")
    assert p.place == place and p.query.near == (43.5, 1.5) and p.query.sort == "distance"
    assert ("lieu", "Labège") in query_args(p, HTML)


def test_html_is_lenient_where_the_api_is_strict() -> None:
    p = parse(HTML, lieu="Nulle-Part", tri="distance", rayon="3", inconnu="x")
    assert p.place is None and p.query.sort == "relevance" and p.query.radius_km is None
    assert len(p.notices) == 2
    with pytest.raises(BadParameter) as err:
        parse(API, place="Nulle-Part")
    assert err.value.parameter == "place"


@pytest.mark.parametrize(("args", "parameter", "words"), [
    ({"q": "x" * (MAX_QUERY_LENGTH + 1)}, "q", "at most 200"),
    ({"per_page": str(MAX_PER_PAGE + 1)}, "per_page", "between 1 and 100"),
    ({"per_page": "0"}, "per_page", "between 1 and 100"),
    ({"page": str(MAX_PAGE + 1)}, "page", "between 1 and 500"),
    ({"page": "deux"}, "page", "integer"),
    ({"lat": "43.6"}, "lon", "together"),
    ({"lat": "91", "lon": "1"}, "lat", "between -90 and 90"),
    ({"lat": "nan", "lon": "1"}, "lat", "number"),
    ({"sort": "distance"}, "sort", "position"),
    ({"sort": "cheapest"}, "sort", "one of"),
    ({"radius_km": "5"}, "radius_km", "position"),
    ({"kind": "store"}, "kind", "one of"),
    ({"price_min": "20", "price_max": "10"}, "price_min", "above price_max"),
    ({"price_min": "-1"}, "price_min", "between"),
    ({"price_max": "dix"}, "price_max", "number"),
    ({"platform": ["p"] * 0 + [f"p{i}" for i in range(21)]}, "platform", "at most 20"),
    ({"category": "c" * 101}, "category", "at most 100"),
    ({"q": ["a", "b"]}, "q", "once"),
    ({"colour": "red"}, "colour", "not a parameter"),
])
def test_api_bad_parameters_say_which_and_why(args: dict, parameter: str, words: str) -> None:
    with pytest.raises(BadParameter) as err:
        parse(API, **args)
    assert err.value.parameter == parameter
    assert words in str(err.value)
    assert err.value.french()


def test_control_characters_are_dropped() -> None:
    assert parse(API, q="pa\x00in\x1b").query.text == "pain"


@pytest.mark.parametrize("vocab", [HTML, API, CLI], ids=["pages", "api", "cli"])
def test_one_parser_one_set_of_bounds(vocab) -> None:  # type: ignore[no-untyped-def]
    """The pages, the API and the CLI refuse the same values (the old CLI took 1,000 km and
    30 filter values where the API stopped at 200 and 20)."""
    n = vocab.names
    ok = parse(vocab, **{n["lat"]: "43.6", n["lon"]: "1.44", n["radius"]: "200"})
    assert ok.query.radius_km == 200
    with pytest.raises(BadParameter) as err:
        parse(vocab, **{n["lat"]: "43.6", n["lon"]: "1.44", n["radius"]: "1000"})
    assert err.value.parameter == n["radius"] and err.value.code == "out_of_range"
    many = [f"p{i}" for i in range(21)]
    with pytest.raises(BadParameter) as err:
        parse(vocab, **{n["platform"]: many})
    assert err.value.code == "too_many"
    assert len(parse(vocab, **{n["platform"]: many[:20]}).query.filters[0][1]) == 20


def test_text_is_bounded_before_it_is_cleaned() -> None:
    with pytest.raises(BadParameter) as err:
        parse(API, q=" " * (MAX_QUERY_LENGTH + 1))
    assert err.value.parameter == "q"
    assert parse(API, q="\x00pain\x01").query.text == "pain"


def test_as_typed_round_trips() -> None:
    p = parse(HTML, q="fromgerie", tel_quel="1")
    assert p.query.as_typed
    assert ("tel_quel", "1") in query_args(p, HTML)
    assert ("tel_quel", "1") not in query_args(p, HTML, as_typed=False)
    with pytest.raises(BadParameter):
        parse(API, q="x", as_typed="2")
