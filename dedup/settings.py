"""The matcher's one validated settings object, loaded from ``config/matching.yaml``.

The file holds the structure of the Fellegi-Sunter model and its priors, not
its weights: for each kind (shops, offers, products that name no shop) the
comparisons and their levels (names fixed by ``dedup.comparisons``), a prior
``[m, u]`` for each level argued from the domain, the prior share of matching
pairs, the levels that are hard evidence against, the decision threshold, and
the blocking limits. The weights themselves are learned from the listings by
``dedup.estimate`` at every full build; the priors are where the estimate
starts and what it falls back to where the data is thin. Unknown keys, wrong
types, a level the code does not define or a missing one are errors naming the
file, the line and the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dedup.comparisons import COMPARISON_LEVELS, NEUTRAL_LEVELS
from dedup.errors import MatchSettingsError

PROJECT_SETTINGS = Path(__file__).resolve().parents[1] / "config" / "matching.yaml"
KINDS = ("shops", "offers", "products")


@dataclass(frozen=True)
class LevelPrior:
    """Prior probability of a level among matching pairs (m) and other pairs (u)."""

    m: float
    u: float


@dataclass(frozen=True)
class ComparisonSettings:
    """One comparison: its levels' priors (in the code's order) and its options."""

    levels: tuple[tuple[str, LevelPrior], ...]
    tf_cap: float = 0.0  # bound of the term-frequency adjustment, in bits (0: none)
    thresholds: tuple[tuple[str, float], ...] = ()  # similarity levels' lower bounds

    def prior(self, level: str) -> LevelPrior:
        for name, prior in self.levels:
            if name == level:
                return prior
        raise KeyError(level)

    @property
    def level_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.levels)

    def threshold(self, level: str, default: float) -> float:
        return dict(self.thresholds).get(level, default)


@dataclass(frozen=True)
class EMSettings:
    """How the weights are learned (see ``dedup.estimate``)."""

    max_iterations: int = 60
    tolerance: float = 1e-4
    random_pairs: int = 20_000
    random_pairs_per_listing: int = 10
    m_strength: float = 10.0
    pair_strength: float = 30.0
    sample_strength: float = 200.0
    u_strength: float = 1.0
    prior_matches: float = 1.0
    max_weight: float = 24.0
    min_session_pairs: int = 30


@dataclass(frozen=True)
class VetoSettings:
    """Different names never match on place alone; agreeing identifiers overrule."""

    enabled: bool = True
    name_levels: tuple[str, ...] = ("different", "different_legal")
    overruled_by_any: tuple[str, ...] = ("siret.same",)
    # or by one of these (the same company)...
    company: tuple[str, ...] = ("siret.same_siren", "siret.same_siren_other_siret",
                                "website.same", "email.same")
    # ...together with one of these (at the same place)
    place: tuple[str, ...] = ("phone.same", "address.exact", "address.same_number_street")
    # a registered name against a sign: the same phone and the same address suffice
    legal_name_level: str = "different_legal"
    legal_name_needs: tuple[str, ...] = ("phone.same", "address.exact|address.same_number_street")


@dataclass(frozen=True)
class ShopBlocking:
    max_block: int = 300
    geo_radius_m: float = 150.0


@dataclass(frozen=True)
class ProductBlocking:
    max_block: int = 200


@dataclass(frozen=True)
class SellerlessSettings:
    """Offers naming no seller: attached to the one merged shop selling the same item."""

    enabled: bool = True
    price_tolerance: float = 0.10


@dataclass(frozen=True)
class KindSettings:
    """A kind's model structure and decision (match weights are log2 odds)."""

    prior: float
    comparisons: tuple[tuple[str, ComparisonSettings], ...]
    threshold: float = 0.0
    review_band: tuple[float, float] = (-6.0, 6.0)
    merge_floor: float = 0.0
    hard: tuple[str, ...] = ()
    # a hard level that yields when every group agrees (a group: "COMP.LEVEL|COMP.LEVEL")
    hard_unless: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # EM sessions: each selects the candidates agreeing on one of its levels and
    # estimates the m of the other comparisons there (Splink's training sessions)
    training: tuple[tuple[str, ...], ...] = ()

    def comparison(self, name: str) -> ComparisonSettings:
        for key, settings in self.comparisons:
            if key == name:
                return settings
        raise KeyError(name)

    @property
    def comparison_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.comparisons)


