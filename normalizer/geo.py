"""Coordinates: validation against the territory, swapped-axis detection, geohash.

A point is kept only when it lies inside the territory's bounding box. (0, 0)
is a geocoder's "no idea"; a point outside the box that falls inside once
latitude and longitude are swapped is swapped back and flagged; anything else
outside is dropped and flagged.

Example:
    >>> check_coordinates(1.444, 43.6045, OCCITANIE)
    (43.6045, 1.444, 'swapped_coordinates')
    >>> geohash(43.6045, 1.444, 7)
    'spc00cg'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"


@dataclass(frozen=True)
class Territory:
    """Where the listings are: a (min_lon, min_lat, max_lon, max_lat) box, region, currency.

    ``boxes``: several areas far apart (one per territory an instance serves); a point
    is then inside when one of them holds it, ``bbox`` being their union.
    """

    bbox: tuple[float, float, float, float] = (-0.33, 42.33, 4.85, 45.05)
    region: str = "FR"
    currency: str = "EUR"
    name: str = "Occitanie"
    boxes: tuple[tuple[float, float, float, float], ...] = ()

    def contains(self, lat: float, lon: float) -> bool:
        return any(min_lat <= lat <= max_lat and min_lon <= lon <= max_lon
                   for min_lon, min_lat, max_lon, max_lat in self.boxes or (self.bbox,))


OCCITANIE = Territory()


def check_coordinates(lat: float | None, lon: float | None,
                      territory: Territory = OCCITANIE) -> tuple[float | None, float | None,
                                                                  str | None]:
    """(lat, lon, problem code) with the point validated against the territory.

    Problem codes: "missing_coordinate" (one of the two only), "invalid_coordinates"
    (not numbers or off the globe), "zero_coordinates" (0, 0), "swapped_coordinates"
    (kept, swapped back), "outside_territory" (dropped).
    """
    if lat is None and lon is None:
        return None, None, None
    if lat is None or lon is None:
        return None, None, "missing_coordinate"
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return None, None, "invalid_coordinates"
    if not (math.isfinite(la) and math.isfinite(lo)):
        return None, None, "invalid_coordinates"
    if la == 0 and lo == 0:
        return None, None, "zero_coordinates"
    if abs(la) > 90 or abs(lo) > 180:
        if abs(lo) <= 90 and territory.contains(lo, la):
            return lo, la, "swapped_coordinates"
        return None, None, "invalid_coordinates"
    if territory.contains(la, lo):
        return la, lo, None
    if territory.contains(lo, la):
        return lo, la, "swapped_coordinates"
    return None, None, "outside_territory"


def geohash(lat: float, lon: float, precision: int = 7) -> str:
    """The base-32 geohash of a point (precision 7 is a cell of about 150 x 150 m)."""
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    out: list[str] = []
    bits = ch = 0
    even = True
    while len(out) < precision:
        if even:
            mid = (lon_lo + lon_hi) / 2
            if lon >= mid:
                ch = (ch << 1) | 1
                lon_lo = mid
            else:
                ch <<= 1
                lon_hi = mid
        else:
            mid = (lat_lo + lat_hi) / 2
            if lat >= mid:
                ch = (ch << 1) | 1
                lat_lo = mid
            else:
                ch <<= 1
                lat_hi = mid
        even = not even
        bits += 1
        if bits == 5:
            out.append(_BASE32[ch])
            bits = ch = 0
    return "".join(out)
