"""The territories against the sources file: unknown sources refused, what a crawl takes."""

from __future__ import annotations

import pytest

from agora import settings
from agora.territories import check_sources, sources_to_crawl
from crawlers.config import load_sources, parse_sources
from normalizer.territories import TerritoryConfigError, load_territories, parse_territories

SOURCES = parse_sources("""\
sources:
  city_a: {name: A, connector: geolocal31, base_url: "http://a"}
  city_b: {name: B, connector: geolocal31, base_url: "http://b"}
  national: {name: N, connector: geolocal31, base_url: "http://n"}
  unbound: {name: U, connector: geolocal31, base_url: "http://u"}
  resting: {name: R, connector: geolocal31, base_url: "http://r", enabled: false}
""", "sources.yaml")
TERRITORIES = parse_territories("""\
territories:
  a:
    name: A
    postcodes: ["31000"]
    sources: [city_a, national, resting]
  b:
    name: B
    postcodes: ["54000"]
    sources: [city_b, national]
""", "territories.yaml")


def test_a_territory_naming_an_unknown_source_is_refused_with_its_line() -> None:
    wrong = parse_territories("territories:\n  a:\n    name: A\n    postcodes: ['31000']\n"
                              "    sources: [city_a, citi_b]\n", "territories.yaml")
    with pytest.raises(TerritoryConfigError,
                       match=r"territories.yaml:5: territory 'a': sources: unknown source "
                             r"'citi_b'"):
        check_sources(wrong, SOURCES)
    check_sources(TERRITORIES, SOURCES)


@pytest.mark.parametrize(("served", "crawled"), [
    (("a", "b"), ["city_a", "city_b", "national", "unbound"]),
    (("b",), ["city_b", "national", "unbound"]),
    (("a",), ["city_a", "national", "unbound"]),  # a disabled source stays off
])
def test_an_instance_crawls_the_sources_of_its_territories(served: tuple[str, ...],
                                                           crawled: list[str]) -> None:
    chosen = sources_to_crawl(SOURCES, TERRITORIES, TERRITORIES.select(served))
    assert [c.key for c in chosen] == crawled


def test_the_shipped_files_agree() -> None:
    check_sources(load_territories("config/territories.yaml"),
                  load_sources("config/sources.yaml"))


def test_agora_territories_chooses_what_an_instance_serves(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGORA_TERRITORIES", raising=False)
    assert settings.territories().keys == ("toulouse", "grand_nancy")
    monkeypatch.setenv("AGORA_TERRITORIES", " grand_nancy ,")
    assert settings.territories().keys == ("grand_nancy",)
    assert settings.territories().area().contains(48.69, 6.18)
    assert not settings.territories().area().contains(43.6, 1.44)
    monkeypatch.setenv("AGORA_TERRITORIES", "grand_nancy,lyon")
    with pytest.raises(settings.SettingError, match="AGORA_TERRITORIES: unknown territory 'lyon'"):
        settings.territories()
