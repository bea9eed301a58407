"""A national world for the benchmarks: the replicas' Toulouse world moved to a dozen cities.

The replica generator (``replicas.world``) draws Toulouse-area shops. For a national
benchmark each territory below gets a world of its own (its own seed, so its own
shops, names, phones, SIRETs), drawn by that generator and served by the same
platform classes, then *moved*: each commune of the Toulouse world is replaced by
one of the territory's real communes (its postcode, its centre, a shop keeping its
offset from the old commune's centre), fixed phone numbers take the territory's
region digit, and the sources are renamed the way the real platforms are spread:

- per territory, a city marketplace (``tout_<key>``), a city directory
  (``<key>_boutiques``), a city GraphQL shop (``panier_<key>``) and a departmental
  one (``geolocal<department>``);
- national providers serving every territory from one source (``dansmazone``,
  ``clickandco``, ``mavillemonshopping``, ``achetezlocal``): their ids get the
  territory's key, so the one source holds every city's shops.

Toulouse itself keeps the world and source names as they are. Street names, trades,
products (one GTIN sold in many cities) and the platforms' noise are the generator's.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from replicas.geo import COMMUNES, COMMUNES_BY_NAME, Commune
from replicas.truth import expected_listings
from replicas.world import stable_hash

NATIONAL_SOURCES = ("dansmazone", "clickandco", "mavillemonshopping", "achetezlocal")
LISTINGS_PER_SHOP = 10.3  # the replicas' world at 8 offers per shop (measured on seed 42)


@dataclass(frozen=True)
class Place:
    """A real commune of a territory: name, postcodes and approximate centre."""

    name: str
    postcodes: tuple[str, ...]
    lat: float
    lon: float


@dataclass(frozen=True)
class Territory:
    """A city and its surroundings: key, department, telephone region digit, communes."""

    key: str
    name: str
    department: str
    phone_digit: str  # the second digit of its fixed lines (01 Paris ... 05 South-West)
    places: tuple[Place, ...]  # the first is the main city


def _p(name: str, postcodes: str, lat: float, lon: float) -> Place:
    return Place(name, tuple(postcodes.split()), lat, lon)


TERRITORIES: tuple[Territory, ...] = (
    Territory("toulouse", "Toulouse", "31", "5", ()),
    Territory("nancy", "Grand Nancy", "54", "3", (
        _p("Nancy", "54000 54100", 48.6921, 6.1844),
        _p("Vandœuvre-lès-Nancy", "54500", 48.6567, 6.1683),
        _p("Laxou", "54520", 48.6856, 6.1490), _p("Villers-lès-Nancy", "54600", 48.6728, 6.1528),
        _p("Maxéville", "54320", 48.7120, 6.1640), _p("Malzéville", "54220", 48.7116, 6.1848),
        _p("Saint-Max", "54130", 48.7014, 6.2064),
        _p("Essey-lès-Nancy", "54270", 48.7068, 6.2228),
        _p("Jarville-la-Malgrange", "54140", 48.6697, 6.2031),
        _p("Tomblaine", "54510", 48.6836, 6.2167))),
    Territory("nice", "Nice Côte d'Azur", "06", "4", (
        _p("Nice", "06000 06100 06200 06300", 43.7102, 7.2620),
        _p("Saint-Laurent-du-Var", "06700", 43.6732, 7.1900),
        _p("Cagnes-sur-Mer", "06800", 43.6637, 7.1489),
        _p("Villefranche-sur-Mer", "06230", 43.7040, 7.3116),
        _p("Antibes", "06600", 43.5808, 7.1251), _p("Vence", "06140", 43.7225, 7.1119))),
    Territory("tours", "Tours Métropole", "37", "2", (
        _p("Tours", "37000 37100 37200", 47.3941, 0.6848),
        _p("Joué-lès-Tours", "37300", 47.3522, 0.6664),
        _p("Saint-Cyr-sur-Loire", "37540", 47.4000, 0.6667),
        _p("Saint-Pierre-des-Corps", "37700", 47.3864, 0.7236),
        _p("Chambray-lès-Tours", "37170", 47.3347, 0.7142),
        _p("La Riche", "37520", 47.3897, 0.6617))),
    Territory("vichy", "Vichy Communauté", "03", "4", (
        _p("Vichy", "03200", 46.1277, 3.4262), _p("Cusset", "03300", 46.1345, 3.4566),
        _p("Bellerive-sur-Allier", "03700", 46.1169, 3.4044),
        _p("Abrest", "03200", 46.1047, 3.4386),
        _p("Saint-Germain-des-Fossés", "03260", 46.2064, 3.4339))),
    Territory("ales", "Alès Agglomération", "30", "4", (
        _p("Alès", "30100", 44.1250, 4.0810),
        _p("Saint-Christol-lez-Alès", "30380", 44.0833, 4.0778),
        _p("Saint-Martin-de-Valgalgues", "30520", 44.1636, 4.0836),
        _p("Saint-Privat-des-Vieux", "30340", 44.1447, 4.1319),
        _p("Anduze", "30140", 44.0525, 3.9858))),
    Territory("nantes", "Loire-Atlantique", "44", "2", (
        _p("Nantes", "44000 44100 44200 44300", 47.2184, -1.5536),
        _p("Saint-Herblain", "44800", 47.2122, -1.6497), _p("Rezé", "44400", 47.1833, -1.5500),
        _p("Saint-Sébastien-sur-Loire", "44230", 47.2081, -1.5014),
        _p("Orvault", "44700", 47.2711, -1.6225), _p("Carquefou", "44470", 47.2975, -1.4914),
        _p("Saint-Nazaire", "44600", 47.2735, -2.2138))),
    Territory("lyon", "Lyon Métropole", "69", "4", (
        _p("Lyon", "69001 69002 69003 69004 69005 69006 69007 69008 69009", 45.7640, 4.8357),
        _p("Villeurbanne", "69100", 45.7719, 4.8902), _p("Vénissieux", "69200", 45.6975, 4.8867),
        _p("Caluire-et-Cuire", "69300", 45.7953, 4.8469), _p("Bron", "69500", 45.7386, 4.9131),
        _p("Écully", "69130", 45.7744, 4.7775))),
    Territory("lille", "Métropole Européenne de Lille", "59", "3", (
        _p("Lille", "59000 59800", 50.6292, 3.0573), _p("Roubaix", "59100", 50.6942, 3.1746),
        _p("Tourcoing", "59200", 50.7239, 3.1612),
        _p("Villeneuve-d'Ascq", "59650", 50.6233, 3.1450),
        _p("Marcq-en-Barœul", "59700", 50.6711, 3.0972),
        _p("Lambersart", "59130", 50.6500, 3.0250))),
    Territory("bordeaux", "Bordeaux Métropole", "33", "5", (
        _p("Bordeaux", "33000 33100 33200 33300 33800", 44.8378, -0.5792),
        _p("Mérignac", "33700", 44.8386, -0.6436), _p("Pessac", "33600", 44.8067, -0.6311),
        _p("Talence", "33400", 44.8060, -0.5880), _p("Bègles", "33130", 44.8086, -0.5478),
        _p("Le Bouscat", "33110", 44.8650, -0.5997))),
    Territory("rennes", "Rennes Métropole", "35", "2", (
        _p("Rennes", "35000 35200 35700", 48.1173, -1.6778),
        _p("Cesson-Sévigné", "35510", 48.1211, -1.6031),
        _p("Saint-Grégoire", "35760", 48.1514, -1.6858), _p("Bruz", "35170", 48.0247, -1.7458),
        _p("Chantepie", "35135", 48.0886, -1.6158), _p("Betton", "35830", 48.1814, -1.6394))),
    Territory("strasbourg", "Eurométropole de Strasbourg", "67", "3", (
        _p("Strasbourg", "67000 67100 67200", 48.5734, 7.7521),
        _p("Schiltigheim", "67300", 48.6072, 7.7497),
        _p("Illkirch-Graffenstaden", "67400", 48.5297, 7.7156),
        _p("Lingolsheim", "67380", 48.5575, 7.6828), _p("Bischheim", "67800", 48.6156, 7.7528),
        _p("Haguenau", "67500", 48.8156, 7.7906))),
)
TERRITORIES_BY_KEY = {t.key: t for t in TERRITORIES}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().strip()


_COMMUNE_BY_FOLD = {_fold(c.name): c for c in COMMUNES}
_COMMUNE_BY_POSTCODE: dict[str, Commune] = {}
for _c in COMMUNES:
    for _pc in _c.postcodes:
        _COMMUNE_BY_POSTCODE.setdefault(_pc, _c)
_FIXED_LINE = re.compile(r"^(\s*(?:\+33|0033|0)\s*\(?0?\)?\s*)5")


class Mover:
    """Moves one Toulouse-world listing into a territory (pure: same input, same output)."""

    def __init__(self, territory: Territory) -> None:
        self.territory = territory
        self.sources = {"tout_toulouse": f"tout_{territory.key}",
                        "toulouse_boutiques": f"{territory.key}_boutiques",
                        "geolocal31": f"geolocal{territory.department}",
                        "panier_toulousain": f"panier_{territory.key}"}

    def place_of(self, commune: Commune) -> Place:
        """The territory's commune standing for a Toulouse-world commune."""
        places = self.territory.places
        if commune.name == "Toulouse":
            return places[0]
        return places[1 + stable_hash(self.territory.key, commune.name) % (len(places) - 1)]

    def source(self, name: str) -> str:
        return self.sources.get(name, name)

    def move(self, item: dict[str, Any]) -> dict[str, Any]:
        out = dict(item)
        source = str(item["source"])
        out["source"] = self.source(source)
        national = source in NATIONAL_SOURCES
        key = self.territory.key
        if national:
            for field in ("source_id", "shop_source_id"):
                if item.get(field) not in (None, ""):
                    out[field] = f"{key}-{item[field]}"
        if isinstance(item.get("url"), str):
            parts = urlsplit(item["url"])
            host = f"{out['source'].replace('_', '-')}.example"
            path = f"/{key}{parts.path}" if national else parts.path
            out["url"] = f"https://{host}{path}" + (f"?{parts.query}" if parts.query else "")
        if item.get("kind") == "shop":
            self._move_shop(item, out)
        return out

    def _move_shop(self, item: dict[str, Any], out: dict[str, Any]) -> None:
        commune = (_COMMUNE_BY_FOLD.get(_fold(str(item.get("city") or "")))
                   or _COMMUNE_BY_POSTCODE.get(str(item.get("postcode") or "").strip()))
        if commune is None:
            commune = COMMUNES_BY_NAME["Toulouse"]
        place = self.place_of(commune)
        if item.get("city"):
            city = str(item["city"])
            out["city"] = place.name.upper() if city.isupper() else place.name
        if item.get("postcode"):
            out["postcode"] = place.postcodes[
                stable_hash(key_of(item), item["postcode"]) % len(place.postcodes)]
        if isinstance(item.get("lat"), (int, float)) and isinstance(item.get("lon"), (int, float)):
            out["lat"] = round(place.lat + float(item["lat"]) - commune.lat, 6)
            out["lon"] = round(place.lon + float(item["lon"]) - commune.lon, 6)
        if isinstance(item.get("phone"), str):
            out["phone"] = _FIXED_LINE.sub(rf"\g<1>{self.territory.phone_digit}", item["phone"])
        if isinstance(item.get("description"), str):
            out["description"] = item["description"].replace(commune.name, place.name)


