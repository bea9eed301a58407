"""The normalizer: pure functions from a raw listing to a clean, comparable one.

``normalize_listing(raw)`` dispatches on ``raw["kind"]`` and returns a frozen
``CleanShop`` or ``CleanProduct`` holding the raw listing untouched, display and
matching forms of names, addresses and titles, validated identifiers (phone in
E.164, SIRET/SIREN, GTIN), prices in cents, taxonomy keys, canonical services
and opening hours, and a ``Flag`` for every value that failed validation. The
field modules (``names``, ``addresses``, ``phones``, ``identifiers``,
``prices``, ``web``, ``categories``, ``services``, ``hours``, ``geo``,
``products``) can be used alone.
"""

from normalizer.categories import TAXONOMY, map_category
from normalizer.geo import OCCITANIE, Territory
from normalizer.listing import (
    CleanProduct,
    CleanShop,
    Flag,
    NotAListing,
    clean_from_dict,
    normalize_listing,
    normalize_product,
    normalize_shop,
)

__all__ = [
    "clean_from_dict",
    "OCCITANIE",
    "TAXONOMY",
    "CleanProduct",
    "CleanShop",
    "Flag",
    "NotAListing",
    "Territory",
    "map_category",
    "normalize_listing",
    "normalize_product",
    "normalize_shop",
]
