"""How a platform shows a real shop or offer: its own spelling, formats and slips.

Every function takes the random generator of one (platform, entity) pair, so a
platform shows an entity the same way at every epoch unless the entity changed.
The variations are those met on the real sites: upper case, dropped accents,
legal forms, street-type abbreviations, phone formats, jittered or missing
coordinates, product titles reworded, prices a little off.

Two profiles (``NOISE_PROFILES``): ``default``, what the replicas always served,
and ``hard``, for testing that the matcher generalises (never for choosing a
weight). The world carries its profile on every shop and product, so the same
rendering calls show more noise under ``hard``: variants written every way
(``T. M``, ``size M``, ``(Noir, T42)``, ``0,35 kg`` for ``350 g``, ``x24``,
``Millésime 2017``, ``50*50 cm``), English words on French sites, the brand
moved out of a title or into it, typos in titles, marketing words, mojibake;
shop names with their trade word dropped or moved, streets abbreviated and
numbers dropped more often, a registry-fed platform showing the company's legal
name (``SAS LES SAVEURS GOURMAND``) and an old phone; GTIN-14 with a leading
zero; offers whose platform does not name the seller. Without the ``hard`` profile none of these
functions draws a random number more, so the default world stays byte-identical.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from dataclasses import dataclass

from replicas.vocab import ADJECTIVES, FIRST_NAMES, SURNAMES
from replicas.world import Hours, Product, Shop, rng_for


@dataclass(frozen=True)
class NoiseProfile:
    """Rates of the hard profile's slips (all 0 in the default profile)."""

    name: str
    variant_rewrite: float = 0.0  # a product's variant written in another form
    english: float = 0.0  # ...in English ("size M", "black")
    brand_out: float = 0.0  # the brand taken out of the title (the field keeps it)
    title_typo: float = 0.0
    marketing: float = 0.0  # "Nouveau", "| Idée cadeau"...
    mojibake: float = 0.0  # UTF-8 read as Latin-1 ("CrÃ¨me")
    name_trade_moved: float = 0.0  # "Boulangerie Martin" -> "Martin" or "Martin Boulangerie"
    name_typo: float = 0.0
    legal_name: float = 0.0  # a registry-fed platform shows the legal name, not the sign
    registry_phone: float = 0.0  # ... and an old phone
    gtin14: float = 0.0  # a GTIN-13 written as GTIN-14 with a leading zero
    sellerless: float = 0.0  # an offer whose platform does not name the seller

    @property
    def hard(self) -> bool:
        return self.name != "default"


NOISE_PROFILES: dict[str, NoiseProfile] = {
    "default": NoiseProfile("default"),
    "hard": NoiseProfile(
        "hard", variant_rewrite=0.7, english=0.15, brand_out=0.3, title_typo=0.12,
        marketing=0.2, mojibake=0.03, name_trade_moved=0.12, name_typo=0.08, legal_name=0.6,
        registry_phone=0.15, gtin14=0.35, sellerless=0.12),
}


def noise_profile(entity: Shop | Product) -> NoiseProfile:
    """The profile the world gave an entity."""
    return NOISE_PROFILES[entity.noise]

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
    profile = noise_profile(shop)
    if profile.hard:
        name = _hard_name(name, rng, profile)
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
    profile = noise_profile(shop)
    if profile.hard and rng.random() < 0.15:
        abbreviate_rate, drop_number_rate = 1.0, max(drop_number_rate, 0.2)
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
    profile = noise_profile(product)
    if profile.hard:
        title = _hard_title(product, title, rng, profile)
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
    if profile.hard and rng.random() < profile.mojibake:
        title = title.encode("utf-8").decode("latin-1")
    return " ".join(title.split())


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


# --------------------------------------------------------------------------- hard profile
_TRADE_WORDS = ("Boulangerie", "Boucherie", "Fromagerie", "Poissonnerie", "Épicerie",
                "Cave", "Librairie", "Fleuriste", "Pâtisserie", "Chocolaterie", "Optique",
                "Bijouterie", "Quincaillerie", "Parfumerie", "Primeur", "Caviste",
                "Charcuterie", "Boutique", "Atelier", "Maison")


def _hard_name(name: str, rng: random.Random, profile: NoiseProfile) -> str:
    words = name.split(" ")
    if len(words) >= 2 and words[0] in _TRADE_WORDS and rng.random() < profile.name_trade_moved:
        rest = " ".join(words[1:])
        name = rest if rng.random() < 0.5 else f"{rest} {words[0]}"
    if rng.random() < profile.name_typo:
        name = _typo(name, rng)
    return name


