"""Places and plans without any outside service: a place finder built from the catalog's
shops, and a small SVG plan of where a shop is.

``Gazetteer.from_catalog`` learns every commune, postcode and street the build's
shops are on, each at the median of their coordinates; ``Gazetteer.find`` turns
what a shopper types ("Labège", "31520", "12 rue Riquet, Toulouse", even
"tolouse") into a ``Place``. ``plan`` projects a shop and its neighbours around
it (a local equirectangular projection: metres east and north of the shop, true
at that latitude) into a viewBox with a scale bar and a north arrow, for the
template to draw as inline SVG: no tile server is reached.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from catalog.store import Catalog
from normalizer.text import words
from search_ui.params import Place

EARTH_RADIUS_KM = 6371.0088
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0
_NUMBER = re.compile(r"^\d+\s*(bis|ter|quater|[a-d])?\b", re.IGNORECASE)


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _key(text: str) -> str:
    return " ".join(words(text))


@dataclass
class _Spot:
    label: str
    lats: list[float] = field(default_factory=list)
    lons: list[float] = field(default_factory=list)
    labels: Counter[str] = field(default_factory=Counter)

    def add(self, lat: float, lon: float, label: str) -> None:
        self.lats.append(lat)
        self.lons.append(lon)
        self.labels[label] += 1

    def place(self, precision: str, label: str | None = None) -> Place:
        shown = label or self.labels.most_common(1)[0][0]
        return Place(round(statistics.median(self.lats), 6), round(statistics.median(self.lons), 6),
                     shown, precision)


class Gazetteer:
    """Communes, postcodes and streets of the build, each at the median of its shops."""

    def __init__(self) -> None:
        self.communes: dict[str, _Spot] = {}
        self.postcodes: dict[str, _Spot] = {}
        self.streets: dict[str, dict[str, _Spot]] = defaultdict(dict)  # commune -> street

    @classmethod
    def from_shops(cls, shops: Iterable[Sequence[Any]]) -> Gazetteer:
        """From (city, postcode, address, lat, lon) rows."""
        gaz = cls()
        for city, postcode, address, lat, lon in shops:
            if lat is None or lon is None:
                continue
            lat, lon = float(lat), float(lon)
            city_key = _key(city) if city else ""
            if city_key:
                gaz.communes.setdefault(city_key, _Spot(city)).add(lat, lon, city)
            if postcode:
                gaz.postcodes.setdefault(str(postcode), _Spot(str(postcode))).add(
                    lat, lon, f"{postcode} {city or ''}".strip())
            if address:
                street = _NUMBER.sub("", str(address)).strip(" ,")
                street_key = _key(street)
                if street_key and len(street_key) > 3:
                    label = f"{street}, {city}" if city else street
                    gaz.streets[city_key].setdefault(street_key, _Spot(label)).add(lat, lon,
                                                                                    label)
        return gaz

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Gazetteer:
        """From the catalog's shop entities."""
        return cls.from_shops(catalog.entities.shop_places())

    def commune_names(self) -> list[str]:
        """Communes by number of shops (most first)."""
        ranked = sorted(self.communes.values(), key=lambda s: (-len(s.lats), s.label))
        return [s.labels.most_common(1)[0][0] for s in ranked]

    def find(self, text: str) -> Place | None:
        """The place a shopper typed: a street (in the commune named), else a postcode, else
        a commune (spelt loosely: "tolouse" is Toulouse)."""
        key = _key(text)
        if not key:
            return None
        padded = f" {key} "
        postcode = next(iter(re.findall(r"\b\d{5}\b", text)), None)
        commune_key = None
        for ck in sorted(self.communes, key=len, reverse=True):
            if f" {ck} " in padded:
                commune_key = ck
                break
        if commune_key is None and postcode in self.postcodes:
            commune_key = self._commune_of_postcode(postcode)
        rest = padded
        if commune_key:
            rest = padded.replace(f" {commune_key} ", " ", 1)
        rest = re.sub(r"\b\d+\b", " ", rest)
        rest_key = " ".join(rest.split())
        if rest_key and len(rest_key) > 3:
            street = self._street(rest_key, commune_key)
            if street is not None:
                return street
        if postcode in self.postcodes:  # a postcode is more precise than a commune
            return self.postcodes[postcode].place("postcode")
        if commune_key:
            return self.communes[commune_key].place("commune")
        return self._fuzzy_commune(key)

    def _commune_of_postcode(self, postcode: str) -> str | None:
        label = self.postcodes[postcode].labels.most_common(1)[0][0]
        ck = _key(label.partition(" ")[2])
        return ck if ck in self.communes else None

    def _street(self, key: str, commune_key: str | None) -> Place | None:
        pools = [self.streets.get(commune_key or "", {})] if commune_key else list(
            self.streets.values())
        best: tuple[float, _Spot] | None = None
        for pool in pools:
            for street_key, spot in pool.items():
                if street_key == key or f" {street_key} " in f" {key} " or (
                        len(key) >= 6 and f" {key} " in f" {street_key} "):
                    score = 100.0 + len(spot.lats)
                else:
                    score = _similarity(key, street_key)
                    if score < 88:
                        continue
                if best is None or score > best[0]:
                    best = (score, spot)
        return best[1].place("street") if best else None

    def _fuzzy_commune(self, key: str) -> Place | None:
        best = max(((_similarity(key, ck), ck) for ck in self.communes), default=None)
        if best and best[0] >= 85:
            return self.communes[best[1]].place("commune")
        return None


