"""Product titles, variants, brands and availability.

A title gets a display form (case fixed when shouted), a matching form and its
variant: what tells apart two products of one family, as normalized
``(dimension, value)`` pairs, so that the matcher keeps them apart and
recognises the same one written two ways ("75 cl" == "0,75 L" == "750ml").

Dimensions and their values (folded, lower case):

- ``size``: mass in g, volume in ml ("1,5 kg" -> "1500g", "0,75 L" -> "750ml");
  ``length`` in mm; ``capacity`` in go ("32 Go", "1 To" -> "1000go");
  ``dimensions`` ("4x30 mm" -> "4x30mm", "700x25"); ``lumen``, ``power``
- ``count``: "6 parts", "4 tranches", "500 pièces", "douzaine" (12), "lot de 3"
- ``percent``: "70 %" -> "70"; ``amount``: "Carte cadeau 20 €" -> "20"
- ``vintage``: years 1900-2099, ages ("12 mois" -> "12mois", "10 ans" -> "10ans"),
  grades ("vsop", "xo"); several are joined with "+"
- ``clothing_size`` ("taille M", a lone S/M/L/XL), ``shoe_size`` ("pointure 42")
- ``colour`` (French colour words, masculine singular: "blanche" -> "blanc",
  "bleu marine"), ``scent`` (lavande, figue...), ``format`` (petit/moyen/grand,
  A4), ``number`` ("n°3")

The matching form is folded, lower case, without French articles and
prepositions, with quantities written canonically ("750ml").

Example:
    >>> t = normalize_title("Huile d'olive vierge extra Moulin de Villevieille 0,75 L")
    >>> t.key, t.variant
    ('huile olive vierge extra moulin villevieille 750ml', (('size', '750ml'),))
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from normalizer.names import name_key
from normalizer.text import fix_case, fold, needs_case_fix, plain

TITLE_STOP_WORDS = frozenset(
    "le la les l de du des d un une a au aux en et pour avec sur par".split())
_KEEP_UPPER = frozenset({"AOP", "AOC", "IGP", "VSOP", "XO", "USB", "LED", "XS", "S", "M", "L",
                         "XL", "XXL", "XXXL", "LP", "CD", "DVD", "BD", "HD", "TV", "PC", "GPS"})

_NUM = r"(\d+(?:[.,]\d+)?)"
_MASS = {"kg": 1000, "g": 1, "gr": 1, "grs": 1, "gramme": 1, "grammes": 1, "mg": Decimal("0.001")}
_VOLUME = {"l": 1000, "litre": 1000, "litres": 1000, "cl": 10, "dl": 100, "ml": 1}
_LENGTH = {"km": 1_000_000, "m": 1000, "metre": 1000, "metres": 1000, "cm": 10, "mm": 1}
_DATA = {"to": 1000, "tb": 1000, "go": 1, "gb": 1, "mo": Decimal("0.001"),
         "mb": Decimal("0.001")}
_OTHER_UNITS = {"lm": "lumen", "w": "power", "mah": "battery", "v": "voltage"}
_UNIT_ALIASES = {"lumen": "lm", "lumens": "lm", "watt": "w", "watts": "w", "volt": "v",
                 "volts": "v"}
_UNITS = sorted([*_MASS, *_VOLUME, *_LENGTH, *_DATA, *_OTHER_UNITS, *_UNIT_ALIASES], key=len,
                reverse=True)
_UNIT_RE = "|".join(_UNITS)

_COUNT_UNITS = {
    "part": "part", "parts": "part", "tranche": "tranche", "tranches": "tranche",
    "piece": "piece", "pieces": "piece", "pcs": "piece", "pc": "piece", "cuisse": "cuisse",
    "cuisses": "cuisse", "personne": "personne", "personnes": "personne", "pers": "personne",
    "bouteille": "bouteille", "bouteilles": "bouteille", "pot": "pot", "pots": "pot",
    "sachet": "sachet", "sachets": "sachet", "capsule": "capsule", "capsules": "capsule",
    "dosette": "dosette", "dosettes": "dosette", "unite": "unite", "unites": "unite",
    "boite": "boite", "boites": "boite", "rouleau": "rouleau", "rouleaux": "rouleau",
    "paquet": "paquet", "paquets": "paquet", "portion": "portion", "portions": "portion",
    "oeuf": "oeuf", "oeufs": "oeuf", "filet": "filet", "filets": "filet", "canette": "canette",
    "canettes": "canette", "feuille": "feuille", "feuilles": "feuille",
}
_COLOUR_COMPOUNDS = (
    "bleu marine", "bleu ciel", "bleu roi", "bleu nuit", "bleu canard", "bleu clair",
    "bleu fonce", "bleu electrique", "vert olive", "vert sapin", "vert d'eau", "vert clair",
    "vert fonce", "vert pomme", "gris anthracite", "gris clair", "gris fonce", "rose poudre",
    "rose pale", "rose fuchsia", "jaune moutarde", "rouge bordeaux", "blanc casse", "noir mat",
)
_COLOURS = {
    "blanc": "blanc", "blanche": "blanc", "blancs": "blanc", "blanches": "blanc",
    "noir": "noir", "noire": "noir", "noirs": "noir", "noires": "noir",
    "rouge": "rouge", "rouges": "rouge", "bleu": "bleu", "bleue": "bleu", "bleus": "bleu",
    "bleues": "bleu", "vert": "vert", "verte": "vert", "verts": "vert", "vertes": "vert",
    "jaune": "jaune", "jaunes": "jaune", "orange": "orange", "oranges": "orange",
    "rose": "rose", "roses": "rose", "violet": "violet", "violette": "violet",
    "violets": "violet", "violettes": "violet", "mauve": "mauve", "mauves": "mauve",
    "marron": "marron", "marrons": "marron", "beige": "beige", "beiges": "beige",
    "gris": "gris", "grise": "gris", "grises": "gris", "ecru": "ecru", "ecrue": "ecru",
    "ecrus": "ecru", "kaki": "kaki", "bordeaux": "bordeaux", "turquoise": "turquoise",
    "dore": "dore", "doree": "dore", "dores": "dore", "dorees": "dore", "argente": "argente",
    "argentee": "argente", "argent": "argent", "bronze": "bronze", "cuivre": "cuivre",
    "ocre": "ocre", "ecaille": "ecaille", "acier": "acier", "anthracite": "anthracite",
    "fuchsia": "fuchsia", "corail": "corail", "camel": "camel", "taupe": "taupe",
    "ivoire": "ivoire", "marine": "bleu marine", "multicolore": "multicolore",
    "multicolores": "multicolore", "transparent": "transparent", "transparente": "transparent",
}
_SCENTS = ("fleur d'oranger", "lavande", "figue", "vanille", "citron", "jasmin", "monoi",
           "verveine", "ambre", "santal", "cannelle", "coco", "menthe", "pamplemousse",
           "patchouli", "bergamote")
_FORMATS = {"petit": "petit", "petite": "petit", "petits": "petit", "petites": "petit",
            "moyen": "moyen", "moyenne": "moyen", "moyens": "moyen", "moyennes": "moyen",
            "grand": "grand", "grande": "grand", "grands": "grand", "grandes": "grand",
            "mini": "mini", "maxi": "maxi", "geant": "geant", "geante": "geant"}
_CLOTHING = {"xxs": "xxs", "xs": "xs", "s": "s", "m": "m", "l": "l", "xl": "xl", "xxl": "xxl",
             "xxxl": "xxxl", "2xl": "xxl", "3xl": "xxxl", "4xl": "xxxxl", "tu": "tu"}
_GRADES = {"vsop": "vsop", "xo": "xo", "vs": "vs", "hors d'age": "horsdage",
           "hors d age": "horsdage", "napoleon": "napoleon"}

_B = r"(?<![\w'])"  # a word starts: not after a letter, digit or elision apostrophe
_E = r"(?![\w'])"


@dataclass(frozen=True)
class Title:
    """A title's display form, matching form, its tokens, its core words and its variant.

    ``core`` holds the title's words without those its attributes were read from.
    """

    display: str | None
    key: str | None
    tokens: tuple[str, ...]
    variant: tuple[tuple[str, str], ...]
    core: tuple[str, ...] = ()


def _dec(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def _fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class _Extraction:
    """Variant pairs found so far, and the title text with each find replaced by a mark."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.found: list[tuple[str, str]] = []
        self.key_tokens: list[tuple[str, ...]] = []

    def take(self, pattern: re.Pattern[str],
             read: Callable[[re.Match[str]], list[tuple[str, str, tuple[str, ...]]] | None]
             ) -> None:
        def sub(m: re.Match[str]) -> str:
            pairs = read(m)
            if pairs is None:
                return m.group(0)
            marks = []
            for dim, value, tokens in pairs:
                if dim:
                    self.found.append((dim, value))
                marks.append(chr(0xE000 + len(self.key_tokens)))
                self.key_tokens.append(tokens)
            return " " + " ".join(marks) + " "

        if pattern.search(self.text):
            self.text = pattern.sub(sub, self.text)