_LEGAL_NOUNS = ("SAVEURS", "DELICES", "HALLES", "TERROIRS", "FOURNEE", "COMPTOIR", "JARDINS",
                "ATELIERS", "RIVES", "COTEAUX")


def legal_name(shop: Shop) -> str:
    """The company's registered name, as a business registry writes it (upper case, legal
    form): often unrelated to the sign the shop trades under. One per company (SIREN)."""
    rng = rng_for("legal-name", shop.siren)
    form = shop.legal_form or rng.choice(("SARL", "SAS", "EURL"))
    surname = fold_accents(rng.choice(SURNAMES)).upper()
    first = fold_accents(rng.choice(FIRST_NAMES)).upper()
    adj_m, adj_f = rng.choice(ADJECTIVES)
    noun = rng.choice(_LEGAL_NOUNS)
    pattern = rng.randrange(7)
    if pattern == 0:
        return f"{form} LES {noun} {fold_accents(adj_m).upper()}"
    if pattern == 1:
        return f"L'{noun[:-1] if noun.endswith('S') else noun} {fold_accents(adj_m).upper()} {form}"
    if pattern == 2:
        return f"{surname} ET FILS"
    if pattern == 3:
        return f"{form} {first} {surname}"
    if pattern == 4:
        return f"{form} {first[0]}{surname[0]}{rng.choice('ABCDMPR')}"
    if pattern == 5:
        return f"{surname} {fold_accents(rng.choice(SURNAMES)).upper()} {form}"
    return f"HOLDING {surname}"


def registry_name(shop: Shop, rng: random.Random, shown: str) -> str:
    """What a registry-fed platform shows as the shop's name: ``shown`` by default; under
    the hard profile, the company's legal name for most companies."""
    profile = noise_profile(shop)
    if profile.hard and rng.random() < profile.legal_name:
        return legal_name(shop)
    return shown


def registry_phone(shop: Shop, rng: random.Random) -> str:
    """The phone digits a registry-fed platform shows: an old number now and then (hard)."""
    profile = noise_profile(shop)
    if profile.hard and rng.random() < profile.registry_phone:
        return "05" + rng.choice(("61", "62", "34")) + f"{rng.randint(0, 999_999):06d}"
    return shop.phone


def render_gtin(product: Product, rng: random.Random) -> str | None:
    """A product's GTIN as a platform writes it: GTIN-14 with a leading zero now and then
    under the hard profile (the same article as the GTIN-13)."""
    gtin = product.gtin
    profile = noise_profile(product)
    if gtin and profile.hard and len(gtin) == 13 and rng.random() < profile.gtin14:
        return "0" + gtin
    return gtin


def names_seller(product: Product, rng: random.Random) -> bool:
    """Whether the platform names the seller of an offer (not always, under hard)."""
    profile = noise_profile(product)
    return not (profile.hard and rng.random() < profile.sellerless)


_EN_COLOURS = {"noir": "black", "blanc": "white", "blanche": "white", "rouge": "red",
               "bleu": "blue", "bleu marine": "navy blue", "rose": "pink", "gris": "grey",
               "vert": "green", "écru": "ecru", "doré": "gold", "acier": "steel",
               "mauve": "mauve", "ocre": "ochre", "écaille": "tortoiseshell"}
_MARKETING = ("Nouveau", "Promo", "Idée cadeau", "Artisanal", "Fabrication française",
              "Qualité supérieure", "Sélection du moment")
_QTY = re.compile(r"^(\d+(?:,\d+)?) (g|kg|cl|ml|L|m|cm|mm|Go|lm)$")
_TO_BASE = {"g": ("g", 1), "kg": ("g", 1000), "cl": ("ml", 10), "ml": ("ml", 1),
            "L": ("ml", 1000), "m": ("mm", 1000), "cm": ("mm", 10), "mm": ("mm", 1)}


