"""Phone numbers to E.164 with ``phonenumbers``, and what kind of line they are.

Accepts the forms met on the sites ("05 61 22 33 44", "05.61.22.33.44",
"+33 (0)5 61 22 33 44", "0033561223344", "Tél : 0561223344", a leading zero
lost in a spreadsheet "561223344"); when a field holds two numbers ("05 61 22 33
44 / 06 12 34 56 78") the first valid one is kept. French overseas numbers are
tried against their own regions ("0692..." is a Réunion mobile, +262). A number
of the right length in a block the metadata does not list is kept but flagged
"unverified_phone". Parsing is slow, so results are cached per raw
string.

Example:
    >>> normalize_phone("+33 (0)5 61 22 33 44")
    ('+33561223344', 'fixed', None)
    >>> normalize_phone("05 61 22 33")
    (None, None, 'invalid_phone')
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

_KINDS = {
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed",
}
# Overseas departments share France's +33 plan in national form but have their own
# phonenumbers regions (0590 Guadeloupe, 0262 La Réunion...).
_OVERSEAS = ("GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF")
_FR_PREFIX_KINDS = {"1": "fixed", "2": "fixed", "3": "fixed", "4": "fixed", "5": "fixed",
                    "6": "mobile", "7": "mobile"}
# Fast path: a French number written in one of the usual ways is checked against the
# library's own fixed-line and mobile patterns without a full parse.
_FR_META = phonenumbers.PhoneMetadata.metadata_for_region("FR")
if _FR_META is None:  # pragma: no cover - the library ships France's metadata
    raise ImportError("phonenumbers has no metadata for FR")
_FR_TYPES = tuple((re.compile(desc.national_number_pattern), kind) for desc, kind in (
    (_FR_META.fixed_line, "fixed"), (_FR_META.mobile, "mobile"))
    if desc is not None and desc.national_number_pattern)
_FR_SHAPE = re.compile(r"^(?:(?:\+33|0033)0?|0)?([1-9]\d{8})$")
_FR_NOISE = re.compile(r"[\s.\-()]")
_SPLIT = re.compile(r"\s*(?:/|;|\||,|\bou\b|\bor\b|\n)\s*", re.I)
_LABEL = re.compile(r"^\D*?(?=[+(\d])")


def _parse(text: str, region: str) -> tuple[str, str, str | None] | None:
    """(E.164, kind, problem) of one candidate, or None when it is not a number at all."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        kind = _KINDS.get(phonenumbers.number_type(number), "other")
        return phonenumbers.format_number(number, PhoneNumberFormat.E164), kind, None
    if region == "FR" and number.country_code == 33:
        # "+33 6 94..." and "06 94..." are both a Guyane mobile (+594): read them alike
        national = "0" + str(number.national_number)
        for overseas in _OVERSEAS:
            try:
                other = phonenumbers.parse(national, overseas)
            except NumberParseException:
                break
            if phonenumbers.is_valid_number(other):
                kind = _KINDS.get(phonenumbers.number_type(other), "other")
                return phonenumbers.format_number(other, PhoneNumberFormat.E164), kind, None
    if (phonenumbers.is_possible_number(number)
            and phonenumbers.region_code_for_number(number) == region):
        # Right length for the country, in a block the metadata does not know (yet):
        # kept, as new blocks are allocated before libraries learn them, but flagged.
        national = str(number.national_number)
        if region == "FR" and len(national) != 9:
            return None
        kind = _FR_PREFIX_KINDS.get(national[:1], "other") if region == "FR" else "other"
        return (phonenumbers.format_number(number, PhoneNumberFormat.E164), kind,
                "unverified_phone")
    return None


@lru_cache(maxsize=200_000)
def normalize_phone(raw: str | None, region: str = "FR") -> tuple[str | None, str | None,
                                                                  str | None]:
    """(E.164, "fixed" | "mobile" | "other", problem code) of a phone field.

    Problem codes: "invalid_phone" (no number; E.164 None), "unverified_phone" (a
    number of the right length in a range ``phonenumbers`` does not know; kept).
    """
    if raw is None:
        return None, None, None
    text = str(raw).strip()
    if not text:
        return None, None, None
    text = _LABEL.sub("", text, count=1)
    if region == "FR":
        shape = _FR_SHAPE.match(_FR_NOISE.sub("", text))
        if shape:
            nsn = shape.group(1)
            for pattern, kind in _FR_TYPES:
                if pattern.fullmatch(nsn):
                    return "+33" + nsn, kind, None
    candidates = [text]
    parts = [p for p in _SPLIT.split(text) if sum(c.isdigit() for c in p) >= 6]
    if len(parts) > 1:
        candidates = parts
    unverified = None
    for candidate in candidates:
        found = _parse(candidate, region)
        if found and found[2] is None:
            return found
        unverified = unverified or found
    if unverified:
        return unverified
    return None, None, "invalid_phone"
