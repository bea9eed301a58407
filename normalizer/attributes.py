"""Attributes of a product read from its title (and labelled ones from its description).

An attribute is what tells apart two products of one family: a size, a colour,
a quantity, a count, dimensions, a vintage. Each is read from every form the
platforms write it in, French and English, and given one canonical value, so
that the matcher can say "same" when both sides state it alike and "apart"
(hard evidence) when they state it differently; an attribute stated on one
side only says nothing. Reading wrongly is worse than not reading: a misread
either splits one product or merges two, so every pattern is anchored on a
unit, a label ("taille", "couleur", "pointure", "millésime") or a closed word
list, never on a bare number.

Dimensions and their canonical values (folded, lower case):

- ``size``: mass in g, volume in ml ("0,35 kg" -> "350g", "36 cl" -> "360ml",
  "0.75L" -> "750ml"); ``length`` in mm; ``capacity`` in go ("32 GB" -> "32go");
  ``lumen``, ``power``, ``battery``, ``voltage``; ``inch`` (screens: 40'')
- ``dimensions_mm`` ("50x50 cm" = "(50*50 cm)" = "50X50CM" -> "500x500") and
  ``dimensions`` when no unit is given ("700x25")
- ``count``: pieces, portions, packs ("x24" = "24 pièces" = "lot de 24" = "pack of
  24"; "par 1" = "x1"; "douzaine" = 12; "2 tiges"); a multipack "6 x 33 cl" is a
  count and a size
- ``percent`` ("70 %" -> "70"), ``amount`` ("Carte cadeau 20 €" -> "20")
- ``vintage``: years 1900-2099 ("Millésime 2017" = "2017"), ages ("12 mois",
  "10 ans d'âge"), grades ("VSOP" = "V.S.O.P.", "XO"); several joined with "+"
- ``clothing_size``: every wearable size, letters or numbers ("taille M" = "T. M" =
  "T.M" = "size M" = "(M)"; "taille 42" = "T42" = "pointure 42" = "EU 42")
- ``colour``: French and English colour words ("couleur Rouge" = "coloris rouge" =
  "red"; "blanche" -> "blanc"), ``scent``, ``format`` (petit/moyen/grand, A4),
  ``number`` ("n°3")

Example:
    >>> read_attributes("T-shirt coton bio T. M - couleur Rouge")
    (('clothing_size', 'm'), ('colour', 'rouge'))
    >>> read_attributes("Pack 6 x 33cl") == read_attributes("Lot de 6 - 330 ml")
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from normalizer.text import fold

Found = list[tuple[str, str, tuple[str, ...]]]  # (dimension, value, tokens for the title key)

_NUM = r"(\d+(?:[.,]\d+)?)"
_MASS: dict[str, int | Decimal] = {"kg": 1000, "g": 1, "gr": 1, "grs": 1, "gramme": 1, "grammes": 1, "grams": 1,
         "mg": Decimal("0.001")}
_VOLUME: dict[str, int | Decimal] = {"l": 1000, "litre": 1000, "litres": 1000, "liter": 1000, "liters": 1000,
           "cl": 10, "dl": 100, "ml": 1}
_LENGTH: dict[str, int | Decimal] = {"km": 1_000_000, "m": 1000, "metre": 1000, "metres": 1000, "cm": 10, "mm": 1}
_DATA: dict[str, int | Decimal] = {"to": 1000, "tb": 1000, "go": 1, "gb": 1, "mo": Decimal("0.001"),
         "mb": Decimal("0.001")}
_OTHER_UNITS = {"lm": "lumen", "w": "power", "mah": "battery", "v": "voltage"}
_UNIT_ALIASES = {"lumen": "lm", "lumens": "lm", "watt": "w", "watts": "w", "volt": "v",
                 "volts": "v"}
_UNITS = sorted([*_MASS, *_VOLUME, *_LENGTH, *_DATA, *_OTHER_UNITS, *_UNIT_ALIASES], key=len,
                reverse=True)
_UNIT_RE = "|".join(_UNITS)

COUNT_UNITS = {
    "part": "part", "parts": "part", "tranche": "tranche", "tranches": "tranche",
    "piece": "piece", "pieces": "piece", "pcs": "piece", "pc": "piece", "pce": "piece",
    "pces": "piece", "cuisse": "cuisse", "cuisses": "cuisse", "personne": "personne",
    "personnes": "personne", "pers": "personne", "bouteille": "bouteille",
    "bouteilles": "bouteille", "pot": "pot", "pots": "pot", "sachet": "sachet",
    "sachets": "sachet", "capsule": "capsule", "capsules": "capsule", "dosette": "dosette",
    "dosettes": "dosette", "unite": "unite", "unites": "unite", "boite": "boite",
    "boites": "boite", "rouleau": "rouleau", "rouleaux": "rouleau", "paquet": "paquet",
    "paquets": "paquet", "portion": "portion", "portions": "portion", "oeuf": "oeuf",
    "oeufs": "oeuf", "filet": "filet", "filets": "filet", "canette": "canette",
    "canettes": "canette", "feuille": "feuille", "feuilles": "feuille", "tige": "tige",
    "tiges": "tige", "fleur": "fleur", "fleurs": "fleur", "macaron": "macaron",
    "macarons": "macaron", "bougie": "bougie", "bougies": "bougie", "verre": "verre",
    "verres": "verre", "pieces detachees": "piece", "pile": "pile", "piles": "pile",
    "ampoule": "ampoule", "ampoules": "ampoule", "exemplaire": "exemplaire",
    "exemplaires": "exemplaire", "count": "piece", "ct": "piece", "pack": "pack",
    "packs": "pack", "rose": "rose", "roses": "rose", "tulipe": "tulipe", "tulipes": "tulipe",
}
COLOUR_COMPOUNDS = (
    "bleu marine", "bleu ciel", "bleu roi", "bleu nuit", "bleu canard", "bleu clair",
    "bleu fonce", "bleu electrique", "vert olive", "vert sapin", "vert d'eau", "vert clair",
    "vert fonce", "vert pomme", "gris anthracite", "gris clair", "gris fonce", "rose poudre",
    "rose pale", "rose fuchsia", "jaune moutarde", "rouge bordeaux", "blanc casse", "noir mat",
    "navy blue", "light blue", "dark blue", "sky blue", "light grey", "dark grey",
    "light gray", "dark gray", "off white",
)
COLOURS = {
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
    # English words met on French sites
    "black": "noir", "white": "blanc", "red": "rouge", "blue": "bleu", "navy": "bleu marine",
    "green": "vert", "yellow": "jaune", "pink": "rose", "purple": "violet", "grey": "gris",
    "gray": "gris", "brown": "marron", "gold": "dore", "golden": "dore", "silver": "argent",
    "steel": "acier", "ochre": "ocre", "tortoiseshell": "ecaille", "ivory": "ivoire",
}
_COLOUR_ALIASES = {"navy blue": "bleu marine", "light blue": "bleu clair",
                   "dark blue": "bleu fonce", "sky blue": "bleu ciel", "light grey": "gris clair",
                   "dark grey": "gris fonce", "light gray": "gris clair",
                   "dark gray": "gris fonce", "off white": "blanc casse"}
SCENTS = ("fleur d'oranger", "lavande", "figue", "vanille", "citron", "jasmin", "monoi",
          "verveine", "ambre", "santal", "cannelle", "coco", "menthe", "pamplemousse",
          "patchouli", "bergamote")
FORMATS = {"petit": "petit", "petite": "petit", "petits": "petit", "petites": "petit",
           "moyen": "moyen", "moyenne": "moyen", "moyens": "moyen", "moyennes": "moyen",
           "grand": "grand", "grande": "grand", "grands": "grand", "grandes": "grand",
           "mini": "mini", "maxi": "maxi", "geant": "geant", "geante": "geant"}
CLOTHING = {"xxs": "xxs", "xs": "xs", "s": "s", "m": "m", "l": "l", "xl": "xl", "xxl": "xxl",
            "xxxl": "xxxl", "2xl": "xxl", "3xl": "xxxl", "4xl": "xxxxl", "tu": "tu"}
GRADES = {"vsop": "vsop", "v s o p": "vsop", "xo": "xo", "x o": "xo", "vs": "vs",
          "hors d'age": "horsdage", "hors d age": "horsdage", "napoleon": "napoleon"}

_B = r"(?<![\w'])"  # a word starts: not after a letter, digit or elision apostrophe
_E = r"(?![\w'])"
_SIZE_VALUE = r"(xxs|xs|xxxl|xxl|xl|[2-4]xl|s|m|l|tu|\d{1,2}(?:[.,]5)?)"


def _dec(text: str) -> Decimal:
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the patterns only pass numbers
        return Decimal(0)


def _fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def quantity(number: str, unit: str) -> tuple[str, str] | None:
    """(dimension, canonical value) of a number and its unit: ("size", "750ml")."""
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


class Extraction:
    """Attributes found so far, and the text with each find replaced by a mark."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.found: list[tuple[str, str]] = []
        self.key_tokens: list[tuple[str, ...]] = []

    def take(self, pattern: re.Pattern[str], read: Callable[[re.Match[str]], Found | None]
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

    def attributes(self) -> tuple[tuple[str, str], ...]:
        """The canonical (dimension, value) pairs, several values of one joined with "+"."""
        by_dim: dict[str, list[str]] = {}
        for dim, value in self.found:
            values = by_dim.setdefault(dim, [])
            if value not in values:
                values.append(value)
        return tuple(sorted((dim, "+".join(sorted(values))) for dim, values in by_dim.items()))


_PACK_UNITS = "|".join(sorted([*_MASS, *_VOLUME], key=len, reverse=True))
_X = r"\s*[x×*]\s*"
_P_NUMBER = re.compile(_B + r"(?:n\s*[°o]\.?|numero|calibre)\s*(\d+)" + _E)
_P_MULTIPACK = re.compile(_B + r"(\d+)" + _X + _NUM + r"\s*(" + _PACK_UNITS + r")" + _E)
_P_MULTIPACK_AFTER = re.compile(_B + _NUM + r"\s*(" + _PACK_UNITS + r")" + _X + r"(\d+)" + _E)
_P_DIMENSIONS = re.compile(
    r"\(?" + _B + _NUM + _X + _NUM + r"(?:" + _X + _NUM + r")?\s*(mm|cm|m)?" + _E + r"\)?")
_P_INCH = re.compile(_B + _NUM + r"\s*(?:''|\"|pouces?|inch(?:es)?|-inch|in)" + r"(?![\w'])")
# a unit followed by "/" is a rate ("20 MB/s", "5 km/h", "80 g/m2"), not a quantity
_P_QUANTITY = re.compile(_B + _NUM + r"\s*(" + _UNIT_RE + r")" + _E + r"(?!\s*/)")
# a fraction of a unit ("1/2 kg", "3/4 L") is read whole, or its denominator alone would
# be read as the quantity ("2 kg"); halves, quarters and eighths are exact, other
# fractions are taken out unread
_P_FRACTION = re.compile(_B + r"(\d)\s*/\s*(\d{1,2})\s*(" + _UNIT_RE + r")" + _E)
_P_PERCENT = re.compile(_B + _NUM + r"\s*%(?:\s*(?:de\s+)?(?:cacao|vol\.?|abv|mg))?")
_P_AMOUNT = re.compile(_B + _NUM + r"\s*(?:€|eur|euros)" + _E)
_P_DOZEN = re.compile(_B + r"(?:(\d+|une|deux|trois)\s+|(demi)\s*-?\s*)?douzaines?" + _E)
_P_COUNT = re.compile(_B + r"(\d+)\s*-?\s*(" + "|".join(sorted(COUNT_UNITS, key=len, reverse=True))
                      + r")" + _E)
_P_LOT = re.compile(_B + r"(?:lot|pack|coffret|boite|set|sachet|etui)\s+(?:de|of)\s+(\d+)" + _E
                    + r"|" + _B + r"x\s*(\d+)" + _E + r"|" + _B + r"(\d+)\s*x" + _E
                    + r"|" + _B + r"(?:vendu\s+)?par\s+(\d+)" + _E)
_P_AGE = re.compile(_B + r"(?:affine\s+)?(\d+)\s*(ans|an|mois|years?|yo)"
                    + r"(?:\s+d'(?:age|affinage))?" + _E)
_P_GRADE = re.compile(_B + r"(v\.\s*s\.\s*o\.\s*p\.?|x\.\s*o\.?|"
                      + "|".join(sorted(GRADES, key=len, reverse=True)) + r")" + r"(?![\w'])")
_P_YEAR = re.compile(_B + r"(?:millesime\s*:?\s*)?((?:19|20)\d{2})" + _E)
# a labelled year is a vintage before anything else reads it ("millesime 2019 bouteille
# 0,75 l" is no count of 2019 bottles)
_P_YEAR_LABELLED = re.compile(_B + r"(?:millesime|cuvee|vendange)\s*:?\s*((?:19|20)\d{2})" + _E)
_P_SIZE_LABEL = re.compile(
    _B + r"(?:tailles?|pointure|size|t\.|t(?=\d)|eu|p\.)\s*:?\s*(unique|" + _SIZE_VALUE[1:] + _E)
_P_SIZE_T = re.compile(_B + r"t\s+(xxs|xs|xxxl|xxl|xl|s|m|l)" + _E)
# a lone size letter, unless it is one of a list of codes ("w / b / s / n")
_P_CLOTHING = re.compile(r"(?<![\w'/-])(?<!/\s)(xxs|xs|xxxl|xxl|xl|[2-4]xl|s|m|l)(?![\w'/-])"
                         r"(?!\s/)")
_P_PAPER = re.compile(_B + r"(?:format\s+)?(a[0-6])" + _E)
_P_FORMAT = re.compile(_B + r"(" + "|".join(FORMATS) + r")(?:\s+(?:modele|format))?" + _E)
_P_COLOUR = re.compile(_B + r"(?:(?:couleur|coloris|color|colour|teinte)\s*:?\s*)?("
                       + "|".join(sorted([*COLOUR_COMPOUNDS, *COLOURS], key=len, reverse=True))
                       + r")" + _E)
_P_SCENT = re.compile(_B + r"(?:(?:parfum|senteur)\s*:?\s*)?(" + "|".join(SCENTS) + r")" + _E)
_DOZENS = {"une": 1, "deux": 2, "trois": 3}


def _one(dim: str, value: str, *tokens: str) -> Found:
    return [(dim, value, tokens or (value,))]


def _multipack(count: str, number: str, unit: str) -> Found | None:
    q = quantity(number, unit)
    if not q:
        return None
    return [("count", str(int(count)), (str(int(count)) + "x",)), (q[0], q[1], (q[1],))]


def _dimensions(m: re.Match[str]) -> Found:
    numbers = [_dec(g) for g in m.groups()[:3] if g]
    unit = m.group(4)
    if unit:
        factor = {"mm": 1, "cm": 10, "m": 1000}[unit]
        value = "x".join(_fmt(n * factor) for n in numbers)
        return [("dimensions_mm", value, (value + "mm",))]
    value = "x".join(_fmt(n) for n in numbers)
    return [("dimensions", value, (value,))]


def _dozen(m: re.Match[str]) -> Found:
    if m.group(2):
        n = 6
    else:
        k = m.group(1)
        n = 12 * (int(k) if k and k.isdigit() else _DOZENS.get(k or "une", 1))
    return [("count", str(n), (str(n), "piece"))]


def _count(n: str, unit: str = "piece") -> Found | None:
    value = int(n)
    if value == 0 or value > 10_000:
        return None
    return [("count", str(value), (str(value), unit))]


def _lot(m: re.Match[str]) -> Found | None:
    n = next(g for g in m.groups() if g)
    return _count(n)


def _age(m: re.Match[str]) -> Found:
    unit = "mois" if m.group(2) == "mois" else "ans"
    value = f"{int(m.group(1))}{unit}"
    return [("vintage", value, (value,))]


def _grade(m: re.Match[str]) -> Found:
    raw = re.sub(r"[.\s]", "", m.group(1))
    value = GRADES.get(m.group(1), GRADES.get(raw, raw))
    return [("vintage", value, (value,))]


def _size(value: str) -> Found | None:
    if value == "unique":
        value = "tu"
    v = CLOTHING.get(value, value.replace(",", "."))
    if v[0].isdigit() and float(v) > 60:  # "T65" is a flour, not a size
        return None
    return [("clothing_size", v, ("taille", v))]


def _colour(m: re.Match[str]) -> Found:
    word = m.group(1)
    value = _COLOUR_ALIASES.get(word, COLOURS.get(word, word)).replace("'", " ")
    return [("colour", value, tuple(value.split()))]


def extract(folded: str) -> Extraction:
    """Every attribute of a folded, lower-case text, in a fixed order of patterns (a
    multipack before its quantity, a quantity before a lone size letter)."""
    ex = Extraction(folded)
    ex.take(_P_YEAR_LABELLED, lambda m: _one("vintage", m.group(1)))
    ex.take(_P_NUMBER, lambda m: _one("number", m.group(1), "n" + m.group(1)))
    ex.take(_P_MULTIPACK, lambda m: _multipack(m.group(1), m.group(2), m.group(3)))
    ex.take(_P_MULTIPACK_AFTER, lambda m: _multipack(m.group(3), m.group(1), m.group(2)))
    ex.take(_P_DIMENSIONS, _dimensions)
    ex.take(_P_INCH, lambda m: _one("inch", _fmt(_dec(m.group(1))), _fmt(_dec(m.group(1))) + "in"))

    def qty(m: re.Match[str]) -> Found | None:
        q = quantity(m.group(1), m.group(2))
        return [(q[0], q[1], (q[1],))] if q else None

    def fraction(m: re.Match[str]) -> Found | None:
        if m.group(2) not in ("2", "4", "8"):
            return [("", "", ())]
        q = quantity(_fmt(_dec(m.group(1)) / _dec(m.group(2))), m.group(3))
        return [(q[0], q[1], (q[1],))] if q else None

    ex.take(_P_FRACTION, fraction)
    ex.take(_P_QUANTITY, qty)
    ex.take(_P_PERCENT, lambda m: _one("percent", _fmt(_dec(m.group(1))),
                                       _fmt(_dec(m.group(1))) + "pct"))
    ex.take(_P_AMOUNT, lambda m: _one("amount", _fmt(_dec(m.group(1))),
                                      _fmt(_dec(m.group(1))) + "eur"))
    ex.take(_P_DOZEN, _dozen)
    def count(m: re.Match[str]) -> Found | None:
        unit = COUNT_UNITS[m.group(2)]
        if unit == "bouteille" and re.fullmatch(r"(?:19|20)\d{2}", m.group(1)):
            return [("vintage", m.group(1), (m.group(1),)), ("", "", (unit,))]
        return _count(m.group(1), unit)

    ex.take(_P_COUNT, count)
    ex.take(_P_LOT, _lot)
    ex.take(_P_AGE, _age)
    ex.take(_P_GRADE, _grade)
    ex.take(_P_YEAR, lambda m: _one("vintage", m.group(1)))
    ex.take(_P_SIZE_LABEL, lambda m: _size(m.group(1)))
    ex.take(_P_SIZE_T, lambda m: _size(m.group(1)))
    ex.take(_P_CLOTHING, lambda m: _size(m.group(1)))
    ex.take(_P_PAPER, lambda m: _one("format", m.group(1)))
    ex.take(_P_FORMAT, lambda m: _one("format", FORMATS[m.group(1)]))
    ex.take(_P_COLOUR, _colour)
    ex.take(_P_SCENT, lambda m: _one("scent", m.group(1).replace("'", " "),
                                     *m.group(1).replace("'", " ").split()))
    return ex


def prepare(text: str) -> str:
    """The form the patterns read: folded, lower case, degree signs kept, typographic
    multiplication signs and quotes made plain."""
    folded = fold(text).lower().replace("\u00b0", "°").replace("\u2033", "''")
    return folded.replace("\u00d7", "x")


@lru_cache(maxsize=200_000)
def read_attributes(text: str | None) -> tuple[tuple[str, str], ...]:
    """The canonical attributes of a title."""
    if not text:
        return ()
    return extract(prepare(text)).attributes()


_LABELLED = re.compile(
    r"(?:couleur|coloris|color|colour|taille|size|pointure|contenance|poids|volume|"
    r"millesime|dimensions?|format|parfum|senteur)\s*:\s*([^,;|\n.]{1,40})")


@lru_cache(maxsize=50_000)
def labelled_attributes(description: str | None) -> tuple[tuple[str, str], ...]:
    """Attributes a description states with a label ("Couleur : noir", "Taille : M",
    "Contenance : 75 cl"); the rest of a description is too loose to read safely."""
    if not description:
        return ()
    text = prepare(description)
    pieces = [m.group(0).replace(":", " ") for m in _LABELLED.finditer(text)]
    if not pieces:
        return ()
    return extract(" ; ".join(pieces)).attributes()
