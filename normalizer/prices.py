"""Prices to integer cents and a currency, with ``price-parser`` and guards for French formats.

``price-parser`` finds the amount and the currency in free text, but misreads
some French writings: ",89 €" comes out as 89, "3,350" and "3.350" as 3350. The
amount is therefore read a second time by a strict French-aware reader (comma
or dot for decimals, space, narrow no-break space, no-break space, dot or
apostrophe between thousands, "12€90"), and when the two readings disagree the
strict one is kept and the listing flagged "price_misread_guarded". A single
separator followed by exactly three digits ("3.350") is read as decimals, as
price-parser's reading of it as thousands is the known misread; it is flagged
too. "Gratuit", "offert", "free" are 0. Numbers are taken as euros (12.9 ->
1290 cents).

Example:
    >>> normalize_price("1\u202f250,00 €")
    (125000, 'EUR', None)
    >>> normalize_price(",89 €")
    (89, 'EUR', 'price_misread_guarded')
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from price_parser import Price

from normalizer.text import fold

MAX_CENTS = 100_000_000  # one million euros: beyond, a local shop's price is a slip
CURRENCY_CODES = {
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "e": "EUR",
    "$": "USD", "usd": "USD", "us$": "USD", "£": "GBP", "gbp": "GBP", "chf": "CHF",
    "fr": "CHF", "cad": "CAD", "ca$": "CAD", "c$": "CAD", "¥": "JPY", "jpy": "JPY",
}
_FREE = re.compile(r"\b(gratuit|gratuite|offert|offerte|free)\b", re.I)
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " "})
# A number as written: optional sign, digits with group separators, or a bare ",89".
_NUMBER = re.compile(r"(?<![\d.,])([-−]\s*)?(\d[\d .,']*\d|\d|[.,]\d+)")
_EURO_CENTS = re.compile(r"(?<![\d.,])(\d{1,7})\s*€\s*(\d{2})(?!\d)")
_THOUSANDS = re.compile(r"^\d{1,3}(?:([ .,'])\d{3})(?:\1\d{3})*$")


def currency_code(text: str | None) -> str | None:
    """ISO 4217 code of a currency as written ("€", "euros", "EUR"), or None if unknown."""
    if not text:
        return None
    t = fold(text).strip().lower().rstrip(".")
    if len(t) == 3 and t.isalpha():
        return t.upper()
    return CURRENCY_CODES.get(t)


def _to_cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def strict_amount(text: str) -> tuple[Decimal | None, bool, bool]:
    """(amount, ambiguous, negative) read the French way from the first number in text."""
    text = text.translate(_SPACES)
    m = _EURO_CENTS.search(text)
    if m:
        return Decimal(f"{m.group(1)}.{m.group(2)}"), False, False
    m = _NUMBER.search(text)
    if not m:
        return None, False, False
    negative = bool(m.group(1))
    token = m.group(2).strip()
    # spaces only between digit groups of three; a lone space ends the number
    token = re.sub(r" (?=\d{3}(?!\d))", "", token)
    token = token.split(" ")[0].replace("'", "")
    ambiguous = False
    if token[0] in ".,":
        token = "0" + token
    dots, commas = token.count("."), token.count(",")
    if dots and commas:
        decimal_sep = "." if token.rfind(".") > token.rfind(",") else ","
        thousands = "," if decimal_sep == "." else "."
        token = token.replace(thousands, "").replace(decimal_sep, ".")
    elif dots + commas > 1:
        sep = "." if dots else ","
        if _THOUSANDS.match(token):
            token = token.replace(sep, "")
        else:
            return None, True, negative
    elif dots + commas == 1:
        sep = "." if dots else ","
        head, _, tail = token.partition(sep)
        if len(tail) == 3:
            ambiguous = True  # "3.350": decimals or thousands? read as decimals, flagged
        token = f"{head}.{tail}"
    try:
        return Decimal(token), ambiguous, negative
    except InvalidOperation:
        return None, False, negative


@lru_cache(maxsize=100_000)
def _parse_text(text: str) -> tuple[int | None, str | None, str | None]:
    if _FREE.search(text) and not re.search(r"[1-9]", text):
        return 0, currency_code("€") if "€" in text else None, None
    parsed = Price.fromstring(text)
    currency = currency_code(parsed.currency) if parsed.currency else None
    amount, ambiguous, negative = strict_amount(text)
    if amount is None:
        return None, currency, "invalid_price"
    if negative:
        return None, currency, "invalid_price"
    cents = _to_cents(amount)
    if cents > MAX_CENTS:
        return None, currency, "invalid_price"
    problem = None
    if ambiguous or parsed.amount is None or _to_cents(parsed.amount) != cents:
        problem = "price_misread_guarded"
    return cents, currency, problem


def normalize_price(raw: str | float | int | None, currency: str | None = None,
                    default_currency: str = "EUR") -> tuple[int | None, str | None,
                                                            str | None]:
    """(cents, ISO currency, problem code) of a price field and an optional currency field.

    Problem codes: "invalid_price" (no amount, negative, absurd; cents None),
    "price_misread_guarded" (price-parser read it otherwise; the strict reading is
    kept), "invalid_currency" (the currency field is not a currency; default used).
    """
    explicit = currency_code(currency) if currency else None
    problem = None
    if currency and explicit is None:
        problem = "invalid_currency"
    if raw is None or raw == "":
        return None, None, problem
    if isinstance(raw, bool):
        return None, None, "invalid_price"
    if isinstance(raw, int | float):
        if not math.isfinite(raw) or raw < 0 or raw * 100 > MAX_CENTS:
            return None, explicit or default_currency, "invalid_price"
        return _to_cents(Decimal(repr(raw))), explicit or default_currency, problem
    cents, found, text_problem = _parse_text(str(raw))
    return cents, explicit or found or default_currency, text_problem or problem
