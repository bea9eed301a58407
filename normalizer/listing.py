"""``normalize_listing``: a raw listing (the contract) to a clean, comparable one.

A clean listing keeps the raw listing untouched beside the clean values, and
flags every value that failed validation (``Flag``): the value is then left
out (``None``) rather than kept as if valid, and the data-quality report lists
it. Nothing here does I/O or raises on bad data; only a dict that is not a
listing at all (no known ``kind``) raises ``NotAListing``.

Example:
    >>> shop = normalize_listing({"kind": "shop", "source": "geolocal31", "source_id": "7",
    ...                           "name": "BOULANGERIE DUPONT SARL", "phone": "0561223344"})
    >>> shop.name, shop.name_key, shop.legal_form, shop.phone
    ('Boulangerie Dupont', 'boulangerie dupont', 'SARL', '+33561223344')
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from normalizer.addresses import normalize_address
from normalizer.attributes import labelled_attributes
from normalizer.categories import map_category
from normalizer.encoding import repair_mojibake
from normalizer.geo import OCCITANIE, Territory, check_coordinates, geohash
from normalizer.hours import normalize_hours
from normalizer.identifiers import normalize_gtin, normalize_siret
from normalizer.names import normalize_name
from normalizer.phones import normalize_phone
from normalizer.prices import normalize_price
from normalizer.products import normalize_availability, normalize_brand, normalize_title
from normalizer.services import map_services
from normalizer.text import bounded, plain
from normalizer.web import normalize_email, website_host

GEOHASH_PRECISION = 7


class NotAListing(ValueError):
    """The dict has no known ``kind``: it is not a listing of the contract."""


@dataclass(frozen=True)
class Flag:
    """A value that failed validation: the contract field, a code, the raw value as text."""

    field: str
    code: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "value": self.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Flag:
        return cls(str(data["field"]), str(data["code"]), str(data.get("value", "")))


def _flag(field: str, code: str, value: Any) -> Flag:
    return Flag(field, code, bounded(value))


_TUPLE_FIELDS = frozenset(("name_tokens", "title_tokens", "title_core", "categories",
                           "services"))


class _Serializable:
    """to_dict/from_dict shared by the clean listings (tuples <-> JSON lists)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (tuples as lists, flags as dicts)."""
        out = dict(self.__dict__)
        out["flags"] = [flag.to_dict() for flag in out["flags"]]
        if "variant" in out:
            out["variant"] = [list(pair) for pair in out["variant"]]
        for name in _TUPLE_FIELDS.intersection(out):
            out[name] = list(out[name])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """The clean listing ``to_dict`` gave (missing fields read as None/empty)."""
        kwargs: dict[str, Any] = {}
        for name in _FIELD_NAMES[cls]:
            value = data.get(name)
            if name == "flags":
                value = tuple(Flag.from_dict(x) for x in value or ())
            elif name == "variant":
                value = tuple((str(a), str(b)) for a, b in value or ())
            elif name in _TUPLE_FIELDS:
                value = tuple(value or ())
            elif name == "cedex":
                value = bool(value)
            elif name == "raw":
                value = dict(value or {})
            kwargs[name] = value
        return cls(**kwargs)


@dataclass(frozen=True)
class CleanShop(_Serializable):
    """A shop listing cleaned: display and matching forms, validated values, flags."""

    kind: str
    source: str
    source_id: str
    url: str | None
    raw: dict[str, Any]
    name: str | None
    name_key: str | None
    name_tokens: tuple[str, ...]
    legal_form: str | None
    street_number: str | None
    street_suffix: str | None
    street: str | None
    street_key: str | None
    address_key: str | None
    postcode: str | None
    city: str | None
    city_key: str | None
    cedex: bool
    department: str | None
    phone: str | None
    phone_kind: str | None
    siret: str | None
    siren: str | None
    email: str | None
    website_host: str | None
    lat: float | None
    lon: float | None
    geohash: str | None
    categories: tuple[str, ...]
    services: tuple[str, ...]
    opening_hours: str | None
    description: str | None
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class CleanProduct(_Serializable):
    """A product listing cleaned: title forms, variant, GTIN, price in cents, flags."""

    kind: str
    source: str
    source_id: str
    url: str | None
    raw: dict[str, Any]
    title: str | None
    title_key: str | None
    title_tokens: tuple[str, ...]
    title_core: tuple[str, ...]  # the title's words without its attributes
    variant: tuple[tuple[str, str], ...]
    brand: str | None
    brand_key: str | None
    gtin: str | None
    price_cents: int | None
    currency: str | None
    availability: str | None
    category: str | None
    shop_source_id: str | None
    image_url: str | None
    description: str | None
    flags: tuple[Flag, ...]


_FIELD_NAMES: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in (CleanShop, CleanProduct)}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = plain(str(value))
    return text or None


def _labels(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v is not None and str(v).strip()]


def normalize_shop(raw: dict[str, Any], territory: Territory = OCCITANIE) -> CleanShop:
    """The clean form of a shop listing (see ``normalize_listing``)."""
    flags: list[Flag] = []
    name = normalize_name(_text(raw.get("name")))
    if name.key is None:
        flags.append(_flag("name", "missing_name", raw.get("name") or ""))

    address = normalize_address(_text(raw.get("address")), _text(raw.get("postcode")),
                                _text(raw.get("city")))
    flags.extend(_flag(f, code, v) for f, code, v in address.problems)

    phone = phone_kind = None
    if raw.get("phone") is not None:
        phone, phone_kind, problem = normalize_phone(str(raw["phone"]), territory.region)
        if problem:
            flags.append(_flag("phone", problem, raw["phone"]))

    siret, siren, problem = normalize_siret(_text(raw.get("siret")))
    if problem:
        flags.append(_flag("siret", problem, raw.get("siret")))

    email, problem = normalize_email(_text(raw.get("email")))
    if problem:
        flags.append(_flag("email", problem, raw.get("email")))

    host, problem = website_host(_text(raw.get("website")))
    if problem:
        flags.append(_flag("website", problem, raw.get("website")))

    lat, lon, problem = check_coordinates(raw.get("lat"), raw.get("lon"), territory)
    if problem:
        flags.append(_flag("lat", problem, f"{raw.get('lat')},{raw.get('lon')}"))
    cell = geohash(lat, lon, GEOHASH_PRECISION) if lat is not None and lon is not None else None

    categories: list[str] = []
    for label in _labels(raw.get("categories")):
        trades = map_category(label)
        if not trades:
            flags.append(_flag("categories", "unknown_category", label))
        categories.extend(trades)

    services, unknown = map_services(_labels(raw.get("services")), str(raw["source"]))
    flags.extend(_flag("services", "unknown_service", label) for label in unknown)

    hours = None
    raw_hours = raw.get("opening_hours")
    if raw_hours is not None and str(raw_hours).strip():
        hours = normalize_hours(raw_hours)
        if hours is None:
            flags.append(_flag("opening_hours", "unparsed_hours", raw_hours))

    return CleanShop(
        kind="shop", source=str(raw["source"]), source_id=str(raw["source_id"]),
        url=_text(raw.get("url")), raw=raw,
        name=name.display, name_key=name.key, name_tokens=name.tokens,
        legal_form=name.legal_form,
        street_number=address.street_number, street_suffix=address.street_suffix,
        street=address.street, street_key=address.street_key,
        address_key=address.address_key, postcode=address.postcode, city=address.city,
        city_key=address.city_key, cedex=address.cedex, department=address.department,
        phone=phone, phone_kind=phone_kind, siret=siret, siren=siren, email=email,
        website_host=host, lat=lat, lon=lon, geohash=cell,
        categories=tuple(sorted(set(categories))), services=services,
        opening_hours=hours, description=_text(raw.get("description")),
        flags=tuple(flags),
    )


def with_labelled_attributes(variant: tuple[tuple[str, str], ...], description: str | None
                             ) -> tuple[tuple[str, str], ...]:
    """The title's attributes, plus those the description states with a label ("Couleur :
    noir") for dimensions the title does not state."""
    extra = labelled_attributes(description)
    if not extra:
        return variant
    known = {dim for dim, _ in variant}
    return tuple(sorted([*variant, *((d, v) for d, v in extra if d not in known)]))