@dataclass(frozen=True)
class ShopSettings(KindSettings):
    veto: VetoSettings = field(default_factory=VetoSettings)
    blocking: ShopBlocking = field(default_factory=ShopBlocking)


@dataclass(frozen=True)
class OfferSettings(KindSettings):
    sellerless: SellerlessSettings = field(default_factory=SellerlessSettings)


@dataclass(frozen=True)
class ProductSettings(KindSettings):
    blocking: ProductBlocking = field(default_factory=ProductBlocking)


@dataclass(frozen=True)
class MatchSettings:
    shops: ShopSettings
    offers: OfferSettings
    products: ProductSettings
    em: EMSettings = field(default_factory=EMSettings)
    source_trust: tuple[str, ...] = ()

    def trust_rank(self, source: str) -> int:
        """Lower is more trusted; unknown sources come last."""
        try:
            return self.source_trust.index(source)
        except ValueError:
            return len(self.source_trust)

    def kind(self, kind: str) -> KindSettings:
        """Settings of "shop", "offer" or "product" (singular, as the linker names kinds)."""
        return {"shop": self.shops, "offer": self.offers, "product": self.products}[kind]


# --------------------------------------------------------------------------- loading
class _Reader:
    """Reads a YAML mapping with the line of every key, for errors that point at it."""

    def __init__(self, text: str, where: str) -> None:
        self.where = where
        try:
            node = yaml.compose(text)
        except yaml.YAMLError as exc:
            raise MatchSettingsError(f"{where}: not valid YAML: {exc}") from exc
        self.lines: dict[str, int] = {}
        if node is not None:
            self._index(node, "")
        try:
            self.data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise MatchSettingsError(f"{where}: not valid YAML: {exc}") from exc

    def _index(self, node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = f"{path}.{key_node.value}" if path else str(key_node.value)
                self.lines[key] = key_node.start_mark.line + 1
                self._index(value_node, key)

    def error(self, path: str, message: str) -> MatchSettingsError:
        line = self.lines.get(path)
        while line is None and "." in path:
            path = path.rsplit(".", 1)[0]
            line = self.lines.get(path)
        at = f"{self.where}:{line}" if line else self.where
        return MatchSettingsError(f"{at}: {path}: {message}")


def _mapping(r: _Reader, value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise r.error(path, "expected a mapping")
    return value


def _number(r: _Reader, value: Any, path: str, *, low: float | None = None,
            high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise r.error(path, f"expected a number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise r.error(path, f"expected a number in [{low}, {high}], got {value!r}")
    return float(value)


def _integer(r: _Reader, value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise r.error(path, f"expected a positive integer, got {value!r}")
    return value


def _flag(r: _Reader, value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise r.error(path, f"expected true or false, got {value!r}")
    return value


def _strings(r: _Reader, value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise r.error(path, "expected a list of strings")
    return tuple(value)


def _known(r: _Reader, data: dict[str, Any], path: str, known: set[str]) -> None:
    for key in data:
        if key not in known:
            where = f"{path}.{key}" if path else str(key)
            raise r.error(where, f"unknown key {key!r} (known: {', '.join(sorted(known))})")


def _simple(r: _Reader, cls: type, data: Any, path: str) -> Any:
    """A flat dataclass of numbers, integers, flags and string lists."""
    data = _mapping(r, data, path)
    defaults = cls()
    known = set(defaults.__dataclass_fields__)
    _known(r, data, path, known)
    values: dict[str, Any] = {}
    for key, value in data.items():
        here = f"{path}.{key}"
        current = getattr(defaults, key)
        if isinstance(current, bool):
            values[key] = _flag(r, value, here)
        elif isinstance(current, int):
            values[key] = _integer(r, value, here)
        elif isinstance(current, float):
            values[key] = _number(r, value, here)
        elif isinstance(current, str):
            if not isinstance(value, str):
                raise r.error(here, f"expected a string, got {value!r}")
            values[key] = value
        else:
            values[key] = _strings(r, value, here)
    return cls(**values)


def _comparison(r: _Reader, kind: str, name: str, data: Any, path: str) -> ComparisonSettings:
    data = _mapping(r, data, path)
    _known(r, data, path, {"levels", "tf_cap", "thresholds"})
    expected = COMPARISON_LEVELS[kind].get(name)
    if expected is None:
        raise r.error(path, f"no comparison {name!r} for {kind} (known: "
                            f"{', '.join(COMPARISON_LEVELS[kind])})")
    levels_data = _mapping(r, data.get("levels"), f"{path}.levels")
    wanted = [lv for lv in expected(levels_data) if lv not in NEUTRAL_LEVELS]
    for level in levels_data:
        if level not in wanted:
            raise r.error(f"{path}.levels.{level}", f"{name} has no level {level!r} (levels: "
                                                    f"{', '.join(wanted)})")
    levels = []
    for level in wanted:
        if level not in levels_data:
            raise r.error(f"{path}.levels", f"level {level!r} is missing")
        value = levels_data[level]
        here = f"{path}.levels.{level}"
        if not isinstance(value, list) or len(value) != 2:
            raise r.error(here, "expected [m, u], the level's prior share among matching "
                                "pairs and among other pairs")
        m = _number(r, value[0], here, low=1e-12, high=1.0)
        u = _number(r, value[1], here, low=1e-12, high=1.0)
        levels.append((level, LevelPrior(m, u)))
    tf_cap = _number(r, data.get("tf_cap", 0.0), f"{path}.tf_cap", low=0.0)
    thresholds: list[tuple[str, float]] = []
    if "thresholds" in data:
        tdata = _mapping(r, data["thresholds"], f"{path}.thresholds")
        for level, value in tdata.items():
            if level not in wanted:
                raise r.error(f"{path}.thresholds.{level}", f"{name} has no level {level!r}")
            thresholds.append((level, _number(r, value, f"{path}.thresholds.{level}", low=0.0,
                                              high=1.0)))
    return ComparisonSettings(tuple(levels), tf_cap, tuple(thresholds))


def _kind(r: _Reader, kind: str, data: Any) -> KindSettings:
    path = kind
    data = _mapping(r, data, path)
    extra = {"shops": {"veto", "blocking"}, "offers": {"sellerless"},
             "products": {"blocking"}}[kind]
    _known(r, data, path, {"prior", "threshold", "review_band", "merge_floor", "hard",
                           "hard_unless", "training", "comparisons"} | extra)
    if "prior" not in data:
        raise r.error(path, "key 'prior' is missing")
    if "comparisons" not in data:
        raise r.error(path, "key 'comparisons' is missing")
    comps_data = _mapping(r, data["comparisons"], f"{path}.comparisons")
    for name in COMPARISON_LEVELS[kind]:
        if name not in comps_data:
            raise r.error(f"{path}.comparisons", f"comparison {name!r} is missing")
    comparisons = tuple((name, _comparison(r, kind, name, value, f"{path}.comparisons.{name}"))
                        for name, value in comps_data.items())
    values: dict[str, Any] = {
        "prior": _number(r, data["prior"], f"{path}.prior", low=1e-12, high=0.5),
        "comparisons": comparisons,
    }
    for key in ("threshold", "merge_floor"):
        if key in data:
            values[key] = _number(r, data[key], f"{path}.{key}")
    if "review_band" in data:
        band = data["review_band"]
        if (not isinstance(band, list) or len(band) != 2
                or not all(isinstance(v, int | float) for v in band)):
            raise r.error(f"{path}.review_band", "expected [low, high] match weights")
        values["review_band"] = (float(band[0]), float(band[1]))
    by_name = dict(comparisons)

    def levels_list(value: Any, here: str) -> tuple[str, ...]:
        items = _strings(r, value, here)
        for item in items:
            comp, _, level = item.partition(".")
            if comp not in by_name or level not in by_name[comp].level_names:
                raise r.error(here, f"{item!r} is not COMPARISON.LEVEL of {kind}")
        return items

    if "hard" in data:
        values["hard"] = levels_list(data["hard"], f"{path}.hard")
    if "hard_unless" in data:
        unless = _mapping(r, data["hard_unless"], f"{path}.hard_unless")
        rules = []
        for level, groups in unless.items():
            here = f"{path}.hard_unless.{level}"
            if level not in values.get("hard", ()):
                raise r.error(here, f"{level!r} is not one of {kind}.hard")
            items = _strings(r, groups, here)
            if not items:
                raise r.error(here, "expected the levels that must all agree")
            for group in items:
                levels_list(group.split("|"), here)
            rules.append((level, items))
        values["hard_unless"] = tuple(rules)
    if "training" in data:
        if not isinstance(data["training"], list):
            raise r.error(f"{path}.training", "expected a list of lists of COMPARISON.LEVEL")
        values["training"] = tuple(levels_list(rule, f"{path}.training")
                                   for rule in data["training"])
    if kind == "shops":
        if "veto" in data:
            veto = _simple(r, VetoSettings, data["veto"], f"{path}.veto")
            for key in ("name_levels", "overruled_by_any", "company", "place",
                        "legal_name_level", "legal_name_needs"):
                items = getattr(veto, key)
                for item in (items,) if isinstance(items, str) else items:
                    for one in item.split("|"):
                        one = one if "." in one else f"name.{one}"
                        levels_list([one], f"{path}.veto.{key}")
            values["veto"] = veto
        if "blocking" in data:
            values["blocking"] = _simple(r, ShopBlocking, data["blocking"], f"{path}.blocking")
        return ShopSettings(**values)
    if kind == "offers":
        if "sellerless" in data:
            values["sellerless"] = _simple(r, SellerlessSettings, data["sellerless"],
                                           f"{path}.sellerless")
        return OfferSettings(**values)
    if "blocking" in data:
        values["blocking"] = _simple(r, ProductBlocking, data["blocking"], f"{path}.blocking")
    return ProductSettings(**values)


def parse_settings(text: str, where: str = "matching.yaml") -> MatchSettings:
    """Validated settings from the YAML text of a matching file."""
    r = _Reader(text, where)
    data = _mapping(r, r.data, "")
    _known(r, data, "", {*KINDS, "em", "source_trust"})
    for kind in KINDS:
        if kind not in data:
            raise r.error(kind, f"section {kind!r} is missing")
    kinds = {kind: _kind(r, kind, data[kind]) for kind in KINDS}
    em = _simple(r, EMSettings, data["em"], "em") if "em" in data else EMSettings()
    trust = _strings(r, data["source_trust"], "source_trust") if "source_trust" in data else ()
    return MatchSettings(kinds["shops"], kinds["offers"], kinds["products"],  # type: ignore[arg-type]
                         em, trust)


def load_settings(path: str | os.PathLike[str] | None = None) -> MatchSettings:
    """Settings from ``path``, else ``AGORA_MATCHING``, else the project's config/matching.yaml."""
    for candidate in _candidates(path):
        if candidate and Path(candidate).is_file():
            text = Path(candidate).read_text(encoding="utf-8")
            return parse_settings(text, str(candidate))
    raise MatchSettingsError("no matching settings file found (config/matching.yaml)")


def _candidates(path: str | os.PathLike[str] | None) -> Iterator[str | os.PathLike[str] | None]:
    yield path
    yield os.environ.get("AGORA_MATCHING")
    yield Path("config") / "matching.yaml"
    yield PROJECT_SETTINGS
