"""The seeded replica world: real-looking shops and offers of the Toulouse area.

``World.generate(seed, shops, epoch)`` builds the same world for the same
arguments, every time. It holds the truth: which real shop each platform
listing shows, and which offer each product listing shows. Epoch ``K`` is the
same world ``K`` steps later (some shops closed, some opened, prices changed,
shops joining or leaving platforms); everything not touched by a step stays
byte-identical, so an unchanged listing re-crawled is unchanged.

Hard cases are built in on purpose: chains (one name, several communes, one
SIREN), market halls (several stalls at one address), near-identical names next
door, size/colour/vintage variants, the same GTIN sold by several shops.

Example:
    >>> w = World.generate(seed=7, shops=50)
    >>> len(w.open_shops()) > 40
    True
"""

from __future__ import annotations

import hashlib
import math
import random
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from replicas.geo import COMMUNES, COMMUNES_BY_NAME, MARKET_HALLS, REGIONS, Commune, Street
from replicas.vocab import (
    ADJECTIVES,
    CHAIN_NAMES,
    FIRST_NAMES,
    LEGAL_FORMS,
    SURNAMES,
    TRADES,
    TRADES_BY_KEY,
    Trade,
)

NOISE_NAMES = ("default", "hard")  # the profiles of replicas.noise
PLATFORMS = ("tout_toulouse", "toulouse_boutiques", "clickandco", "dansmazone", "geolocal31")
PRODUCT_PLATFORMS = ("tout_toulouse", "toulouse_boutiques", "clickandco", "dansmazone")
# A shop of these zones that none of the five drew stays independent (on none of
# them) this often instead of being given the likeliest one; smaller platforms,
# such as the sixth replica, recruit independents.
INDEPENDENT_ZONES = ("toulouse", "metro")
INDEPENDENT_SHARE = 0.5
# The regions a world may hold (replicas.geo.REGIONS): Toulouse's is the first and
# keeps the world of one region exactly as it always was; another region is drawn
# by its own builder, seeded by region, with REGION_SHARE times the shops, sharing
# the products (national brands are sold everywhere). The five Toulouse platforms
# are not there: its city platforms decide their presence themselves.
DEFAULT_REGIONS = ("toulouse",)
REGION_SHARE = {"toulouse": 1.0, "grand_nancy": 0.4}
# Landline prefixes by region: 05 (south-west), 03 83 (Meurthe-et-Moselle).
LANDLINES = {"toulouse": ("05", ("61", "62", "34", "67")), "grand_nancy": ("03", ("83",))}

EPOCH_ZERO = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
EPOCH_STEP = timedelta(days=7)

# Toulouse quarters with the French contraction "de" takes before each.
TOULOUSE_QUARTERS = {
    "Capitole": "du Capitole", "Carmes": "des Carmes", "Saint-Cyprien": "de Saint-Cyprien",
    "Minimes": "des Minimes", "Saint-Michel": "de Saint-Michel", "Rangueil": "de Rangueil",
    "Chalets": "des Chalets", "Compans": "de Compans", "Saint-Aubin": "de Saint-Aubin",
    "Arnaud-Bernard": "d'Arnaud-Bernard", "Saint-Étienne": "de Saint-Étienne",
    "Côte Pavée": "de la Côte Pavée", "Lardenne": "de Lardenne", "Esquirol": "d'Esquirol",
    "Patte d'Oie": "de la Patte d'Oie", "Croix-Daurade": "de Croix-Daurade",
}

# Similar surnames, for a different shop next door with a near-identical name.
NEAR_SURNAMES = {
    "Martin": "Martine", "Dubois": "Dubos", "Roux": "Leroux", "Bernard": "Bernardi",
    "Durand": "Durant", "Petit": "Petitjean", "Richard": "Ricard", "Moreau": "Moreaux",
    "Simon": "Simonet", "Laurent": "Laurens", "Garcia": "Garcias", "Blanc": "Leblanc",
    "Fabre": "Favre", "Vidal": "Vidalot", "Michel": "Michelet", "Thomas": "Thomassin",
    "Robert": "Roberti", "Mercier": "Mercié", "Girard": "Girardot", "Faure": "Fauré",
}