def normalize_product(raw: dict[str, Any], territory: Territory = OCCITANIE) -> CleanProduct:
    """The clean form of a product listing (see ``normalize_listing``)."""
    flags: list[Flag] = []
    title = normalize_title(_text(raw.get("title")))
    if title.key is None:
        flags.append(_flag("title", "missing_title", raw.get("title") or ""))

    brand, brand_key = normalize_brand(_text(raw.get("brand")))

    gtin, problem = normalize_gtin(_text(raw.get("gtin")))
    if problem:
        flags.append(_flag("gtin", problem, raw.get("gtin")))

    price = raw.get("price")
    currency_field = _text(raw.get("currency"))
    cents, currency, problem = normalize_price(price if not isinstance(price, str)
                                               else _text(price), currency_field,
                                               territory.currency)
    if problem:
        field = "currency" if problem == "invalid_currency" else "price"
        flags.append(_flag(field, problem, currency_field if field == "currency" else price))
    if cents is None and price is None:
        currency = None

    availability, problem = normalize_availability(_text(raw.get("availability")))
    if problem:
        flags.append(_flag("availability", problem, raw.get("availability")))

    category = None
    raw_category = _text(raw.get("category"))
    if raw_category:
        trades = map_category(raw_category)
        if trades:
            category = trades[0]
        else:
            flags.append(_flag("category", "unknown_category", raw_category))

    description = _text(raw.get("description"))
    description = repair_mojibake(description) if description else None
    variant = with_labelled_attributes(title.variant, description)
    return CleanProduct(
        kind="product", source=str(raw["source"]), source_id=str(raw["source_id"]),
        url=_text(raw.get("url")), raw=raw,
        title=title.display, title_key=title.key, title_tokens=title.tokens,
        title_core=title.core, variant=variant, brand=brand, brand_key=brand_key, gtin=gtin,
        price_cents=cents, currency=currency, availability=availability, category=category,
        shop_source_id=_text(raw.get("shop_source_id")), image_url=_text(raw.get("image_url")),
        description=description, flags=tuple(flags),
    )