def _quantity(number: str, unit: str) -> tuple[str, str] | None:
    value = _dec(number)
    unit = _UNIT_ALIASES.get(unit, unit)
    if unit in _MASS:
        return "size", _fmt(value * _MASS[unit]) + "g"
    if unit in _VOLUME:
        return "size", _fmt(value * _VOLUME[unit]) + "ml"
    if unit in _LENGTH:
        return "length", _fmt(value * _LENGTH[unit]) + "mm"
    if unit in _DATA:
        return "capacity", _fmt(value * _DATA[unit]) + "go"
    if unit in _OTHER_UNITS:
        return _OTHER_UNITS[unit], _fmt(value) + unit
    return None


_P_NUMBER = re.compile(_B + r"n\s*[°o]\.?\s*(\d+)" + _E)
_PACK_UNITS = "|".join(sorted([*_MASS, *_VOLUME], key=len, reverse=True))
_P_MULTIPACK = re.compile(_B + r"(\d+)\s*[x×]\s*" + _NUM + r"\s*(" + _PACK_UNITS + r")" + _E)
_P_DIMENSIONS = re.compile(
    _B + _NUM + r"\s*[x×]\s*" + _NUM + r"(?:\s*[x×]\s*" + _NUM + r")?\s*(mm|cm|m)?" + _E)