# Probability that a shop of a zone is on each platform (before the at-least-one rule).
PRESENCE: dict[str, dict[str, float]] = {
    "toulouse": {"tout_toulouse": 0.30, "toulouse_boutiques": 0.45, "clickandco": 0.12,
                 "dansmazone": 0.30, "geolocal31": 0.45},
    "sicoval": {"tout_toulouse": 0.0, "toulouse_boutiques": 0.12, "clickandco": 0.78,
                "dansmazone": 0.30, "geolocal31": 0.50},
    "metro": {"tout_toulouse": 0.0, "toulouse_boutiques": 0.22, "clickandco": 0.12,
              "dansmazone": 0.33, "geolocal31": 0.50},
    "haute_garonne": {"tout_toulouse": 0.0, "toulouse_boutiques": 0.0, "clickandco": 0.0,
                      "dansmazone": 0.45, "geolocal31": 0.65},
    "occitanie": {"tout_toulouse": 0.0, "toulouse_boutiques": 0.0, "clickandco": 0.0,
                  "dansmazone": 1.0, "geolocal31": 0.0},
    "grand_nancy": {p: 0.0 for p in PLATFORMS},
}


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of the parts that does not change between Python runs."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def rng_for(*parts: object) -> random.Random:
    """A random generator seeded by the parts: same parts, same draws."""
    return random.Random(stable_hash(*parts))


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _luhn_complete(prefix: str) -> str:
    for last in "0123456789":
        if luhn_ok(prefix + last):
            return prefix + last
    raise AssertionError("unreachable")


def make_siren(rng: random.Random) -> str:
    return _luhn_complete(str(rng.randint(30_000_000, 99_999_999)))


def make_siret(siren: str, establishment: int) -> str:
    return _luhn_complete(siren + f"{establishment:04d}")


def ean13_check_digit(twelve: str) -> str:
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(twelve))
    return str((10 - total % 10) % 10)


def make_ean13(prefix: str, number: int) -> str:
    body = (prefix + f"{number:012d}")[-12:] if len(prefix) < 12 else prefix[:12]
    body = prefix + f"{number:0{12 - len(prefix)}d}"
    return body + ean13_check_digit(body)


