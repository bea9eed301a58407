"""French postal addresses: street number, street, postcode, commune, matching keys.

The street line is split into a number ("12"), a suffix ("bis", "ter", "quater"
from "12 bis", "12bis", "12B") and the street, whose type is expanded ("r." ->
"rue", "Bd" -> "boulevard", "all." -> "allée"). Building or market-hall names,
"BP"/"CS" boxes and a trailing "31000 Toulouse" are taken out. The commune loses
its CEDEX mention (remembered in ``cedex``), a postcode written in it ("31670
Labège") and, in the key, an arrondissement ("Lyon 3e", "Paris 15e
Arrondissement").

Matching keys are folded, lower case, without articles (de, du, des, la, le,
l', d'), with street types in one singular spelling and "st"/"ste" read as
"saint"/"sainte": "12 bis r. de Metz" and "12B RUE DE METZ" both give the
``address_key`` "12bis rue metz|31000".

Example:
    >>> a = normalize_address("12B, Bd de Strasbourg", None, "31000 TOULOUSE CEDEX 6")
    >>> a.street_number, a.street_suffix, a.street, a.postcode, a.city, a.cedex
    ('12', 'bis', 'boulevard de Strasbourg', '31000', 'Toulouse', True)
    >>> a.address_key
    '12bis boulevard strasbourg|31000'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from normalizer.abbreviations import SAINTS, STREET_NAME_ABBREVIATIONS, STREET_TYPES
from normalizer.text import fix_case, fold, needs_case_fix, plain, words

# Street types: every spelling (folded, lower case, no dot) -> (display, key).
_TYPES: dict[str, tuple[str, str]] = {
    spelling: (display, key) for display, key, spellings in STREET_TYPES for spelling in spellings}

# Abbreviations inside a street name, expanded in the key (the table the search shares).
_NAME_ABBREV: dict[str, str] = STREET_NAME_ABBREVIATIONS
# Articles and contractions dropped from street and address keys.
_STREET_STOP = frozenset("de du des la le les l d au aux".split())

_NUMBER = re.compile(
    r"^(?:n[°o]\s*)?(\d{1,5})(?:\s*[-/]\s*\d{1,5}(?!\d))?\s*"
    r"(bis|ter|quater|quinquies|[abcdtq])?(?!\w)\.?[\s,]*(.*)$", re.I)
_SUFFIX_LETTERS = {"b": "bis", "t": "ter", "q": "quater"}
_BOX = re.compile(r"\b(?:BP|B\.P\.|CS|TSA|CP)\s*\d+\b", re.I)
_TAIL = re.compile(r"(?:^|[,\s]+)(\d{5})(?:\s+([^\d,]+?))?\s*$")
_SAINT = re.compile(r"\b(St|ST|Ste|STE)(?=[- ])")
_CEDEX = re.compile(r"\bcedex\b(?:\s*\d{1,3})?", re.I)
_ARROND = re.compile(
    r"[\s-]+(\d{1,2})\s*(?:e|er|ere|eme|ème|è|°)?\s*(?:arr(?:ondissement|\.|t)?)?\.?\s*$", re.I)
_ARROND_MARK = re.compile(r"\d\s*(?:e|er|ere|eme|ème|è|°)?\s*arr|\d\s*(?:e|er|eme|ème|è)\s*$",
                          re.I)
_SAINT_WORDS = {k: SAINTS[k] for k in ("st", "ste")}
_ARROND_CITIES = frozenset({"paris", "lyon", "marseille"})
_POSTCODE_IN_TEXT = re.compile(r"(?<!\d)(\d{5})(?!\d)")
_DEPT_IN_PARENS = re.compile(r"\(\s*\d{2,3}\s*\)")
_EMPTY_PARENS = re.compile(r"\(\s*\)")
_VALID_POSTCODE = re.compile(r"^(?:0[1-9]|[1-8]\d|9[0-5]|97|98)\d{3}$")


@dataclass(frozen=True)
class Address:
    """The parts of a French address, their matching keys, and what was wrong."""

    street_number: str | None
    street_suffix: str | None
    street: str | None
    street_key: str | None
    postcode: str | None
    city: str | None
    city_key: str | None
    cedex: bool
    department: str | None
    address_key: str | None  # "12bis rue metz|31000"; None without street or postcode
    problems: tuple[tuple[str, str, str], ...] = ()  # (field, code, raw value)


def department_of(postcode: str | None) -> str | None:
    """'31000' -> '31'; overseas '97400' -> '974'; Corsica '20000' -> '2A', '20200' -> '2B'."""
    if not postcode or len(postcode) != 5:
        return None
    if postcode.startswith(("97", "98")):
        return postcode[:3]
    if postcode.startswith("20"):
        return "2A" if postcode < "20200" else "2B"
    return postcode[:2]


def normalize_postcode(raw: str | None) -> tuple[str | None, bool, str | None]:
    """(5-digit postcode, CEDEX mentioned, problem code) from a postcode field."""
    if not raw:
        return None, False, None
    text = str(raw).strip()
    cedex = bool(_CEDEX.search(text))
    text = _CEDEX.sub("", text)
    if text.endswith(".0"):
        text = text[:-2]
    text = re.sub(r"^(?:F|FR)\s*-\s*", "", text.strip(), flags=re.I)
    digits = re.sub(r"[\s.]", "", text)
    if digits.isdigit() and len(digits) == 4:
        digits = "0" + digits  # a spreadsheet dropped the leading zero (Ariège 09000)
    if len(digits) == 5 and digits.isdigit() and _VALID_POSTCODE.match(digits):
        return digits, cedex, None
    found = _POSTCODE_IN_TEXT.search(text)
    if found and _VALID_POSTCODE.match(found.group(1)):
        return found.group(1), cedex, None
    return None, cedex, "invalid_postcode"


@lru_cache(maxsize=50_000)
def parse_city(raw: str) -> tuple[str | None, str | None, str | None, bool]:
    """(display, key, postcode found in it, CEDEX) of a commune field."""
    text = plain(raw)
    cedex = bool(_CEDEX.search(text))
    text = _CEDEX.sub(" ", text)
    postcode = None
    found = _POSTCODE_IN_TEXT.search(text)
    if found and _VALID_POSTCODE.match(found.group(1)):
        postcode = found.group(1)
        text = text[:found.start()] + " " + text[found.end():]
    text = _EMPTY_PARENS.sub(" ", _DEPT_IN_PARENS.sub(" ", text))
    text = " ".join(text.split()).strip(" ,;-/")
    if not text:
        return None, None, postcode, cedex
    display = fix_case(text) if needs_case_fix(text) else text
    base = text
    m = _ARROND.search(text)
    if m:
        head = text[:m.start()]
        if _ARROND_MARK.search(text[m.start():]) or fold(head).lower().strip() in _ARROND_CITIES:
            base = head
    tokens = [_SAINT_WORDS.get(w, w) for w in words(base)]
    key = " ".join(tokens) or None
    return display, key, postcode, cedex


def _street_type(word: str) -> tuple[str, str] | None:
    return _TYPES.get(fold(word).lower().rstrip("."))


def _segment_score(segment: str) -> int:
    m = _NUMBER.match(segment)
    if m and m.group(3):
        rest = m.group(3)
        return 3 if rest and _street_type(rest.split(" ", 1)[0]) else 2
    first = segment.split(" ", 1)[0] if segment else ""
    return 1 if first and _street_type(first) and " " in segment else 0


def _split_segments(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",")]
    out: list[str] = []
    for part in parts:
        if not part:
            continue
        if out and (number := _NUMBER.match(out[-1])) and not number.group(3):
            out[-1] = out[-1] + " " + part  # "12B, Bd de Strasbourg": the number stands alone
        else:
            out.append(part)
    return out


def _display_street(rest: str) -> str:
    text = fix_case(rest) if needs_case_fix(rest) else rest
    first, _, tail = text.partition(" ")
    typ = _street_type(first)
    if typ and tail:
        word = fold(first).lower()
        shown = first.lower() if word in (fold(typ[0]), "allees", "allee") else typ[0]
        text = f"{shown} {tail}"
    return _SAINT.sub(lambda m: "Sainte" if m.group(1).lower() == "ste" else "Saint", text)


def street_key(rest: str) -> str | None:
    """Matching form of a street (no number): 'Bd de Strasbourg' -> 'boulevard strasbourg'."""
    tokens = words(rest)
    if not tokens:
        return None
    out: list[str] = []
    typ = _TYPES.get(tokens[0]) if len(tokens) > 1 else None
    if typ:
        out.append(typ[1])
        tokens = tokens[1:]
    for w in tokens:
        if w in _STREET_STOP:
            continue
        out.append(_NAME_ABBREV.get(w, w))
    return " ".join(out) or None


@lru_cache(maxsize=100_000)
def parse_street(raw: str) -> tuple[str | None, str | None, str | None, str | None,
                                    str | None, str | None]:
    """(number, suffix, street display, street key, postcode, city) of a street line.

    The postcode and city are those of a trailing "31000 Toulouse", if written.
    """
    text = _BOX.sub(" ", plain(raw))
    postcode = city = None
    tail = _TAIL.search(text)
    if tail and _VALID_POSTCODE.match(tail.group(1)) and tail.start() > 0:
        postcode, city = tail.group(1), (tail.group(2) or None)
        text = text[:tail.start()]
    segments = _split_segments(text)
    if not segments:
        return None, None, None, None, postcode, city
    best = max(segments, key=_segment_score)  # max keeps the first of equal scores
    number = suffix = None
    rest = best
    m = _NUMBER.match(best)
    if m and m.group(3):
        number = str(int(m.group(1)))
        if m.group(2):
            s = m.group(2).lower()
            suffix = _SUFFIX_LETTERS.get(s, s)
        rest = m.group(3)
    rest = rest.strip(" ,.-")
    if not rest:
        return number, suffix, None, None, postcode, city
    return number, suffix, _display_street(rest), street_key(rest), postcode, city


def normalize_address(address: str | None, postcode: str | None,
                      city: str | None) -> Address:
    """Street number, suffix, street, postcode, commune and keys from the three fields.

    Args:
        address: the street line as published ("12 bis r. de Metz").
        postcode: the postcode field ("31000", "31 000", "9000").
        city: the commune field ("TOULOUSE CEDEX 6", "31670 Labège").

    Returns:
        An ``Address``; ``problems`` lists (field, code, raw value) for values that
        could not be used ("invalid_postcode", "conflicting_postcode").
    """
    return _normalize_address(address or None, postcode or None, city or None)


@lru_cache(maxsize=100_000)
def _normalize_address(address: str | None, postcode: str | None,
                       city: str | None) -> Address:
    problems: list[tuple[str, str, str]] = []
    number = suffix = street = skey = None
    line_postcode = line_city = None
    if address:
        number, suffix, street, skey, line_postcode, line_city = parse_street(address)
    code, cedex, problem = normalize_postcode(postcode)
    if problem:
        problems.append(("postcode", problem, str(postcode)[:200]))
    city_display = city_key = None
    city_postcode = None
    if city:
        city_display, city_key, city_postcode, city_cedex = parse_city(city)
        cedex = cedex or city_cedex
    elif line_city:
        city_display, city_key, _, city_cedex = parse_city(line_city)
        cedex = cedex or city_cedex
    extra = city_postcode or line_postcode
    if code is None:
        code = extra
    elif extra and extra != code:
        problems.append(("postcode", "conflicting_postcode", f"{postcode} / {extra}"))
    address_key = None
    if skey and code:
        head = f"{number}{suffix or ''} " if number else ""
        address_key = f"{head}{skey}|{code}"
    return Address(number, suffix, street, skey, code, city_display, city_key, cedex,
                   department_of(code), address_key, tuple(problems))