_P_QUANTITY = re.compile(_B + _NUM + r"\s*(" + _UNIT_RE + r")" + _E)
_P_PERCENT = re.compile(_B + _NUM + r"\s*%")
_P_AMOUNT = re.compile(_B + _NUM + r"\s*(?:€|eur|euros)" + _E)
_P_DOZEN = re.compile(_B + r"(?:(\d+|une|deux|trois)\s+|(demi)\s*-?\s*)?douzaines?" + _E)
_P_COUNT = re.compile(_B + r"(\d+)\s*(" + "|".join(sorted(_COUNT_UNITS, key=len, reverse=True))
                      + r")" + _E)
_P_LOT = re.compile(_B + r"(?:lot|pack|coffret|boite|set)\s+de\s+(\d+)" + _E
                    + r"|" + _B + r"x\s*(\d+)" + _E)
_P_AGE = re.compile(_B + r"(\d+)\s*(ans|an|mois|years?|yo)" + _E)
_P_GRADE = re.compile(_B + r"(" + "|".join(sorted(_GRADES, key=len, reverse=True)) + r")" + _E)
_P_YEAR = re.compile(_B + r"((?:19|20)\d{2})" + _E)
_P_SHOE = re.compile(_B + r"pointure\s*:?\s*(\d{2}(?:[.,]5)?)" + _E)
_P_TAILLE = re.compile(_B + r"taille\s*:?\s*([a-z0-9]{1,4})" + _E)
_P_CLOTHING = re.compile(r"(?<![\w'-])(xxs|xs|xxxl|xxl|xl|[2-4]xl|s|m|l)(?![\w'-])")
_P_PAPER = re.compile(_B + r"(a[0-6])" + _E)
_P_FORMAT = re.compile(_B + r"(" + "|".join(_FORMATS) + r")" + _E)
_P_COLOUR = re.compile(_B + r"(" + "|".join(sorted([*_COLOUR_COMPOUNDS, *_COLOURS], key=len,
                                                  reverse=True)) + r")" + _E)
_P_SCENT = re.compile(_B + r"(" + "|".join(_SCENTS) + r")" + _E)
_WORDS_AND_MARKS = re.compile(r"[a-z0-9]+|[\ue000-\uf8ff]")
_DOZENS = {"une": 1, "deux": 2, "trois": 3}


