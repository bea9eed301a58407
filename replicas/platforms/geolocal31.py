"""Géo'local31: the shop locator of Haute-Garonne, a GeoJSON API over a bounding box.

``GET /api/commerces?bbox=minLon,minLat,maxLon,maxLat`` answers a GeoJSON
FeatureCollection of the shops inside the box (edges inclusive, as an OGC API
``bbox`` filter), sorted by id, with at most ``cap`` features: when more shops
match, the answer holds the first ``cap`` and says so OGC-API style
(``numberMatched`` > ``numberReturned``), with no way to page further. A crawler
must cut the map into smaller boxes. Properties read like the SIRENE register:
names and addresses often in upper case, legal forms, compact phone numbers,
SIRET. Each shop has a public page at ``/commerce/<id>``. There are no products.

With the ``bad_records`` fault, some shops have a second register entry whose
geocoding failed (``geometry: null`` or a coordinate that is not a number); those
entries are never in the truth.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any, ClassVar

from flask import Flask, abort, request
from werkzeug.wrappers import Response

from replicas.faults import WSGIApp
from replicas.noise import (
    fold_accents,
    hours_osm,
    jitter,
    pick_phone_style,
    registry_name,
    registry_phone,
    render_name,
    render_phone,
    render_street,
)
from replicas.platforms.base import Platform, Record, present
from replicas.platforms.web import PageShell, definition_rows, json_response, text_response
from replicas.vocab import TRADES_BY_KEY
from replicas.world import Shop, World, rng_for

ID_PREFIX = "GL31-"
BAD_ID_OFFSET = 900_000  # ids of the broken duplicate entries (GL31-9xxxxx)

SERVICE_LABELS = {
    "click_collect": "Click & collect",
    "delivery": "Livraison à domicile",
    "local_delivery": "Livraison locale",
}
SHELL = PageShell("Géo'local31",
                  after="<footer>Géo'local31 — données issues du répertoire SIRENE</footer>",
                  newlines=False)


def shop_id(shop: Shop) -> str:
    """The platform id of a shop, 'GL31-000123' (stable across epochs)."""
    return f"{ID_PREFIX}{shop.index:06d}"


def _inside(lon: float, lat: float, box: tuple[float, float, float, float]) -> bool:
    """Whether a point lies in a box, every edge inclusive (OGC ``bbox`` semantics)."""
    return box[0] <= lon <= box[2] and box[1] <= lat <= box[3]


class Geolocal31(Platform):
    """Géo'local31: shops of Haute-Garonne as capped GeoJSON bounding-box answers."""

    key: ClassVar[str] = "geolocal31"
    title: ClassVar[str] = "Géo'local31"
    default_port: ClassVar[int] = 8705
    #: features per answer at most; tests lower it on an instance to force splitting
    cap: int = 100

    # ---------------------------------------------------------------- records
    def build_records(self, world: World) -> list[Record]:
        records = [self._record(world, shop) for shop in world.shops_on(self.key)]
        records.sort(key=lambda r: r.source_id)
        return records

    def _record(self, world: World, shop: Shop) -> Record:
        # One rng per (platform, shop), drawn in a fixed order: the same shop looks
        # the same at every epoch unless it changed.
        rng = rng_for(world.seed, self.key, shop.entity_id)
        nom = registry_name(shop, rng, render_name(shop, rng, legal_form_rate=0.5,
                                                    upper_rate=0.6, fold_rate=0.4))
        has_enseigne = rng.random() < 0.25
        enseigne = render_name(shop, rng, fold_rate=0.3, upper_rate=0.3)
        address = render_street(shop, rng, abbreviate_rate=0.3, upper_rate=0.5)
        phone_style = pick_phone_style(rng, {"compact": 0.7, "dotted": 0.3})
        has_phone = rng.random() < 0.93
        has_siret = rng.random() < 0.95
        lat, lon = jitter(shop.lat, shop.lon, rng, 25.0)
        has_hours = rng.random() < 0.55
        has_services = rng.random() < 0.8
        has_website = rng.random() < 0.9

        sid = shop_id(shop)
        activite = TRADES_BY_KEY[shop.trade].labels[self.key]
        services = [SERVICE_LABELS[s] for s in shop.services] if has_services else []
        props: dict[str, Any] = {
            "id": sid,
            "nom": nom,
            "adresse": address,
            "code_postal": shop.postcode,
            "commune": fold_accents(shop.commune).upper(),
            "telephone": (render_phone(registry_phone(shop, rng), phone_style) if has_phone
                          else None),
            "siret": shop.siret if has_siret else None,
            "activite": activite,
            "site_web": shop.website if has_website else None,
        }
        if has_enseigne:
            props["enseigne"] = enseigne
        if has_hours:
            props["horaires"] = hours_osm(shop.hours)
        if services:
            props["services"] = services

        fields: dict[str, Any] = {
            "url": f"/commerce/{sid}",
            "name": enseigne if has_enseigne else nom,
            "address": address,
            "postcode": shop.postcode,
            "city": props["commune"],
            "phone": props["telephone"],
            "website": props["site_web"],
            "siret": props["siret"],
            "lat": lat,
            "lon": lon,
            "categories": [activite],
            "services": services or None,
            "opening_hours": props.get("horaires"),
        }
        return Record("shop", sid, shop.entity_id, present(fields),
                      native={"properties": props, "lon": lon, "lat": lat,
                              "index": shop.index})

    # ---------------------------------------------------------------- indexes
    def on_records_changed(self) -> None:
        features: list[tuple[str, float, float, str]] = []
        for record in self.records:
            native = record.native
            feature = {"type": "Feature", "id": record.source_id,
                       "geometry": {"type": "Point", "coordinates": [native["lon"],
                                                                     native["lat"]]},
                       "properties": native["properties"]}
            features.append((record.source_id, native["lon"], native["lat"],
                             json.dumps(feature, ensure_ascii=False)))
            if self.injector.is_bad_record(record.source_id):
                features.append(self._bad_feature(record))
        features.sort(key=lambda f: f[0])
        # Plain tuples of columns: a request scans them without touching dicts.
        self._features = features
        self._by_id = {r.source_id: r for r in self.records}

    def _bad_feature(self, record: Record) -> tuple[str, float, float, str]:
        """A second register entry of the shop whose geocoding failed."""
        native = record.native
        bad_id = f"{ID_PREFIX}{BAD_ID_OFFSET + native['index']:06d}"
        props = dict(native["properties"], id=bad_id)
        geometry: dict[str, Any] | None
        if native["index"] % 2:
            geometry = None
        else:
            deg = int(abs(native["lat"]))
            minutes = int((abs(native["lat"]) - deg) * 60)
            geometry = {"type": "Point", "coordinates": [native["lon"], f"{deg}°{minutes}'N"]}
        feature = {"type": "Feature", "id": bad_id, "geometry": geometry, "properties": props}
        # served where the shop is, as the register's own (hidden) point says
        return bad_id, native["lon"], native["lat"], json.dumps(feature, ensure_ascii=False)

    # ---------------------------------------------------------------- web
    def classify(self, path: str) -> tuple[str, bool] | None:
        if path.rstrip("/") == "/api/commerces":
            return "json", False
        if path.startswith("/commerce/"):
            return "html", False
        return None

    def answer(self, box: tuple[float, float, float, float] | None) -> str:
        """The FeatureCollection text for a bbox (None: the whole register)."""
        features = self._features  # one epoch for the whole answer
        matched = [f[3] for f in features if box is None or _inside(f[1], f[2], box)]
        returned = matched[: self.cap]
        stamp = self.world.epoch_time().strftime("%Y-%m-%dT%H:%M:%SZ")
        head = json.dumps({"type": "FeatureCollection", "numberMatched": len(matched),
                           "numberReturned": len(returned), "timeStamp": stamp})
        return head[:-1] + ', "features": [' + ", ".join(returned) + "]}"

    def create_app(self) -> WSGIApp:
        app = Flask(f"replica_{self.key}")

        @app.get("/robots.txt")
        def robots() -> Response:
            return text_response("User-agent: *\nAllow: /\n")

        @app.get("/")
        def home() -> Response:
            body = (f"<h1>{html.escape(self.title)}</h1><p>Le localisateur des commerces de "
                    f"Haute-Garonne : {len(self.records)} commerces. API : "
                    "<code>/api/commerces?bbox=minLon,minLat,maxLon,maxLat</code></p>")
            return SHELL.response(self.title, body)

        @app.get("/api/commerces")
        @app.get("/api/commerces/")
        def commerces() -> Response:
            raw = request.args.get("bbox")
            box = None
            if raw is not None:
                box = parse_bbox(raw)
                if box is None:
                    return json_response({"code": "InvalidParameterValue",
                                          "description": "bbox: minLon,minLat,maxLon,maxLat "
                                                         "attendus"}, 400, compact=False)
            return Response(self.answer(box), mimetype="application/geo+json")

        @app.get("/commerce/<sid>")
        def commerce(sid: str) -> Response:
            record = self._by_id.get(sid)
            if record is None:
                abort(404)
            return SHELL.response(record.fields["name"], _shop_html(record))

        return app.wsgi_app


