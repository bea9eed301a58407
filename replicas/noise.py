"""How a platform shows a real shop or offer: its own spelling, formats and slips.

Every function takes the random generator of one (platform, entity) pair, so a
platform shows an entity the same way at every epoch unless the entity changed.
The variations are those met on the real sites: upper case, dropped accents,
legal forms, street-type abbreviations, phone formats, jittered or missing
coordinates, product titles reworded, prices a little off.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata

from replicas.world import Hours, Product, Shop

STREET_ABBREVIATIONS = {
    "rue": ("r.", "R.", "r"),
    "boulevard": ("bd", "Bd", "bvd", "BD"),
    "avenue": ("av.", "Av.", "ave", "AV"),
    "place": ("pl.", "Pl.", "pl"),
    "allées": ("all.", "allées"),
    "allée": ("all.", "allée"),
    "chemin": ("ch.", "chem.", "chemin"),
    "route": ("rte", "Rte", "route"),
    "impasse": ("imp.", "imp"),
}

DAY_NAMES_FR = {"Mo": "lundi", "Tu": "mardi", "We": "mercredi", "Th": "jeudi", "Fr": "vendredi",
                "Sa": "samedi", "Su": "dimanche"}
SCHEMA_DAYS = {"Mo": "Monday", "Tu": "Tuesday", "We": "Wednesday", "Th": "Thursday",
               "Fr": "Friday", "Sa": "Saturday", "Su": "Sunday"}
DAY_ORDER = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")


def fold_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def render_name(shop: Shop, rng: random.Random, *, legal_form_rate: float = 0.0,
                upper_rate: float = 0.0, fold_rate: float = 0.0, abbreviate_rate: float = 0.0,
                typo_rate: float = 0.0, article_drop_rate: float = 0.0) -> str:
    """The shop's name as a platform shows it."""
    name = shop.name
    if rng.random() < article_drop_rate:
        name = re.sub(r"^(La|Le|Les|L')\s?", "", name, count=1) or name
    if rng.random() < abbreviate_rate:
        name = (name.replace("Saint-", "St-").replace(" et ", " & ").replace("Maison ", "Mson ")
                if rng.random() < 0.5 else name.replace(" & ", " et ").replace("Établissements",
                                                                             "Ets"))
    if shop.legal_form and rng.random() < legal_form_rate:
        name = f"{name} {shop.legal_form}" if rng.random() < 0.7 else f"{shop.legal_form} {name}"
    if rng.random() < typo_rate:
        name = _typo(name, rng)
    if rng.random() < fold_rate:
        name = fold_accents(name)
    if rng.random() < upper_rate:
        name = name.upper()
    return name


def _typo(text: str, rng: random.Random) -> str:
    """One slip of the keyboard inside a word of five letters or more."""
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    w = words[i]
    j = rng.randint(1, len(w) - 2)
    kind = rng.random()
    if kind < 0.4:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif kind < 0.7:
        w = w[:j] + w[j + 1:]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


def render_street(shop: Shop, rng: random.Random, *, abbreviate_rate: float = 0.0,
                  upper_rate: float = 0.0, drop_number_rate: float = 0.0,
                  fold_rate: float = 0.0, comma_rate: float = 0.0,
                  saint_rate: float = 0.0) -> str:
    """The street line ('12 bis rue de Metz') as a platform shows it."""
    street = shop.street
    if rng.random() < abbreviate_rate:
        first, _, rest = street.partition(" ")
        options = STREET_ABBREVIATIONS.get(first.lower())
        if options:
            street = f"{rng.choice(options)} {rest}"
    if rng.random() < saint_rate:
        street = street.replace("Saint-", "St-").replace("Sainte-", "Ste-")
    number = shop.number
    if number is not None and rng.random() < drop_number_rate:
        number = None
    if number is None:
        line = street if not shop.hall or rng.random() < 0.5 else f"{shop.hall}, {street}"
    else:
        suffix = ""
        if shop.number_suffix:
            suffix = rng.choice((f" {shop.number_suffix}", shop.number_suffix[0].upper(),
                                 f" {shop.number_suffix}", f"{shop.number_suffix[0]}"))
        sep = ", " if rng.random() < comma_rate else " "
        line = f"{number}{suffix}{sep}{street}"
    if rng.random() < fold_rate:
        line = fold_accents(line)
    if rng.random() < upper_rate:
        line = line.upper()
    return line


def render_phone(digits: str, style: str) -> str:
    """French national digits ('0561223344') in a platform's format."""
    pairs = [digits[i:i + 2] for i in range(0, 10, 2)]
    if style == "spaced":
        return " ".join(pairs)
    if style == "dotted":
        return ".".join(pairs)
    if style == "compact":
        return digits
    if style == "intl_spaced":
        return "+33 " + digits[1] + " " + " ".join(pairs[1:])
    if style == "intl_paren":
        return "+33 (0)" + digits[1] + " " + " ".join(pairs[1:])
    if style == "e164":
        return "+33" + digits[1:]
    raise ValueError(f"unknown phone style {style!r}")


