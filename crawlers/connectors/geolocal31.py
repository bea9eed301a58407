"""Géo'local31 connector: cover Haute-Garonne with bounding boxes under the answer cap.

The platform answers ``GET /api/commerces?bbox=minLon,minLat,maxLon,maxLat`` with
a GeoJSON FeatureCollection holding at most a capped number of features (100 on
the replica) and no paging: when more shops match, ``numberMatched`` >
``numberReturned`` and the rest is out of reach. The connector is the generic
``GeoJsonConnector`` (``crawlers.declarative.geojson``: the quadtree walk, tile
ownership on shared edges, the guard against endless splitting, the checkpoint)
started from Haute-Garonne (``options.bbox``), with the register's fields
mapped to the contract by ``feature_listing``.

Options (all optional): ``bbox`` ([minLon, minLat, maxLon, maxLat] or
"a,b,c,d"), ``min_tile`` (degrees, default 0.0001), ``cap`` (assume an answer
of that many features is capped when the server omits ``numberMatched``),
``endpoint`` (default ``/api/commerces``), ``page_url`` (default
``/commerce/{id}``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from crawlers.declarative.geojson import GeoJsonConnector
from crawlers.errors import InvalidRecord, SourceConfigError
from crawlers.http import Fetcher
from crawlers.source import SourceConfig
from crawlers.tiling import DEFAULT_MIN_TILE, feature_id, feature_point, parse_box

# Haute-Garonne (lon/lat); a live site or another territory sets `options: {bbox: ...}`.
HAUTE_GARONNE_BBOX = (0.44, 42.69, 2.05, 43.92)


# ---------------------------------------------------------------------- parsing
def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return value if isinstance(value, str) else None


def _text_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return None
    items = [v for v in (_text(x) for x in value) if v and v.strip()]
    return items or None


def feature_listing(feature: Any, page_url: str) -> dict[str, Any]:
    """A shop listing in the contract from one Géo'local31 feature.

    ``page_url`` is the absolute template of the public page, with ``{id}``. The
    shop's sign (``enseigne``) is its name when the register has one, else the
    registered name (``nom``). Raises InvalidRecord for a feature without id or
    without a usable point.

    Example:
        >>> f = {"type": "Feature", "id": "GL31-000001", "geometry": {"type": "Point",
        ...      "coordinates": [1.44, 43.6]}, "properties": {"nom": "CAVE & CO",
        ...      "activite": "Caviste"}}
        >>> feature_listing(f, "https://x/commerce/{id}")["lat"]
        43.6
    """
    sid = feature_id(feature)
    if sid is None:
        raise InvalidRecord("feature without id")
    lon, lat = feature_point(feature, sid)
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise InvalidRecord("feature without properties", source_id=sid)
    activite = _text(props.get("activite"))
    listing: dict[str, Any] = {
        "kind": "shop",
        "source_id": sid,
        "url": page_url.replace("{id}", quote(sid, safe="")),
        "name": _text(props.get("enseigne")) or _text(props.get("nom")),
        "address": _text(props.get("adresse")),
        "postcode": _text(props.get("code_postal")),
        "city": _text(props.get("commune")),
        "phone": _text(props.get("telephone")),
        "website": _text(props.get("site_web")),
        "siret": _text(props.get("siret")),
        "lat": lat,
        "lon": lon,
        "categories": [activite] if activite else None,
        "services": _text_list(props.get("services")),
        "opening_hours": _text(props.get("horaires")),
    }
    return {k: v for k, v in listing.items() if v is not None}


# ---------------------------------------------------------------------- the connector
class Geolocal31Connector(GeoJsonConnector):
    """Géo'local31: the generic tiled GeoJSON walk, with the register's fields."""

    def __init__(self, config: SourceConfig, client: httpx.Client, *,
                 fetcher: Fetcher | None = None) -> None:
        super().__init__(config, client, fetcher=fetcher)
        try:
            self.root = parse_box(config.option("bbox", list(HAUTE_GARONNE_BBOX)))
            self.min_tile = float(config.option("min_tile", DEFAULT_MIN_TILE))
            cap = config.option("cap")
            self.cap = int(cap) if cap is not None else None
        except (TypeError, ValueError) as exc:
            raise SourceConfigError(f"options: {exc}", source=config.key) from exc
        if self.min_tile <= 0:
            raise SourceConfigError("options: min_tile must be positive", source=config.key)
        self.endpoint = str(config.option("endpoint", "/api/commerces"))
        self.page_url = self.absolute(str(config.option("page_url", "/commerce/{id}")))

    def feature_listing(self, feature: Any, url: str) -> dict[str, Any]:
        return feature_listing(feature, self.page_url)