def _extract(folded: str) -> _Extraction:
    ex = _Extraction(folded)
    ex.take(_P_NUMBER, lambda m: [("number", m.group(1), ("n" + m.group(1),))])

    def multipack(m: re.Match[str]) -> list[tuple[str, str, tuple[str, ...]]] | None:
        q = _quantity(m.group(2), m.group(3))
        if not q:
            return None
        return [("count", m.group(1), (m.group(1) + "x",)), (q[0], q[1], (q[1],))]

    ex.take(_P_MULTIPACK, multipack)

    def dimensions(m: re.Match[str]) -> list[tuple[str, str, tuple[str, ...]]]:
        parts = [_fmt(_dec(g)) for g in m.groups()[:3] if g]
        value = "x".join(parts) + (m.group(4) or "")
        return [("dimensions", value, (value,))]

    ex.take(_P_DIMENSIONS, dimensions)

    def quantity(m: re.Match[str]) -> list[tuple[str, str, tuple[str, ...]]] | None:
        q = _quantity(m.group(1), m.group(2))
        return [(q[0], q[1], (q[1],))] if q else None

    ex.take(_P_QUANTITY, quantity)
    ex.take(_P_PERCENT, lambda m: [("percent", _fmt(_dec(m.group(1))),
                                    (_fmt(_dec(m.group(1))) + "pct",))])
    ex.take(_P_AMOUNT, lambda m: [("amount", _fmt(_dec(m.group(1))),
                                   (_fmt(_dec(m.group(1))) + "eur",))])

    def dozen(m: re.Match[str]) -> list[tuple[str, str, tuple[str, ...]]]:
        if m.group(2):
            n = 6
        else:
            k = m.group(1)
            n = 12 * (int(k) if k and k.isdigit() else _DOZENS.get(k or "une", 1))
        return [("count", str(n), (str(n), "piece"))]

    ex.take(_P_DOZEN, dozen)
    ex.take(_P_COUNT, lambda m: [("count", str(int(m.group(1))),
                                  (str(int(m.group(1))), _COUNT_UNITS[m.group(2)]))])
    ex.take(_P_LOT, lambda m: [("count", str(int(m.group(1) or m.group(2))),
                                (str(int(m.group(1) or m.group(2))), "piece"))])

    def age(m: re.Match[str]) -> list[tuple[str, str, tuple[str, ...]]]:
        unit = "mois" if m.group(2) == "mois" else "ans"
        value = f"{int(m.group(1))}{unit}"
        return [("vintage", value, (value,))]

    ex.take(_P_AGE, age)
    ex.take(_P_GRADE, lambda m: [("vintage", _GRADES[m.group(1)], (_GRADES[m.group(1)],))])
    ex.take(_P_YEAR, lambda m: [("vintage", m.group(1), (m.group(1),))])
    ex.take(_P_SHOE, lambda m: [("shoe_size", m.group(1).replace(",", "."),
                                 ("pointure", m.group(1).replace(",", ".")))])
    ex.take(_P_TAILLE, lambda m: [("clothing_size", _CLOTHING.get(m.group(1), m.group(1)),
                                   ("taille", _CLOTHING.get(m.group(1), m.group(1))))])
    ex.take(_P_CLOTHING, lambda m: [("clothing_size", _CLOTHING[m.group(1)],
                                     (_CLOTHING[m.group(1)],))])
    ex.take(_P_PAPER, lambda m: [("format", m.group(1), (m.group(1),))])
    ex.take(_P_FORMAT, lambda m: [("format", _FORMATS[m.group(1)], (_FORMATS[m.group(1)],))])

    def colour(m: re.Match[str]) -> list[tuple[str, str, tuple[str, ...]]]:
        word = m.group(1)
        value = _COLOURS.get(word, word).replace("'", " ")
        return [("colour", value, tuple(value.split()))]

    ex.take(_P_COLOUR, colour)
    ex.take(_P_SCENT, lambda m: [("scent", m.group(1).replace("'", " "),
                                  tuple(m.group(1).replace("'", " ").split()))])
    return ex


