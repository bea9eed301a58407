"""The listing contract every crawler yields, and its validation.

A listing is a plain dict (JSON-able) with the fields of ARCHITECTURE.md:
strings as the platform shows them, ``None`` or absent when missing. Anything
scraped is untrusted: ``validate_listing`` keeps only contract fields, checks
types, strips control characters and bounds every length, and raises
``InvalidListing`` (with the reason) for a record that cannot be a listing.
``PageResult`` is what a crawler produces per page: its listings, its errors,
and what a resumed run needs.

Example:
    >>> validate_listing({"kind": "shop", "source": "x", "source_id": 7, "name": " A "})
    {'kind': 'shop', 'source': 'x', 'source_id': '7', 'name': 'A'}
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from crawlers.errors import InvalidListing, PageError

KINDS = ("shop", "product")
COMMON_FIELDS = ("kind", "source", "source_id", "url")
SHOP_FIELDS = ("name", "address", "postcode", "city", "phone", "email", "website", "siret",
               "lat", "lon", "categories", "services", "opening_hours", "description")
PRODUCT_FIELDS = ("title", "brand", "gtin", "price", "currency", "availability", "category",
                  "description", "image_url", "shop_source_id")
FIELDS = {"shop": COMMON_FIELDS + SHOP_FIELDS, "product": COMMON_FIELDS + PRODUCT_FIELDS}
LIST_FIELDS = ("categories", "services")
NUMBER_FIELDS = ("lat", "lon")
PRICE_FIELDS = ("price",)

MAX_TEXT = 500
MAX_LONG_TEXT = 5000
MAX_URL = 2048
MAX_LIST = 50
LONG_FIELDS = ("description", "opening_hours")
URL_FIELDS = ("url", "website", "image_url")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


def _clean_text(value: Any, limit: int, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidListing(f"field {name!r} should be text, got {type(value).__name__}")
    text = _SPACES.sub(" ", _CONTROL.sub("", str(value))).strip()
    if not text:
        return None
    return text[:limit]


def validate_listing(raw: dict[str, Any]) -> dict[str, Any]:
    """A clean copy of ``raw`` if it is a listing in the contract, else InvalidListing."""
    if not isinstance(raw, dict):
        raise InvalidListing(f"a listing must be an object, got {type(raw).__name__}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise InvalidListing(f"kind must be one of {KINDS}, got {kind!r}")
    out: dict[str, Any] = {}
    for name in FIELDS[kind]:
        if name not in raw:
            continue
        value = raw[name]
        if value is None:
            continue
        if name in LIST_FIELDS:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list | tuple):
                raise InvalidListing(f"field {name!r} should be a list")
            items = [_clean_text(v, MAX_TEXT, name) for v in list(value)[:MAX_LIST]]
            items = [v for v in items if v]
            if items:
                out[name] = items
        elif name in NUMBER_FIELDS:
            number = _number(value, name)
            if number is not None:
                out[name] = number
        elif name in PRICE_FIELDS and isinstance(value, int | float) and not isinstance(value,
                                                                                        bool):
            if not math.isfinite(value):
                raise InvalidListing(f"field {name!r} is not a finite number")
            out[name] = value
        else:
            limit = MAX_URL if name in URL_FIELDS else (
                MAX_LONG_TEXT if name in LONG_FIELDS else MAX_TEXT)
            text = _clean_text(value, limit, name)
            if text is not None:
                out[name] = text
    for required in ("source", "source_id"):
        if not out.get(required):
            raise InvalidListing(f"missing {required}")
    if len(out["source_id"]) > 200:
        raise InvalidListing("source_id longer than 200 characters")
    return {"kind": kind, **{k: v for k, v in out.items() if k != "kind"}}


def _number(value: Any, name: str) -> float | None:
    if isinstance(value, bool):
        raise InvalidListing(f"field {name!r} should be a number")
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
        if not value:
            return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidListing(f"field {name!r} is not a number: {value!r}") from exc
    if not math.isfinite(number):
        raise InvalidListing(f"field {name!r} is not a finite number")
    return number


def missing_fields(listing: dict[str, Any]) -> list[str]:
    """Contract fields of the listing's kind that came out empty."""
    return [f for f in FIELDS[listing["kind"]] if f not in listing and f != "kind"]


@dataclass
class PageResult:
    """What a crawler got from one page (or API answer).

    ``listings`` are raw dicts in the contract (validated when written);
    ``errors`` are ``PageError`` (url, kind, reason) for records or pages it could not use;
    ``touched`` are source_ids seen but unusable (kept live, never marked gone);
    ``done`` marks a page whose listings need not be fetched again when a killed
    run resumes; ``checkpoint`` is an API connector's state after this page;
    ``gone`` lists source_ids the platform says were removed (tombstones);
    ``page`` is False for results that are not a fetched page (an error report);
    ``high_water`` is the latest change time the platform reported on the page, on
    the platform's clock: the next incremental run asks for changes since then.
    """

    url: str | None
    listings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[PageError] = field(default_factory=list)
    touched: list[str] = field(default_factory=list)
    done: bool = False
    checkpoint: Any = None
    gone: list[str] = field(default_factory=list)
    page: bool = True
    failed: bool = False  # the page itself was lost: the run cannot be complete
    high_water: str | None = None  # the platform's latest updated_at seen (ISO 8601)


class PageSink(Protocol):
    """Where a crawler's PageResults go: the catalog (``CatalogSink``) or a preview."""

    def write(self, result: PageResult) -> object:
        """Take one page's result."""
