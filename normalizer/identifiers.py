"""Company and product identifiers checked by their check digits: SIRET, SIREN, GTIN.

SIREN (9 digits) and SIRET (14 digits: SIREN + establishment number) end with a
Luhn check digit, except La Poste's establishments (SIREN 356000000), whose
SIRETs are valid when the sum of their digits is a multiple of 5. GTINs
(EAN-8, UPC-A, EAN-13, GTIN-14, and ISBN-10 converted to its EAN-13) end with
the GS1 mod-10 check digit and are returned as 13 digits (zero-padded); a
GTIN-14 whose packaging indicator is not 0 keeps its 14 digits.

Example:
    >>> normalize_siret("732 829 320 00074")
    ('73282932000074', '732829320', None)
    >>> normalize_gtin("3017620422003"), normalize_gtin("3017620422004")[1]
    (('3017620422003', None), 'invalid_gtin')
"""

from __future__ import annotations

import re
from functools import lru_cache

LA_POSTE_SIREN = "356000000"
_SEPARATORS = re.compile(r"[\s.\-_/]")
_LABEL = re.compile(r"^\s*(?:n[°o]\s*)?(?:siret|siren|ean|gtin|isbn|upc)\s*[:n°]*\s*", re.I)


def luhn_ok(digits: str) -> bool:
    """True when a digit string passes the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def siren_ok(siren: str) -> bool:
    """A 9-digit SIREN with a valid check digit."""
    return len(siren) == 9 and siren.isdigit() and luhn_ok(siren)


def siret_ok(siret: str) -> bool:
    """A 14-digit SIRET with a valid check digit (La Poste: digit sum multiple of 5)."""
    if len(siret) != 14 or not siret.isdigit():
        return False
    if siret.startswith(LA_POSTE_SIREN):
        return luhn_ok(siret) or sum(map(int, siret)) % 5 == 0
    return luhn_ok(siret)


def _digits(raw: str) -> str:
    text = _LABEL.sub("", str(raw))
    if text.endswith(".0"):
        text = text[:-2]
    return _SEPARATORS.sub("", text)


@lru_cache(maxsize=100_000)
def normalize_siret(raw: str | None) -> tuple[str | None, str | None, str | None]:
    """(SIRET, SIREN, problem code) of a SIRET field; a field holding a SIREN gives only it.

    Problem codes: "bad_siret_checksum", "bad_siren_checksum", "invalid_siret"
    (not 9 or 14 digits). A SIRET failing its check gives no SIREN either: the
    typo may be in the SIREN part.
    """
    if raw is None or not str(raw).strip():
        return None, None, None
    digits = _digits(raw)
    if not digits.isdigit():
        return None, None, "invalid_siret"
    if len(digits) == 14:
        if siret_ok(digits):
            return digits, digits[:9], None
        return None, None, "bad_siret_checksum"
    if len(digits) == 9:
        if siren_ok(digits):
            return None, digits, None
        return None, None, "bad_siren_checksum"
    return None, None, "invalid_siret"


def gtin_check_digit(body: str) -> str:
    """The GS1 check digit of a GTIN body (every length): weights 3,1,3... from the right."""
    total = sum((ord(c) - 48) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def gtin_ok(digits: str) -> bool:
    """True for an 8, 12, 13 or 14 digit GTIN with a valid check digit."""
    return (len(digits) in (8, 12, 13, 14) and digits.isdigit()
            and gtin_check_digit(digits[:-1]) == digits[-1])


def _isbn10_to_ean(text: str) -> str | None:
    if len(text) != 10 or not text[:9].isdigit() or not (text[9].isdigit() or text[9] in "xX"):
        return None
    total = sum((10 - i) * int(c) for i, c in enumerate(text[:9]))
    total += 10 if text[9] in "xX" else int(text[9])
    if total % 11:
        return None
    body = "978" + text[:9]
    return body + gtin_check_digit(body)


@lru_cache(maxsize=100_000)
def normalize_gtin(raw: str | None) -> tuple[str | None, str | None]:
    """(GTIN as 13 digits, problem code "invalid_gtin") of a GTIN/EAN/UPC/ISBN field."""
    if raw is None or not str(raw).strip():
        return None, None
    digits = _digits(raw)
    if len(digits) == 10:
        ean = _isbn10_to_ean(digits)
        return (ean, None) if ean else (None, "invalid_gtin")
    if not digits.isdigit() or not gtin_ok(digits) or not digits.strip("0"):
        return None, "invalid_gtin"
    if len(digits) == 14:
        return (digits[1:], None) if digits[0] == "0" else (digits, None)
    return digits.zfill(13), None