def _variant(found: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    by_dim: dict[str, list[str]] = {}
    for dim, value in found:
        values = by_dim.setdefault(dim, [])
        if value not in values:
            values.append(value)
    return tuple(sorted((dim, "+".join(sorted(values))) for dim, values in by_dim.items()))


@lru_cache(maxsize=200_000)
def normalize_title(raw: str | None) -> Title:
    """Display form, matching form, tokens and variant of a product title."""
    if not raw:
        return Title(None, None, (), ())
    text = plain(raw).strip(" -–—,;:")
    if not text:
        return Title(None, None, (), ())
    display = fix_case(text, _KEEP_UPPER) if needs_case_fix(text) and len(text) > 4 else text
    folded = fold(text).lower().replace("\u00b0", "°")
    ex = _extract(folded)
    tokens: list[str] = []
    core: list[str] = []
    for item in _WORDS_AND_MARKS.findall(ex.text):
        if len(item) == 1 and "\ue000" <= item <= "\uf8ff":
            tokens.extend(ex.key_tokens[ord(item) - 0xE000])
        elif item not in TITLE_STOP_WORDS:
            tokens.append(item)
            core.append(item)
    key = " ".join(tokens) or None
    return Title(display, key, tuple(tokens), _variant(ex.found), tuple(core))


@lru_cache(maxsize=50_000)
def normalize_brand(raw: str | None) -> tuple[str | None, str | None]:
    """(display, matching form) of a brand: "Château de Laubade" -> "chateau laubade"."""
    if not raw:
        return None, None
    text = plain(raw).strip(" -–—,;:")
    if not text:
        return None, None
    return text, " ".join(name_key(text)) or None


# --------------------------------------------------------------------------- availability
_AVAILABILITY_CODES: dict[str, str] = {
    "instock": "in_stock", "enstock": "in_stock", "disponible": "in_stock",
    "available": "in_stock", "dispo": "in_stock", "oui": "in_stock", "yes": "in_stock",
    "true": "in_stock", "stock": "in_stock", "instoreonly": "in_stock",
    "onlineonly": "in_stock", "enmagasin": "in_stock", "disponibleenmagasin": "in_stock",
    "limitedavailability": "limited", "limited": "limited", "stocklimite": "limited",
    "lowstock": "limited", "faiblestock": "limited", "derniersarticles": "limited",
    "dernierarticle": "limited", "dernierspieces": "limited", "quelquesexemplaires": "limited",
    "bientotepuise": "limited", "limite": "limited", "fewleft": "limited", "low": "limited",
    "outofstock": "out_of_stock", "soldout": "out_of_stock", "discontinued": "out_of_stock",
    "rupture": "out_of_stock", "rupturedestock": "out_of_stock", "enrupture": "out_of_stock",
    "enrupturedestock": "out_of_stock", "epuise": "out_of_stock", "epuisee": "out_of_stock",
    "indisponible": "out_of_stock", "nondisponible": "out_of_stock",
    "plusdisponible": "out_of_stock", "unavailable": "out_of_stock", "non": "out_of_stock",
    "no": "out_of_stock", "false": "out_of_stock", "preorder": "out_of_stock",
    "presale": "out_of_stock", "backorder": "out_of_stock", "surcommande": "out_of_stock",
    "horsstock": "out_of_stock", "temporairementindisponible": "out_of_stock",
    "victimedesonsucces": "out_of_stock", "reserved": "out_of_stock", "out": "out_of_stock",
    "none": "out_of_stock", "in": "in_stock", "high": "in_stock", "ok": "in_stock",
}
_SCHEMA_URL = re.compile(r"^https?://(?:www\.)?schema\.org/", re.I)
_FEW = re.compile(r"\b(plus que|seulement|only|reste|restent|derni)", re.I)


@lru_cache(maxsize=5_000)
def normalize_availability(raw: str | None) -> tuple[str | None, str | None]:
    """("in_stock" | "limited" | "out_of_stock", problem code) of an availability field."""
    if raw is None or not str(raw).strip():
        return None, None
    text = _SCHEMA_URL.sub("", str(raw).strip())
    folded = fold(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)).lower()
    compact = re.sub(r"[^a-z]", "", folded)
    numbers = re.findall(r"\d+", folded)
    if numbers and _FEW.search(folded):
        return "limited", None
    if compact in _AVAILABILITY_CODES:
        return _AVAILABILITY_CODES[compact], None
    if numbers and compact in ("", "enstock", "instock", "stock", "disponible", "disponibles",
                               "articles", "articlesenstock", "pieces", "unites"):
        return ("out_of_stock" if int(numbers[0]) == 0 else "in_stock"), None
    for code, value in _AVAILABILITY_CODES.items():
        if len(code) > 5 and code in compact:
            return value, None
    return None, "unknown_availability"
