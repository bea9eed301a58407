"""schema.org type names: the families a crawler looks for, and an object's short types.

Kept apart from ``schema_org`` (which needs extruct) so that validating a sources
file, which names types, does not load the extractors.

Example:
    >>> sorted(types_of({"@type": ["https://schema.org/Bakery", "schema:Store"]}))
    ['Bakery', 'Store']
"""

from __future__ import annotations

import re
from typing import Any

# LocalBusiness and the subtypes local shops publish (schema.org's Store tree and kin)
BUSINESS_TYPES = frozenset({
    "LocalBusiness", "Store", "Bakery", "BookStore", "Florist", "ClothingStore", "ShoeStore",
    "JewelryStore", "Optician", "HardwareStore", "ToyStore", "SportingGoodsStore",
    "HomeGoodsStore", "HealthAndBeautyBusiness", "ComputerStore", "BikeStore", "LiquorStore",
    "GroceryStore", "ConvenienceStore", "FoodEstablishment", "DepartmentStore",
    "ElectronicsStore", "FurnitureStore", "GardenStore", "HobbyShop", "OfficeEquipmentStore",
    "PetStore", "MobilePhoneStore", "MusicStore", "OutletStore", "WholesaleStore",
    "BeautySalon", "HairSalon", "Pharmacy", "CafeOrCoffeeShop", "Winery", "Restaurant",
    "Butcher",
})
# types that carry an address without being the shop (the platform itself, a page, a place)
NOT_BUSINESS_TYPES = frozenset({
    "Organization", "Corporation", "WebSite", "WebPage", "BreadcrumbList", "ListItem",
    "Product", "Offer", "Person", "ItemList", "PostalAddress", "GeoCoordinates",
})
PRODUCT_TYPES = frozenset({"Product", "IndividualProduct", "ProductModel"})

# the syntaxes schema.org objects are read in (crawlers.parsing.schema_org)
SYNTAXES = ("json-ld", "microdata")

# a type name in a sources file stands for itself and its usual subtypes
TYPE_FAMILIES: dict[str, frozenset[str]] = {
    "LocalBusiness": BUSINESS_TYPES,
    "Product": PRODUCT_TYPES,
}


def short_type(value: Any) -> str | None:
    """'Bakery' from 'https://schema.org/Bakery', 'schema:Bakery' or 'Bakery'."""
    if not isinstance(value, str) or not value:
        return None
    return re.split(r"[/:#]", value)[-1] or None


def types_of(obj: dict[str, Any]) -> set[str]:
    """An object's ``@type`` names, short."""
    raw = obj.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {t for t in (short_type(v) for v in values) if t}


def family(name: str) -> frozenset[str]:
    """The type names a name in a sources file stands for."""
    return TYPE_FAMILIES.get(name, frozenset({name}))