def normalize_listing(raw: dict[str, Any], *,
                      territory: Territory | None = None) -> CleanShop | CleanProduct:
    """The clean listing of a raw one (a dict in the listing contract).

    Args:
        raw: a listing as ``crawlers.listing.validate_listing`` returns it; kept
            untouched in the result's ``raw``.
        territory: where the listings are (bounding box, phone region, default
            currency); Occitanie by default.

    Returns:
        A ``CleanShop`` or a ``CleanProduct`` whose ``flags`` list every value
        that failed validation (such values are ``None`` in the clean fields).

    Raises:
        NotAListing: ``raw`` has no ``kind`` of the contract.

    Example:
        >>> p = normalize_listing({"kind": "product", "source": "x", "source_id": "1",
        ...                        "title": "Madiran Château Montus 0,75 L", "price": ",89 €"})
        >>> p.variant, p.price_cents, [f.code for f in p.flags]
        ((('size', '750ml'),), 89, ['price_misread_guarded'])
    """
    territory = territory or OCCITANIE
    kind = raw.get("kind") if isinstance(raw, dict) else None
    if kind == "shop":
        return normalize_shop(raw, territory)
    if kind == "product":
        return normalize_product(raw, territory)
    raise NotAListing(f"not a listing: kind {kind!r}")


def clean_from_dict(data: dict[str, Any]) -> CleanShop | CleanProduct:
    """The clean listing a stored ``to_dict()`` came from (dispatch on ``kind``)."""
    if data.get("kind") == "shop":
        return CleanShop.from_dict(data)
    if data.get("kind") == "product":
        return CleanProduct.from_dict(data)
    raise NotAListing(f"not a clean listing: kind={data.get('kind')!r}")