def pick_phone_style(rng: random.Random, styles: dict[str, float]) -> str:
    return rng.choices(list(styles), weights=list(styles.values()))[0]


def jitter(lat: float, lon: float, rng: random.Random, meters: float) -> tuple[float, float]:
    """The point moved by up to ``meters`` in a random direction."""
    angle = rng.uniform(0, 2 * math.pi)
    dist = rng.uniform(0, meters) / 1000.0
    dlat = dist * math.cos(angle) / 111.32
    dlon = dist * math.sin(angle) / (111.32 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def format_price_fr(cents: int, *, symbol: str = " €") -> str:
    """1290 -> '12,90 €'; thousands with a narrow space: 125000 -> '1 250,00 €'."""
    euros, rest = divmod(cents, 100)
    whole = f"{euros:,}".replace(",", "\u202f")
    return f"{whole},{rest:02d}{symbol}"


def format_price_dot(cents: int) -> str:
    """1290 -> '12.90': cents as the decimal text APIs and schema.org carry."""
    return f"{cents // 100}.{cents % 100:02d}"


def platform_price(cents: int, rng: random.Random, *, drift_rate: float = 0.25) -> int:
    """A platform's price for an offer: sometimes a little off the shop's own."""
    if rng.random() >= drift_rate:
        return cents
    value = int(round(cents * rng.uniform(0.95, 1.06) / 10.0)) * 10
    return max(50, value)


_UNIT_STYLES = {
    "compact": lambda n, u: f"{n}{u}",
    "spaced": lambda n, u: f"{n} {u}",
}


def render_title(product: Product, rng: random.Random, *, upper_rate: float = 0.0,
                 brand_first_rate: float = 0.0, compact_units_rate: float = 0.0,
                 fold_rate: float = 0.0, drop_label_rate: float = 0.0) -> str:
    """A product title as a platform shows it; the variant always survives."""
    title = product.title
    if (product.brand and product.brand in title and title.strip() != product.brand
            and rng.random() < brand_first_rate):
        title = product.brand + " - " + " ".join(title.replace(product.brand, "").split())
    if rng.random() < compact_units_rate:
        title = re.sub(r"(\d+(?:,\d+)?) (g|kg|cl|ml|L|m|Go|cm)\b", r"\1\2", title)
    if rng.random() < drop_label_rate:
        title = re.sub(r"\s+(AOP|AOC|IGP)\b", "", title)
    if rng.random() < fold_rate:
        title = fold_accents(title)
    if rng.random() < upper_rate:
        title = title.upper()
    return title


def _day_span(days: tuple[str, str]) -> list[str]:
    a, b = DAY_ORDER.index(days[0]), DAY_ORDER.index(days[1])
    return list(DAY_ORDER[a:b + 1])


def hours_osm(hours: Hours) -> str:
    """'Tu-Sa 09:30-12:30,14:00-19:00' (OpenStreetMap style)."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for days, start, end in hours.spans:
        grouped.setdefault(days, []).append(f"{start}-{end}")
    parts = []
    for days, ranges in grouped.items():
        label = days[0] if days[0] == days[1] else f"{days[0]}-{days[1]}"
        parts.append(f"{label} {','.join(ranges)}")
    return "; ".join(parts)


def hours_schema(hours: Hours) -> list[str]:
    """schema.org openingHours strings, one per span ('Tu-Sa 09:30-12:30')."""
    out = []
    for days, start, end in hours.spans:
        label = days[0] if days[0] == days[1] else f"{days[0]}-{days[1]}"
        out.append(f"{label} {start}-{end}")
    return out


def hours_french(hours: Hours) -> str:
    """'du mardi au samedi de 9h30 à 12h30 et de 14h à 19h' (as shop pages say it)."""
    def hhmm(value: str) -> str:
        h, m = value.split(":")
        return f"{int(h)}h{m if m != '00' else ''}"

    grouped: dict[tuple[str, str], list[str]] = {}
    for days, start, end in hours.spans:
        grouped.setdefault(days, []).append(f"de {hhmm(start)} à {hhmm(end)}")
    parts = []
    for days, ranges in grouped.items():
        if days[0] == days[1]:
            label = f"le {DAY_NAMES_FR[days[0]]}"
        else:
            label = f"du {DAY_NAMES_FR[days[0]]} au {DAY_NAMES_FR[days[1]]}"
        parts.append(f"{label} {' et '.join(ranges)}")
    text = " ; ".join(parts)
    return text[0].upper() + text[1:]