def slugify(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    out, dash = [], False
    for ch in folded:
        if ch.isalnum():
            out.append(ch)
            dash = False
        elif not dash:
            out.append("-")
            dash = True
    return "".join(out).strip("-")


@dataclass(frozen=True)
class Hours:
    """Opening hours as (days, open, close) spans, e.g. (("Mo","Sa"), "09:00", "19:00")."""

    spans: tuple[tuple[tuple[str, str], str, str], ...]


HOURS_TEMPLATES: tuple[Hours, ...] = (
    Hours(((("Mo", "Sa"), "09:00", "19:00"),)),
    Hours(((("Tu", "Sa"), "09:30", "12:30"), (("Tu", "Sa"), "14:00", "19:00"))),
    Hours(((("Tu", "Su"), "07:00", "13:30"),)),
    Hours(((("Mo", "Fr"), "10:00", "19:00"), (("Sa", "Sa"), "10:00", "18:00"))),
    Hours(((("Tu", "Sa"), "10:00", "19:00"),)),
    Hours(((("Mo", "Sa"), "07:00", "20:00"), (("Su", "Su"), "07:00", "13:00"))),
)


@dataclass
class Shop:
    """One real business at one place: the truth every platform listing points to."""

    index: int
    entity_id: str
    name: str
    legal_form: str | None
    trade: str
    siren: str
    siret: str
    number: int | None
    number_suffix: str | None
    street: str
    postcode: str
    commune: str
    lat: float
    lon: float
    phone: str  # national format digits, "0561223344"
    email: str | None
    website: str | None
    hours: Hours
    services: tuple[str, ...]
    platforms: set[str]
    independent: bool = False  # on none of the five when it opened
    chain: str | None = None
    hall: str | None = None
    twin_of: int | None = None
    opened_epoch: int = 0
    closed_epoch: int | None = None
    updated_epoch: int = 0
    platform_since: dict[str, int] = field(default_factory=dict)
    platform_left: dict[str, int] = field(default_factory=dict)
    description: str = ""
    noise: str = "default"  # how noisily the platforms show it (replicas.noise)

    @property
    def is_open(self) -> bool:
        return self.closed_epoch is None

    @property
    def street_line(self) -> str:
        """The canonical street line, '12 bis rue de Metz' (no number for hall stalls)."""
        if self.number is None:
            return self.street
        suffix = f" {self.number_suffix}" if self.number_suffix else ""
        return f"{self.number}{suffix} {self.street}"


@dataclass(frozen=True)
class Product:
    """One sellable item (one variant): a GTIN when it has one."""

    index: int
    entity_id: str
    family: int
    title: str
    brand: str | None
    variant: str
    variant_kind: str
    trade: str
    gtin: str | None
    base_price_cents: int
    description: str
    noise: str = "default"  # how noisily the platforms show it (replicas.noise)


@dataclass
class Offer:
    """One product sold by one shop, with the platforms listing it."""

    shop: int
    product: int
    entity_id: str
    price_cents: int
    availability: str  # in_stock | limited | out_of_stock
    platforms: set[str]
    opened_epoch: int = 0
    closed_epoch: int | None = None
    updated_epoch: int = 0

    @property
    def is_open(self) -> bool:
        return self.closed_epoch is None


@dataclass
class World:
    """A seeded world of shops, products and offers at one epoch."""

    seed: int
    shop_count: int
    offers_per_shop: int
    epoch: int
    shops: list[Shop]
    products: list[Product]
    offers: list[Offer]
    noise: str = "default"
    regions: tuple[str, ...] = DEFAULT_REGIONS

    # ------------------------------------------------------------------ building
    @classmethod
    def generate(cls, seed: int = 42, shops: int = 1500, epoch: int = 0,
                 offers_per_shop: int = 8, noise: str = "default",
                 regions: tuple[str, ...] = DEFAULT_REGIONS) -> World:
        """Build the world for these arguments, always the same.

        ``noise`` names the profile the platforms show it with (``replicas.noise``:
        "default" or "hard"); the world itself, its truth, is the same for both.
        ``regions``: Toulouse's first (``replicas.geo.REGIONS``; see REGION_SHARE).
        """
        if shops < 1:
            raise ValueError("a world needs at least one shop")
        if noise not in NOISE_NAMES:
            raise ValueError(f"unknown noise profile {noise!r} (known: "
                             f"{', '.join(NOISE_NAMES)})")
        if not regions or regions[0] != "toulouse" or any(r not in REGIONS for r in regions):
            raise ValueError(f"regions must start with 'toulouse', among {', '.join(REGIONS)}; "
                             f"got {regions!r}")
        builder = _Builder(seed, shops, offers_per_shop, noise)
        world = builder.build()
        builders = [builder]
        for region in dict.fromkeys(regions[1:]):
            other = _Builder(seed, max(1, round(shops * REGION_SHARE[region])),
                             offers_per_shop, noise, region=region, products_of=builder)
            other.build_into(world)
            builders.append(other)
        for step in range(1, epoch + 1):
            for each in builders:
                each.evolve(world, step)
        world.epoch = epoch
        world.noise = noise
        world.regions = tuple(dict.fromkeys(regions))
        return world

    # ------------------------------------------------------------------ queries
    def open_shops(self) -> list[Shop]:
        return [s for s in self.shops if s.is_open]

    def shops_on(self, platform: str) -> list[Shop]:
        return [s for s in self.shops if s.is_open and platform in s.platforms]

    def offers_on(self, platform: str) -> list[Offer]:
        """Open offers of open shops that the platform lists."""
        shops = self.shops
        return [
            o for o in self.offers
            if o.is_open and platform in o.platforms and shops[o.shop].is_open
            and platform in shops[o.shop].platforms
        ]

    def product(self, offer: Offer) -> Product:
        return self.products[offer.product]

    def shop(self, offer: Offer) -> Shop:
        return self.shops[offer.shop]

    def epoch_time(self, epoch: int | None = None) -> datetime:
        return EPOCH_ZERO + EPOCH_STEP * (self.epoch if epoch is None else epoch)

    def listing_updated_at(self, platform: str, entity: Shop | Offer) -> datetime:
        """When this platform's listing of the entity last changed."""
        shop = entity if isinstance(entity, Shop) else self.shops[entity.shop]
        since = shop.platform_since.get(platform, 0)
        return self.epoch_time(max(entity.updated_epoch, entity.opened_epoch, since))

    def removed_from(self, platform: str, entity: Shop | Offer) -> int | None:
        """The epoch at which the platform stopped listing the entity, if it did.

        A shop closes or leaves the platform; an offer ends, or its shop closes or
        leaves. Platforms with an updated-since filter serve these as tombstones.
        """
        shop = entity if isinstance(entity, Shop) else self.shops[entity.shop]
        ends = [e for e in (shop.closed_epoch, shop.platform_left.get(platform)) if e is not None]
        if isinstance(entity, Offer):
            if entity.closed_epoch is not None and platform in entity.platforms:
                ends.append(entity.closed_epoch)
        return min(ends) if ends else None


class _Builder:
    def __init__(self, seed: int, shop_count: int, offers_per_shop: int,
                 noise: str = "default", *, region: str = "toulouse",
                 products_of: _Builder | None = None) -> None:
        self.noise = noise
        self.region = region
        # every region its own streams; Toulouse's the world's own seed, as always
        self.seed = seed if region == "toulouse" else stable_hash("region", region, seed)
        self.communes = REGIONS[region]
        self.landline = LANDLINES[region]
        self.shop_count = shop_count
        self.offers_per_shop = offers_per_shop
        self.rng = rng_for("world", self.seed, shop_count)
        self.products: list[Product] = []
        self.products_by_trade: dict[str, list[int]] = {}
        self.used_names: set[tuple[str, str]] = set()
        self.used_phones: set[str] = set()
        self.used_sirens: set[str] = set()
        self.house_products: dict[tuple[str, int], int] = {}
        if products_of is not None:  # one catalogue of products for every region
            self.products = products_of.products
            self.products_by_trade = products_of.products_by_trade
            self.house_products = products_of.house_products
            self.used_sirens = products_of.used_sirens

    # -------------------------------------------------------------- products
    def _build_products(self) -> None:
        family = 0
        for t_index, trade in enumerate(TRADES):
            ids: list[int] = []
            for template in trade.products:
                brands = template.brands if "{brand}" in template.title else ("",)
                for brand in brands:
                    family += 1
                    prng = rng_for("product", self.seed, trade.key, template.title, brand)
                    base = prng.uniform(*template.price_eur)
                    for v_index, variant in enumerate(template.variants):
                        title = template.title.replace("{brand}", brand).replace(
                            "{variant}", variant)
                        title = " ".join(title.split())
                        price = base * (1 + 0.35 * v_index) if template.variant_kind == "size" \
                            else base * (1 + 0.08 * v_index)
                        idx = len(self.products)
                        gtin = None
                        if template.gtin:
                            if trade.key == "librairie":
                                gtin = make_ean13("9782", 100_000 + idx * 37)
                            else:
                                gtin = make_ean13("3" + str(10 + t_index * 3 % 70), 4_000_000
                                                  + idx * 113)
                        self.products.append(Product(
                            index=idx,
                            entity_id=f"product:{idx:05d}",
                            family=family,
                            title=title,
                            brand=brand or None if "{brand}" in template.title else None,
                            variant=variant,
                            variant_kind=template.variant_kind,
                            trade=trade.key,
                            gtin=gtin,
                            base_price_cents=_round_price(price * 100),
                            description=f"{title}. {trade.label} — sélection du commerce.",
                            noise=self.noise,
                        ))
                        ids.append(idx)
            self.products_by_trade[trade.key] = ids

    def _house_product(self, trade: str, k: int) -> int:
        """Shop-made goods and gift cards, sold under the same title by many shops."""
        key = (trade, k)
        if key in self.house_products:
            return self.house_products[key]
        idx = len(self.products)
        amounts = (20, 30, 50, 75, 100, 150)
        if k < len(amounts):
            title = f"Carte cadeau {amounts[k]} €"
            price = amounts[k] * 100
        else:
            title = f"Coffret découverte n°{k - len(amounts) + 1}"
            price = _round_price((25 + 7 * k) * 100)
        self.products.append(Product(
            index=idx, entity_id=f"product:{idx:05d}", family=-idx, title=title, brand=None,
            variant="", variant_kind="none", trade=trade, gtin=None, base_price_cents=price,
            description=f"{title} — {TRADES_BY_KEY[trade].label}.", noise=self.noise,
        ))
        self.house_products[key] = idx
        return idx

    # -------------------------------------------------------------- shops
    def _pick_commune(self, rng: random.Random) -> Commune:
        return rng.choices(self.communes, weights=[c.weight for c in self.communes])[0]

    def _pick_trade(self, rng: random.Random) -> Trade:
        return rng.choices(TRADES, weights=[t.weight for t in TRADES])[0]

    def _place_word(self, commune: Commune, rng: random.Random) -> tuple[str, str]:
        """A place name for a shop name and its form after "de" ("du Capitole")."""
        if commune.name == "Toulouse":
            quarter = rng.choice(sorted(TOULOUSE_QUARTERS))
            return quarter, TOULOUSE_QUARTERS[quarter]
        name = commune.name
        return name, ("d'" + name if name[0] in "AEIOUÉ" else "de " + name)

    def _name(self, trade: Trade, commune: Commune, rng: random.Random) -> str:
        for _ in range(30):
            pattern = rng.choice(trade.name_patterns)
            first, first2 = rng.sample(FIRST_NAMES, 2)
            place, de_place = self._place_word(commune, rng)
            adj_m, adj_f = rng.choice(ADJECTIVES)
            name = pattern.format(
                surname=rng.choice(SURNAMES), place=place, de_place=de_place,
                adj_m=adj_m, adj_f=adj_f, first=first, first2=first2,
            )
            key = (slugify(name), commune.name)
            if key not in self.used_names:
                self.used_names.add(key)
                return name
        return f"{trade.label} {rng.choice(SURNAMES)} {rng.randint(2, 99)}"

    def _phone(self, rng: random.Random) -> str:
        while True:
            if rng.random() < 0.25:
                # 0639 and 069x are overseas mobiles (Mayotte, Réunion): not in Toulouse
                phone = rng.choice(("06", "07")) + f"{rng.randint(10_000_000, 89_999_999):08d}"
            else:
                phone = (self.landline[0] + rng.choice(self.landline[1])
                         + f"{rng.randint(0, 999_999):06d}")
            if phone not in self.used_phones:
                self.used_phones.add(phone)
                return phone

    def _siren(self, rng: random.Random) -> str:
        while True:
            siren = make_siren(rng)
            if siren not in self.used_sirens:
                self.used_sirens.add(siren)
                return siren

    def _street_anchor(self, commune: Commune, street: Street) -> tuple[float, float]:
        srng = rng_for("street", commune.name, street.name)
        angle = srng.uniform(0, 2 * math.pi)
        dist = commune.radius_km * math.sqrt(srng.random())
        return _offset(commune.lat, commune.lon, dist * math.cos(angle), dist * math.sin(angle))

    def _services(self, rng: random.Random) -> tuple[str, ...]:
        services = []
        if rng.random() < 0.55:
            services.append("click_collect")
        if rng.random() < 0.25:
            services.append("delivery")
        if rng.random() < 0.20:
            services.append("local_delivery")
        return tuple(services)

    def _platforms(self, commune: Commune, rng: random.Random) -> set[str]:
        """The five platforms listing a new shop; empty for an independent shop (and
        outside Toulouse's region, where its city platforms choose their own)."""
        if self.region != "toulouse":
            return set()
        probs = PRESENCE[commune.zone]
        chosen = {p for p in PLATFORMS if rng.random() < probs[p]}
        if not chosen:
            if commune.zone in INDEPENDENT_ZONES and rng.random() < INDEPENDENT_SHARE:
                return chosen
            best = max(PLATFORMS, key=lambda p: probs[p] * (0.5 + rng.random()))
            chosen.add(best)
        return chosen

    def new_shop(self, index: int, rng: random.Random, *, commune: Commune | None = None,
                 trade: Trade | None = None, name: str | None = None,
                 siren: str | None = None, establishment: int = 1,
                 street: Street | None = None, number: int | None = None,
                 hall: str | None = None, opened_epoch: int = 0) -> Shop:
        commune = commune or self._pick_commune(rng)
        trade = trade or self._pick_trade(rng)
        street = street or rng.choice(commune.streets)
        if number is None and hall is None:
            number = rng.randint(1, 120) if rng.random() > 0.03 else rng.randint(121, 400)
        suffix = None
        if number is not None and rng.random() < 0.07:
            suffix = rng.choice(("bis", "bis", "ter"))
        lat0, lon0 = self._street_anchor(commune, street)
        offset_m = 0.02 if hall else 0.18
        lat, lon = _offset(lat0, lon0, rng.uniform(-offset_m, offset_m),
                           rng.uniform(-offset_m, offset_m))
        name = name or self._name(trade, commune, rng)
        siren = siren or self._siren(rng)
        slug = slugify(name)[:40]
        has_web = rng.random() < 0.5
        domain = f"{slug.replace('-', '')[:28]}{'-' + slugify(commune.name)[:12] if rng.random() < 0.3 else ''}.fr"
        # Drawn in the order the fields were always drawn, so a seed keeps its world.
        legal_form = rng.choice(LEGAL_FORMS) if rng.random() < 0.6 else None
        phone = self._phone(rng)
        email = f"contact@{domain}" if rng.random() < 0.5 else None
        hours = rng.choice(HOURS_TEMPLATES)
        services = self._services(rng)
        platforms = self._platforms(commune, rng)
        return Shop(
            index=index,
            entity_id=f"shop:{index:05d}",
            name=name,
            legal_form=legal_form,
            trade=trade.key,
            siren=siren,
            siret=make_siret(siren, establishment),
            number=number,
            number_suffix=suffix,
            street=street.name,
            postcode=street.postcode,
            commune=commune.name,
            lat=round(lat, 6),
            lon=round(lon, 6),
            phone=phone,
            email=email,
            website=f"https://www.{domain}/" if has_web else None,
            hours=hours,
            services=services,
            platforms=platforms,
            independent=not platforms and self.region == "toulouse",
            hall=hall,
            opened_epoch=opened_epoch,
            updated_epoch=opened_epoch,
            description=f"{trade.label} à {commune.name}.",
            noise=self.noise,
        )

    def _special_shops(self, n: int) -> list[dict]:
        """Specifications of the hard cases, proportional to the world's size."""
        specs: list[dict] = []
        rng = rng_for("special", self.seed, n)
        if n >= 40:
            chains = CHAIN_NAMES[: max(1, min(len(CHAIN_NAMES), n // 150))]
            for chain_name, trade in chains:
                siren = self._siren(rng)
                count = rng.randint(3, 6) if n >= 200 else 2
                communes = rng.sample([c for c in COMMUNES if c.zone != "occitanie"]
                                      + [COMMUNES_BY_NAME["Toulouse"]] * 2, count)
                for k, commune in enumerate(communes):
                    specs.append({"name": chain_name, "trade": TRADES_BY_KEY[trade],
                                  "commune": commune, "siren": siren, "establishment": k + 1,
                                  "chain": chain_name})
            halls = MARKET_HALLS[: max(1, min(len(MARKET_HALLS), n // 400))]
            food = ("boucherie", "fromagerie", "poissonnerie", "primeur", "caviste",
                    "boulangerie", "epicerie_fine", "chocolatier")
            for hall, commune_name, street_name, postcode in halls:
                stalls = rng.randint(5, 8) if n >= 200 else 3
                for trade in rng.sample(food, stalls):
                    specs.append({"trade": TRADES_BY_KEY[trade],
                                  "commune": COMMUNES_BY_NAME[commune_name],
                                  "street": Street(street_name, postcode), "hall": hall})
        return specs

    def build(self) -> World:
        self._build_products()
        n = self.shop_count
        shops: list[Shop] = []
        for spec in self._special_shops(n)[: max(0, n - 1)]:
            rng = rng_for("shop", self.seed, len(shops))
            chain = spec.pop("chain", None)
            shop = self.new_shop(len(shops), rng, **spec)
            shop.chain = chain
            if shop.hall:
                shop.description = f"Stand au {shop.hall}."
            shops.append(shop)
        twin_budget = n // 80
        while len(shops) < n:
            rng = rng_for("shop", self.seed, len(shops))
            shop = self.new_shop(len(shops), rng)
            shops.append(shop)
            if twin_budget > 0 and len(shops) < n and _near_name(shop.name) is not None:
                twin_budget -= 1
                shops.append(self._twin(shop, len(shops)))
        offers: list[Offer] = []
        for shop in shops:
            offers.extend(self._offers_for(shop, 0))
        return World(self.seed, n, self.offers_per_shop, 0, shops, self.products, offers)

    def build_into(self, world: World) -> None:
        """This region's shops and their offers, appended to ``world`` (numbered after
        its shops); no chains nor market halls here."""
        base = len(world.shops)
        shops: list[Shop] = []
        while len(shops) < self.shop_count:
            index = base + len(shops)
            shops.append(self.new_shop(index, rng_for("shop", self.seed, index)))
        world.shops.extend(shops)
        for shop in shops:
            world.offers.extend(self._offers_for(shop, 0))

    def _twin(self, shop: Shop, index: int) -> Shop:
        """A different shop next door with a near-identical name."""
        rng = rng_for("twin", self.seed, index)
        commune = COMMUNES_BY_NAME[shop.commune]
        street = next(s for s in commune.streets if s.name == shop.street)
        name = _near_name(shop.name) or shop.name
        self.used_names.add((slugify(name), commune.name))
        twin = self.new_shop(index, rng, commune=commune, trade=TRADES_BY_KEY[shop.trade],
                             name=name, street=street,
                             number=(shop.number or 1) + rng.choice((2, 4, 1)))
        twin.twin_of = shop.index
        return twin

    # -------------------------------------------------------------- offers
    def _offers_for(self, shop: Shop, epoch: int) -> list[Offer]:
        rng = rng_for("offers", self.seed, shop.index, epoch)
        pool = self.products_by_trade[shop.trade]
        count = max(1, min(int(rng.gauss(self.offers_per_shop, self.offers_per_shop / 3)),
                           self.offers_per_shop * 2))
        picked: list[int] = []
        families = sorted({self.products[i].family for i in pool})
        rng.shuffle(families)
        for fam in families:
            members = [i for i in pool if self.products[i].family == fam]
            take = members if rng.random() < 0.5 else rng.sample(members,
                                                                 rng.randint(1, len(members)))
            picked.extend(sorted(take))
            if len(picked) >= count:
                break
        picked = picked[:count]
        k = 0
        while len(picked) < count:
            picked.append(self._house_product(shop.trade, k))
            k += 1
        return [self._offer(shop, p, epoch, rng) for p in picked]

    def _offer(self, shop: Shop, product_index: int, epoch: int, rng: random.Random) -> Offer:
        product = self.products[product_index]
        factor = rng.uniform(0.92, 1.15)
        sellers = sorted(p for p in shop.platforms if p in PRODUCT_PLATFORMS)
        platforms = {p for p in sellers if rng.random() < 0.88}
        if sellers and not platforms:
            platforms.add(rng.choice(sorted(sellers)))
        availability = rng.choices(("in_stock", "limited", "out_of_stock"), (0.85, 0.1, 0.05))[0]
        return Offer(
            shop=shop.index,
            product=product_index,
            entity_id=f"offer:{shop.index:05d}:{product_index:05d}",
            price_cents=_round_price(product.base_price_cents * factor),
            availability=availability,
            platforms=platforms,
            opened_epoch=epoch,
            updated_epoch=epoch,
        )

    # -------------------------------------------------------------- evolution
    def evolve(self, world: World, step: int) -> None:
        """Move the world one step: closures, openings, price and platform changes."""
        rng = rng_for("evolve", self.seed, self.shop_count, step)
        # this region's shops and offers only (all of them in a world of one region)
        names = {c.name for c in self.communes}
        open_shops = [s for s in world.shops if s.is_open and s.commune in names]
        for shop in rng.sample(open_shops, max(1, len(open_shops) * 2 // 100)):
            shop.closed_epoch = step
        for _ in range(max(1, self.shop_count * 2 // 100)):
            index = len(world.shops)
            shop = self.new_shop(index, rng_for("shop", self.seed, index), opened_epoch=step)
            world.shops.append(shop)
            world.offers.extend(self._offers_for(shop, step))
        live_offers = [o for o in world.offers
                       if o.is_open and world.shops[o.shop].commune in names]
        for offer in rng.sample(live_offers, len(live_offers) // 10):
            offer.price_cents = _round_price(offer.price_cents * rng.uniform(0.9, 1.12))
            offer.updated_epoch = step
        for offer in rng.sample(live_offers, len(live_offers) * 3 // 100):
            offer.closed_epoch = step
        for shop in rng.sample(open_shops, max(1, len(open_shops) // 100)):
            shop.phone = self._phone(rng)
            shop.updated_epoch = step
        for shop in rng.sample(open_shops, max(1, len(open_shops) * 2 // 100)):
            if not shop.is_open:
                continue
            probs = PRESENCE[COMMUNES_BY_NAME[shop.commune].zone]
            candidates = [p for p in PLATFORMS if p not in shop.platforms and probs[p] > 0]
            if candidates:
                platform = rng.choice(candidates)
                shop.platforms.add(platform)
                shop.platform_since[platform] = step
                shop.platform_left.pop(platform, None)
                if platform in PRODUCT_PLATFORMS:
                    for offer in world.offers:
                        if offer.shop == shop.index and offer.is_open and rng.random() < 0.8:
                            offer.platforms.add(platform)
        for shop in rng.sample(open_shops, max(1, len(open_shops) // 100)):
            if shop.is_open and len(shop.platforms) > 1:
                platform = rng.choice(sorted(shop.platforms))
                shop.platforms.discard(platform)
                shop.platform_since.pop(platform, None)
                shop.platform_left[platform] = step


def _round_price(cents: float) -> int:
    """Shop-like prices: whole tens of cents, often ending in 9."""
    value = max(50, int(round(cents / 10.0)) * 10)
    if value % 100 == 0 and value > 500:
        value -= 10
    return value


def _offset(lat: float, lon: float, north_km: float, east_km: float) -> tuple[float, float]:
    dlat = north_km / 111.32
    dlon = east_km / (111.32 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def _near_name(name: str) -> str | None:
    """'Boulangerie Martin' -> 'Boulangerie Martine'; None when no surname lends itself."""
    words = name.split()
    for i, word in enumerate(words):
        if word in NEAR_SURNAMES:
            words[i] = NEAR_SURNAMES[word]
            return " ".join(words)
    return None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def iter_entities(world: World) -> Iterable[Shop | Offer]:
    yield from world.shops
    yield from world.offers