def key_of(item: dict[str, Any]) -> str:
    return f"{item.get('source')}:{item.get('source_id')}"


def shops_per_territory(listings: int, territories: int) -> int:
    """Shops each territory's world needs for about ``listings`` listings in all."""
    return max(1, round(listings / LISTINGS_PER_SHOP / territories))


def national_listings(listings: int, territories: tuple[Territory, ...] = TERRITORIES,
                      seed: int = 42, offers_per_shop: int = 8) -> Iterator[dict[str, Any]]:
    """Every listing of a national world of about ``listings`` listings, territory by
    territory (each its own seed)."""
    shops = shops_per_territory(listings, len(territories))
    for i, territory in enumerate(territories):
        items = expected_listings(seed + i, shops, 0, offers_per_shop)
        if territory.key == "toulouse":
            yield from items
            continue
        mover = Mover(territory)
        for item in items:
            yield mover.move(item)


@dataclass
class WorldFiles:
    """The world written as one JSON Lines file per source; counts per source."""

    folder: Path
    counts: dict[str, int]
    last: dict[str, Any]  # the last listing written (the probe of "searchable")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def path(self, source: str) -> Path:
        return self.folder / f"{source}.jsonl"


def write_world(folder: Path, listings: int, territories: tuple[Territory, ...] = TERRITORIES,
                seed: int = 42) -> WorldFiles:
    """Write (or reuse) the national world under ``folder``, one file per source."""
    manifest = folder / "manifest.json"
    if manifest.exists():
        data = json.loads(manifest.read_text())
        return WorldFiles(folder, data["counts"], data["last"])
    folder.mkdir(parents=True, exist_ok=True)
    handles: dict[str, TextIO] = {}
    counts: dict[str, int] = {}
    last: dict[str, Any] = {}
    try:
        for item in national_listings(listings, territories, seed):
            source = item["source"]
            if source not in handles:
                handles[source] = (folder / f"{source}.jsonl").open("w", encoding="utf-8")
                counts[source] = 0
            handles[source].write(json.dumps(item, ensure_ascii=False) + "\n")
            counts[source] += 1
            last = item
    finally:
        for fh in handles.values():
            fh.close()
    manifest.write_text(json.dumps({"counts": counts, "last": last}, ensure_ascii=False))
    return WorldFiles(folder, counts, last)


TOULOUSE_BOX = (-0.33, 42.33, 4.85, 45.05)  # config/territories.yaml's Toulouse entry
BOX_MARGIN = 0.4  # degrees around a territory's communes: a moved shop keeps its offset


def territories_config(territories: tuple[Territory, ...] = TERRITORIES) -> dict[str, Any]:
    """The territories file of the national world (AGORA_TERRITORIES_FILE): each one's
    department, a box around its communes and its sources, so that the build keeps the
    coordinates of every territory and documents carry the territory of their shop."""
    entries: dict[str, Any] = {}
    for territory in territories:
        mover = Mover(territory)
        if territory.places:
            lats = [p.lat for p in territory.places]
            lons = [p.lon for p in territory.places]
            box = [round(min(lons) - BOX_MARGIN, 3), round(min(lats) - BOX_MARGIN, 3),
                   round(max(lons) + BOX_MARGIN, 3), round(max(lats) + BOX_MARGIN, 3)]
        else:
            box = list(TOULOUSE_BOX)
        entries[territory.key] = {
            "name": territory.name, "departments": [territory.department], "bbox": box,
            "sources": [*mover.sources.values(), *NATIONAL_SOURCES]}
    return {"territories": entries}