def _fr_number(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def _quantity_forms(number: str, unit: str, rng: random.Random) -> list[str]:
    value = float(number.replace(",", "."))
    forms = [f"{number}{unit}", f"{number} {unit.upper() if unit != 'Go' else 'GB'}"]
    if unit in _TO_BASE:
        base, factor = _TO_BASE[unit]
        amount = value * factor
        if base == "g":
            forms += [f"{_fr_number(amount / 1000)} kg", f"{_fr_number(amount)}g",
                      f"{_fr_number(amount)} grammes"]
        elif base == "ml":
            forms += [f"{_fr_number(amount / 1000)} L", f"{_fr_number(amount / 10)} cl",
                      f"{_fr_number(amount)}ml", f"{_fr_number(amount / 1000).replace(',', '.')}L"]
        else:
            forms += [f"{_fr_number(amount / 10)} cm", f"{_fr_number(amount)} mm"]
            if amount >= 1000:
                forms.append(f"{_fr_number(amount / 1000)} mètre" + ("s" if amount > 1000 else ""))
    elif unit == "Go":
        forms += [f"{number}GB", f"{number} Gb"]
    elif unit == "lm":
        forms += [f"{number} lumens"]
    return [f for f in forms if f]


def _variant_forms(product: Product, context: str, rng: random.Random,
                   english: bool) -> list[str]:
    """Other ways of writing ``context`` (the variant as the title shows it)."""
    v = product.variant
    m = _QTY.match(v)
    if m and context == v:
        return _quantity_forms(m.group(1), m.group(2), rng)
    if context.startswith("taille "):
        size = v
        forms = [f"T. {size}", f"T.{size}", f"Taille {size}", f"(T{size})", f"- T. {size}",
                 f"(taille {size})"]
        return [f"size {size}", f"Size {size}"] if english else forms
    if context.startswith("pointure "):
        forms = [f"T{v}", f"taille {v}", f"(pointure {v})", f"P. {v}"]
        return [f"size {v}", f"EU {v}"] if english else forms
    if re.fullmatch(r"(?:19|20)\d\d", v):
        return [f"Millésime {v}", f"({v})", f"millésime {v}"]
    if re.fullmatch(r"\d+ mois", v):
        n = v.split()[0]
        return [f"affiné {n} mois", f"{n} mois d'affinage", f"{n}mois"]
    if re.fullmatch(r"\d+ ans", v):
        return [f"{v} d'âge", v.replace(" ", "")]
    if v in ("VSOP", "XO"):
        return [".".join(v) + ".", v.lower()]
    if re.fullmatch(r"\d+ %", v):
        n = v.split()[0]
        return [f"{n}%", f"{n} % cacao", f"{n}% de cacao"]
    if m := re.fullmatch(r"(\d+) (parts|cuisses|tranches|pièces)", v):
        n = m.group(1)
        forms = [f"x{n}", f"lot de {n}", f"{n} pcs", f"({n} {m.group(2)})"]
        return forms + ([f"pack of {n}", f"{n}-pack"] if english else [])
    if v == "douzaine":
        return ["x12", "12 pièces", "par 12", "lot de 12"]
    if v == "2 douzaines":
        return ["x24", "24 pièces", "lot de 24"]
    if m := re.fullmatch(r"(\d+)x(\d+)(?: (mm|cm))?", v):
        a, b, unit = m.group(1), m.group(2), m.group(3) or ""
        sp = " " if unit else ""
        return [f"{a} x {b}{sp}{unit}", f"{a}*{b}{unit}", f"{a}X{b}{unit.upper()}",
                f"({a}*{b}{sp}{unit})"]
    if v in ("A4", "A5"):
        return [f"format {v}", f"({v})"]
    if product.variant_kind == "colour":
        word = v.lower()
        if english and word in _EN_COLOURS:
            return [_EN_COLOURS[word], _EN_COLOURS[word].title()]
        return [f"couleur {v}", f"coloris {v}", f"({v.capitalize()})", f"- {v.capitalize()}",
                f"couleur {v.capitalize()}"]
    if v in ("S", "M", "L", "XL"):
        forms = [f"T. {v}", f"taille {v}", f"({v})", f"T.{v}"]
        return [f"size {v}"] if english else forms
    return []


def _hard_title(product: Product, title: str, rng: random.Random,
                profile: NoiseProfile) -> str:
    if product.variant and rng.random() < profile.variant_rewrite:
        english = rng.random() < profile.english
        for prefix in ("taille ", "pointure ", ""):
            context = prefix + product.variant
            if context in title:
                forms = _variant_forms(product, context, rng, english)
                if forms:
                    form = rng.choice(forms)
                    title = title.replace(context, "\x00", 1)
                    # a variant written in parentheses or after a dash often ends the title
                    if rng.random() < 0.4 and not form.startswith("("):
                        title = title.replace("\x00", "").strip() + f" - {form}"
                    else:
                        title = title.replace("\x00", form)
                break
    brand = product.brand
    if brand and brand in title and title.strip() != brand and rng.random() < profile.brand_out:
        title = " ".join(title.replace(brand, " ").split())
    if rng.random() < profile.title_typo:
        title = _typo(title, rng)
    if rng.random() < profile.marketing:
        word = rng.choice(_MARKETING)
        title = f"{word} - {title}" if rng.random() < 0.4 else f"{title} | {word}"
    return " ".join(title.replace(" ,", ",").split())
