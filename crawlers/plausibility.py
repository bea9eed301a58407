"""Values that look wrong for their field: what ``agora sources test --sample`` flags.

A selector can find *something* and still read the wrong thing: the shop's
name where its price was meant, a SIRET in the postcode, the platform's
switchboard instead of the shop's phone, a link to an ad network. ``flags``
checks one listing's fields against what a field of that name can hold (the
listing contract, French local commerce) and says, per field, why a value
looks wrong. It judges nothing else: an empty field is a fill rate, not a flag.

- ``price``: has no digit (price-parser finds no amount);
- ``postcode``: not a French postcode (5 digits of a department: 01-95, 20 for
  Corsica, 97/98 overseas);
- ``phone``: ``phonenumbers`` does not take it for a valid number (French by
  default region);
- ``url``: not on the platform's hosts (``crawlers.hosts``);
- ``website``, ``image_url``: not an http(s) URL; ``email``: no ``name@domain``;
- ``lat``/``lon``: outside the world's range; ``gtin``: a bad check digit.

Example:
    >>> flags({"kind": "product", "price": "sur demande", "url": "https://ads.example/x"},
    ...       hosts=None)
    [('price', 'no digit in the price')]
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from price_parser import Price

from crawlers.hosts import PlatformHosts

_POSTCODE = re.compile(r"(?:0[1-9]|[1-8]\d|9[0-5])\d{3}|9[78][0-9]\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _price(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None
    text = str(value)
    if not re.search(r"\d", text) or Price.fromstring(text).amount is None:
        return "no digit in the price"
    return None


def _postcode(value: Any) -> str | None:
    text = str(value).replace(" ", "")
    if not re.fullmatch(r"\d{5}", text) or not _POSTCODE.fullmatch(text):
        return f"{str(value)[:20]!r} is not a French postcode"
    return None


def _phone(value: Any) -> str | None:
    try:
        number = phonenumbers.parse(str(value), "FR")
    except phonenumbers.NumberParseException:
        return "not a phone number"
    if not phonenumbers.is_valid_number(number):
        return "not a valid phone number"
    return None


def _web(value: Any) -> str | None:
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "not an http(s) URL"
    return None


def _email(value: Any) -> str | None:
    return None if _EMAIL.fullmatch(str(value)) else "not an e-mail address"


def _range(low: float, high: float) -> Any:
    def check(value: Any) -> str | None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return "not a number"
        return None if low <= number <= high else f"outside {low:g}..{high:g}"
    return check


def _gtin(value: Any) -> str | None:
    digits = str(value).strip()
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        return "not 8, 12, 13 or 14 digits"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(reversed(digits[:-1]), 1))
    return None if (10 - total % 10) % 10 == int(digits[-1]) else "bad check digit"


CHECKS = {"price": _price, "postcode": _postcode, "phone": _phone, "website": _web,
          "image_url": _web, "email": _email, "lat": _range(-90, 90), "lon": _range(-180, 180),
          "gtin": _gtin}


def flags(listing: dict[str, Any], hosts: PlatformHosts | None) -> list[tuple[str, str]]:
    """(field, why) for each value of ``listing`` that looks wrong for its field; the
    ``url`` is checked against ``hosts`` (the platform's) when given."""
    out = []
    for name, value in listing.items():
        if value in (None, "", []):
            continue
        if name == "url":
            problem = _web(value) or (None if hosts is None or hosts.allows(str(value))
                                      else f"on another host ({urlsplit(str(value)).netloc})")
        elif name in CHECKS:
            problem = CHECKS[name](value)
        else:
            continue
        if problem:
            out.append((name, problem))
    return out
