"""The matcher's one validated settings object, loaded from ``config/matching.yaml``.

Every weight is a log2 Bayes factor for one level of one comparison (see
``dedup.comparisons``). Unknown keys and wrong types are errors, so a typo in
the file never silently falls back to a default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from dedup.errors import MatchSettingsError

PROJECT_SETTINGS = Path(__file__).resolve().parents[1] / "config" / "matching.yaml"


@dataclass(frozen=True)
class NameWeights:
    exact: float = 6.0
    high: float = 5.0
    good: float = 3.0
    contained: float = 3.0
    fair: float = 0.5
    partial: float = -2.0
    different: float = -5.0
    rare_bonus_max: float = 4.0
    # different names never match on place and contact alone (a market hall, a hotel's
    # restaurants share an address and a switchboard); only the same SIRET overrides
    veto: bool = True


@dataclass(frozen=True)
class AddressWeights:
    exact: float = 7.0
    same_number_street: float = 5.0
    number_missing: float = 3.0
    other_number: float = -6.0
    other_street: float = -3.0
    other_postcode: float = -6.0


@dataclass(frozen=True)
class SameDifferent:
    same: float = 1.0
    different: float = -1.0


@dataclass(frozen=True)
class SiretWeights:
    same: float = 14.0
    same_siren_other_siret: float = -12.0
    other_siren: float = -10.0


@dataclass(frozen=True)
class EmailWeights:
    same: float = 3.0


@dataclass(frozen=True)
class GeoWeights:
    bands: tuple[tuple[float, float], ...] = ((40, 3.0), (120, 2.0), (300, 1.0), (1000, 0.0),
                                              (5000, -3.0))
    beyond: float = -8.0


@dataclass(frozen=True)
class CategoryWeights:
    overlap: float = 1.0
    disjoint: float = -2.0


@dataclass(frozen=True)
class ShopBlocking:
    max_block: int = 300
    geo_radius_m: float = 150.0


@dataclass(frozen=True)
class ShopSettings:
    threshold: float = 6.0
    review_band: tuple[float, float] = (2.0, 10.0)
    merge_floor: float = 0.0
    same_source: float = -8.0
    name: NameWeights = field(default_factory=NameWeights)
    address: AddressWeights = field(default_factory=AddressWeights)
    city: SameDifferent = field(default_factory=lambda: SameDifferent(1.0, -4.0))
    phone: SameDifferent = field(default_factory=lambda: SameDifferent(11.0, -5.0))
    siret: SiretWeights = field(default_factory=SiretWeights)
    website: SameDifferent = field(default_factory=lambda: SameDifferent(3.0, -1.0))
    email: EmailWeights = field(default_factory=EmailWeights)
    geo: GeoWeights = field(default_factory=GeoWeights)
    category: CategoryWeights = field(default_factory=CategoryWeights)
    blocking: ShopBlocking = field(default_factory=ShopBlocking)


@dataclass(frozen=True)
class TitleWeights:
    high: float = 5.0
    good: float = 3.0
    fair: float = 1.0
    different: float = -4.0


@dataclass(frozen=True)
class OfferPriceWeights:
    within_2pct: float = 2.0
    within_10pct: float = 1.0
    beyond_30pct: float = -2.0


@dataclass(frozen=True)
class OfferSettings:
    threshold: float = 5.0
    review_band: tuple[float, float] = (2.0, 8.0)
    merge_floor: float = 0.0
    same_source: float = -8.0
    gtin: SameDifferent = field(default_factory=lambda: SameDifferent(12.0, -20.0))
    variant: SameDifferent = field(default_factory=lambda: SameDifferent(1.0, -20.0))
    title: TitleWeights = field(default_factory=TitleWeights)
    brand: SameDifferent = field(default_factory=lambda: SameDifferent(2.0, -3.0))
    price: OfferPriceWeights = field(default_factory=OfferPriceWeights)


@dataclass(frozen=True)
class CodeWeights:
    same: float = 10.0
    contained: float = 6.0
    different: float = -5.0


@dataclass(frozen=True)
class ProductPriceWeights:
    within_10pct: float = 1.0
    beyond_50pct: float = -1.5


@dataclass(frozen=True)
class ProductBlocking:
    max_block: int = 200


@dataclass(frozen=True)
class ProductSettings:
    threshold: float = 6.0
    review_band: tuple[float, float] = (3.0, 9.0)
    merge_floor: float = 0.0
    same_source: float = -6.0
    gtin: SameDifferent = field(default_factory=lambda: SameDifferent(14.0, -20.0))
    code: CodeWeights = field(default_factory=CodeWeights)
    variant: SameDifferent = field(default_factory=lambda: SameDifferent(0.5, -20.0))
    title: TitleWeights = field(default_factory=lambda: TitleWeights(6.0, 3.0, 0.0, -4.0))
    brand: SameDifferent = field(default_factory=lambda: SameDifferent(1.5, -4.0))
    price: ProductPriceWeights = field(default_factory=ProductPriceWeights)
    blocking: ProductBlocking = field(default_factory=ProductBlocking)


@dataclass(frozen=True)
class MatchSettings:
    shops: ShopSettings = field(default_factory=ShopSettings)
    offers: OfferSettings = field(default_factory=OfferSettings)
    products: ProductSettings = field(default_factory=ProductSettings)
    source_trust: tuple[str, ...] = ()

    def trust_rank(self, source: str) -> int:
        """Lower is more trusted; unknown sources come last."""
        try:
            return self.source_trust.index(source)
        except ValueError:
            return len(self.source_trust)


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise MatchSettingsError(f"{where}: expected a mapping")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise MatchSettingsError(f"{where}: unknown key {key!r} (known: "
                                     f"{', '.join(sorted(known))})")
        hint = hints[key]
        here = f"{where}.{key}"
        if is_dataclass(hint):
            values[key] = _build(hint, value, here)
        elif hint is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise MatchSettingsError(f"{here}: expected a number, got {value!r}")
            values[key] = float(value)
        elif hint is bool:
            if not isinstance(value, bool):
                raise MatchSettingsError(f"{here}: expected true or false, got {value!r}")
            values[key] = value
        elif hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise MatchSettingsError(f"{here}: expected an integer, got {value!r}")
            values[key] = value
        elif key == "bands":
            try:
                values[key] = tuple((float(d), float(w)) for d, w in value)
            except (TypeError, ValueError) as exc:
                raise MatchSettingsError(f"{here}: expected [[metres, weight], ...]") from exc
        elif key == "review_band":
            if (not isinstance(value, list) or len(value) != 2
                    or not all(isinstance(v, int | float) for v in value)):
                raise MatchSettingsError(f"{here}: expected [low, high]")
            values[key] = (float(value[0]), float(value[1]))
        elif key == "source_trust":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise MatchSettingsError(f"{here}: expected a list of source keys")
            values[key] = tuple(value)
        else:
            values[key] = value
    return cls(**values)


def load_settings(path: str | os.PathLike[str] | None = None) -> MatchSettings:
    """Settings from ``path``, else ``AGORA_MATCHING``, else the project's config/matching.yaml."""
    candidates = [path, os.environ.get("AGORA_MATCHING"), Path("config") / "matching.yaml",
                  PROJECT_SETTINGS]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            text = Path(candidate).read_text(encoding="utf-8")
            return parse_settings(text, str(candidate))
    raise MatchSettingsError("no matching settings file found (config/matching.yaml)")


def parse_settings(text: str, where: str = "matching.yaml") -> MatchSettings:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise MatchSettingsError(f"{where}: not valid YAML: {exc}") from exc
    return _build(MatchSettings, data, where)