def parse_bbox(raw: str) -> tuple[float, float, float, float] | None:
    """'minLon,minLat,maxLon,maxLat' as floats, or None when it is not one."""
    parts = raw.split(",")
    if len(parts) != 4:
        return None
    try:
        box = tuple(float(p) for p in parts)
    except ValueError:
        return None
    if not all(math.isfinite(v) for v in box) or box[0] > box[2] or box[1] > box[3]:
        return None
    return box  # type: ignore[return-value]


def _shop_html(record: Record) -> str:
    f, props = record.fields, record.native["properties"]
    rows = [("Activité", props["activite"]), ("Adresse", f["address"]),
            ("Commune", f"{f['postcode']} {f['city']}"), ("Téléphone", f.get("phone")),
            ("SIRET", f.get("siret")), ("Horaires", f.get("opening_hours")),
            ("Services", ", ".join(f.get("services", [])) or None)]
    items = definition_rows(rows)
    web = f.get("website")
    link = (f"<p><a rel=\"nofollow\" href=\"{html.escape(web)}\">{html.escape(web)}</a></p>"
            if web else "")
    return (f"<article class=\"commerce\" data-id=\"{html.escape(record.source_id)}\" "
            f"data-lat=\"{f['lat']}\" data-lon=\"{f['lon']}\"><h1>{html.escape(f['name'])}</h1>"
            f"<dl>{items}</dl>{link}</article>")
