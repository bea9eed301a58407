"""Product titles, brands and availability.

A title gets a display form (case fixed when shouted), a matching form, its core
words and its attributes: what tells apart two products of one family, as
canonical ``(dimension, value)`` pairs read by ``normalizer.attributes`` (sizes,
colours, quantities, counts, dimensions, vintages; French and English), so that
the matcher keeps them apart and recognises the same one written two ways
("75 cl" == "0,75 L" == "750ml", "taille M" == "T. M" == "size M").

The matching form is folded, lower case, without French articles and
prepositions, with attributes written canonically ("750ml"); the core words are
the title's words without those its attributes were read from.

Example:
    >>> t = normalize_title("Huile d'olive vierge extra Moulin de Villevieille 0,75 L")
    >>> t.key, t.variant
    ('huile olive vierge extra moulin villevieille 750ml', (('size', '750ml'),))
    >>> t.core
    ('huile', 'olive', 'vierge', 'extra', 'moulin', 'villevieille')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from normalizer.attributes import extract, prepare
from normalizer.encoding import repair_mojibake
from normalizer.names import name_key
from normalizer.text import fix_case, fold, needs_case_fix, plain

TITLE_STOP_WORDS = frozenset(
    "le la les l de du des d un une a au aux en et pour avec sur par".split())
_KEEP_UPPER = frozenset({"AOP", "AOC", "IGP", "VSOP", "XO", "USB", "LED", "XS", "S", "M", "L",
                         "XL", "XXL", "XXXL", "LP", "CD", "DVD", "BD", "HD", "TV", "PC", "GPS"})

_WORDS_AND_MARKS = re.compile(r"[a-z0-9]+|[\ue000-\uf8ff]")


@dataclass(frozen=True)
class Title:
    """A title's display form, matching form, its tokens, its attributes and core words."""

    display: str | None
    key: str | None
    tokens: tuple[str, ...]
    variant: tuple[tuple[str, str], ...]
    core: tuple[str, ...] = ()


@lru_cache(maxsize=200_000)
def normalize_title(raw: str | None) -> Title:
    """Display form, matching form, tokens and variant of a product title."""
    if not raw:
        return Title(None, None, (), ())
    text = plain(repair_mojibake(raw)).strip(" -–—,;:")
    if not text:
        return Title(None, None, (), ())
    display = fix_case(text, _KEEP_UPPER) if needs_case_fix(text) and len(text) > 4 else text
    ex = extract(prepare(text))
    tokens: list[str] = []
    core: list[str] = []
    for item in _WORDS_AND_MARKS.findall(ex.text):
        if len(item) == 1 and "\ue000" <= item <= "\uf8ff":
            tokens.extend(ex.key_tokens[ord(item) - 0xE000])
        elif item not in TITLE_STOP_WORDS:
            tokens.append(item)
            core.append(item)
    key = " ".join(tokens) or None
    return Title(display, key, tuple(tokens), ex.attributes(), tuple(core))


@lru_cache(maxsize=50_000)
def normalize_brand(raw: str | None) -> tuple[str | None, str | None]:
    """(display, matching form) of a brand: "Château de Laubade" -> "chateau laubade"."""
    if not raw:
        return None, None
    text = plain(repair_mojibake(raw)).strip(" -–—,;:")
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