def _similarity(a: str, b: str) -> float:
    return float(fuzz.ratio(a, b))


# --------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class PlanPoint:
    x: float
    y: float
    label: str
    href: str | None
    distance_m: float
    main: bool = False


@dataclass(frozen=True)
class Plan:
    width: int
    height: int
    points: list[PlanPoint]
    scale_m: int  # the scale bar's length in metres
    scale_px: float
    grid_px: float  # grid spacing (one scale unit)
    extent_m: float  # metres from the centre to the edge of the drawing (horizontally)
    centre: tuple[float, float]


NICE_STEPS = (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000)


def project(centre: tuple[float, float], point: tuple[float, float]) -> tuple[float, float]:
    """Metres east and north of ``centre`` (local equirectangular projection)."""
    lat0, lon0 = centre
    east = (point[1] - lon0) * M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))
    north = (point[0] - lat0) * M_PER_DEG_LAT
    return east, north


def plan(centre: tuple[float, float], label: str,
         neighbours: Sequence[tuple[float, float, str, str | None]], *,
         width: int = 600, height: int = 360, min_extent_m: float = 250.0) -> Plan:
    """The drawing of a shop (at the centre) and its neighbours (lat, lon, label, href).

    Returns:
        a ``Plan`` whose points are in viewBox pixels (y down), the main shop first.

    Example:
        >>> p = plan((43.6, 1.44), "A", [(43.601, 1.44, "B", None)])
        >>> p.points[0].x == p.width / 2, p.points[1].y < p.points[0].y
        (True, True)
    """
    margin = 28.0
    offsets = [(project(centre, (lat, lon)), name, href) for lat, lon, name, href in neighbours]
    reach_x = max([abs(e) for (e, _), *_ in offsets] + [min_extent_m])
    reach_y = max([abs(n) for (_, n), *_ in offsets] + [min_extent_m * height / width])
    px_per_m = min((width / 2 - margin) / reach_x, (height / 2 - margin) / reach_y)
    extent_m = (width / 2) / px_per_m
    cx, cy = width / 2, height / 2
    points = [PlanPoint(cx, cy, label, None, 0.0, main=True)]
    for (east, north), name, href in offsets:
        points.append(PlanPoint(round(cx + east * px_per_m, 1), round(cy - north * px_per_m, 1),
                                name, href, math.hypot(east, north)))
    target = extent_m / 2.5
    scale_m = max((s for s in NICE_STEPS if s <= target), default=NICE_STEPS[0])
    return Plan(width, height, points, scale_m, round(scale_m * px_per_m, 1),
                round(scale_m * px_per_m, 1), extent_m, centre)
