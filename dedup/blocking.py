"""Blocking: only pairs that share a key are compared, so work grows nearly linearly.

Shops share a key when they have the same phone, SIREN, website or e-mail, the
rarest word of their name in the same postcode (or commune), the same street,
or, when one has no street number to block on, stand within a small radius of
each other. Offers are only compared within one merged
shop, by GTIN or rare title word (all pairs for small shops). Products that
name no shop share a GTIN, a model number, or rare title words. A key carried
by more listings than ``max_block`` is skipped and reported: it is too common
to tell anything.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from dedup.comparisons import distance_m
from dedup.features import ProductFeatures, ShopFeatures, TokenStats

Pair = tuple[int, int]


@dataclass
class BlockingReport:
    """How much blocking saved: candidate pairs against every possible pair."""

    records: int = 0
    candidate_pairs: int = 0
    skipped_blocks: list[tuple[str, int]] = field(default_factory=list)

    @property
    def all_pairs(self) -> int:
        return self.records * (self.records - 1) // 2

    @property
    def reduction_ratio(self) -> float:
        return 1.0 - self.candidate_pairs / self.all_pairs if self.all_pairs else 0.0

    def merge(self, other: BlockingReport) -> BlockingReport:
        return BlockingReport(self.records + other.records,
                              self.candidate_pairs + other.candidate_pairs,
                              self.skipped_blocks + other.skipped_blocks)


# keys that say little once many listings share them get a lower limit than max_block:
# a whole name carried by dozens of shops is a chain's or a generic one ("Le Fournil")
BLOCK_LIMITS = {"fullname": 30}


def _pairs_from_keys(keys_of: Callable[[int], Iterable[str]], n: int, max_block: int,
                     report: BlockingReport, pairs: set[Pair]) -> None:
    blocks: dict[str, list[int]] = defaultdict(list)
    for i in range(n):
        for key in set(keys_of(i)):
            blocks[key].append(i)
    for key, members in blocks.items():
        if len(members) < 2:
            continue
        if len(members) > min(max_block, BLOCK_LIMITS.get(key.partition(":")[0], max_block)):
            report.skipped_blocks.append((key, len(members)))
            continue
        for x in range(len(members)):
            mx = members[x]
            for y in range(x + 1, len(members)):
                my = members[y]
                pairs.add((mx, my) if mx < my else (my, mx))


RARE_WORD_LISTINGS = 60  # a name word on more listings than this says little in a postcode


def shop_keys(r: ShopFeatures, stats: TokenStats) -> list[str]:
    keys = []
    if r.phone:
        keys.append("ph:" + r.phone)
    if r.siren:
        keys.append("siren:" + r.siren)
    if r.website:
        keys.append("web:" + r.website)
    if r.email:
        keys.append("mail:" + r.email)
    place = ("pc:" + r.postcode) if r.postcode else ("city:" + r.city_key) if r.city_key else None
    rare = stats.rarest(r.name_tokens, 2)
    if place and rare and stats.df.get(rare[0], 0) <= RARE_WORD_LISTINGS:
        keys.append(f"{place}:{rare[0]}")  # the rarest name word, if rare, in the postcode
    if place:
        if r.street_key and r.number:
            keys.append(f"addr:{place}:{r.street_key}:{r.number.rstrip('abcdefghijklmnopqrstuvwxyz')}")
        if r.street_key and rare:
            keys.append(f"street:{place}:{r.street_key}:{rare[0]}")
    if rare and stats.df.get(rare[0], 0) <= 40:
        keys.append("name:" + rare[0])
    if r.name_key:
        keys.append("fullname:" + r.name_key.replace(" ", ""))
    return keys


def geo_pairs(points: list[tuple[int, float, float]], radius_m: float,
              pairs: set[Pair], wanted: Callable[[int, int], bool] | None = None) -> None:
    """Pairs of points within ``radius_m`` of each other (grid of radius-sized cells),
    among those ``wanted`` says yes to (all by default)."""
    if not points:
        return
    dlat = radius_m / 111_320.0
    cells: dict[tuple[int, int], list[tuple[int, float, float]]] = defaultdict(list)
    for idx, lat, lon in points:
        dlon = dlat / max(0.1, math.cos(math.radians(lat)))
        cells[(int(lat // dlat), int(lon // dlon))].append((idx, lat, lon))
    for (cy, cx), members in cells.items():
        for ny in (cy - 1, cy, cy + 1):
            for nx in (cx - 1, cx, cx + 1):
                other = cells.get((ny, nx))
                if not other:
                    continue
                for i, lat1, lon1 in members:
                    for j, lat2, lon2 in other:
                        if i < j and (wanted is None or wanted(i, j)) \
                                and distance_m(lat1, lon1, lat2, lon2) <= radius_m:
                            pairs.add((i, j))


def geo_cell(lat: float, lon: float, size_m: float = 150.0) -> str:
    """The grid cell of a point, as a blocking key (neighbours: see ``geo_neighbours``)."""
    dlat = size_m / 111_320.0
    dlon = dlat / max(0.1, math.cos(math.radians(lat)))
    return f"geo:{int(lat // dlat)}:{int(lon // dlon)}"


def geo_neighbours(lat: float, lon: float, size_m: float = 150.0) -> list[str]:
    """The cell of a point and the eight around it."""
    dlat = size_m / 111_320.0
    dlon = dlat / max(0.1, math.cos(math.radians(lat)))
    cy, cx = int(lat // dlat), int(lon // dlon)
    return [f"geo:{y}:{x}" for y in (cy - 1, cy, cy + 1) for x in (cx - 1, cx, cx + 1)]


def addressless(r: ShopFeatures) -> bool:
    """A shop listing without a street number: only nearness can pair it by place."""
    return not (r.street_key and r.number)


NEAR_ADDRESSLESS = "addressless:"  # prefix of the geo cells of the addressless shops


def block_shops(records: list[ShopFeatures], stats: TokenStats, *, max_block: int = 300,
                geo_radius_m: float = 150.0) -> tuple[set[Pair], BlockingReport]:
    """Candidate pairs (indexes into ``records``) of shop listings."""
    report = BlockingReport(records=len(records))
    pairs: set[Pair] = set()
    _pairs_from_keys(lambda i: shop_keys(records[i], stats), len(records), max_block, report,
                     pairs)
    # nearness pairs what the address cannot: a listing without a street number
    vague = [addressless(r) for r in records]
    geo_pairs([(i, r.lat, r.lon) for i, r in enumerate(records)
               if r.lat is not None and r.lon is not None], geo_radius_m, pairs,
              lambda i, j: vague[i] or vague[j])
    report.candidate_pairs = len(pairs)
    return pairs, report


_DIGITS = re.compile(r"\d{3,}")
_STEM = re.compile(r"^(.*\d)[a-z]{1,3}$")  # a model number's colour or version suffix


def product_keys(r: ProductFeatures, stats: TokenStats, scope: str = "") -> list[str]:
    keys = []
    if r.gtin:
        keys.append(f"{scope}gtin:{r.gtin}")
    for code in r.codes:
        keys.append(f"{scope}code:{code}")
        stem = _STEM.match(code)
        if stem:  # "dmcfs3a" and "dmcfs3", "lmvm2085bk" and "lmvm2085" meet
            keys.append(f"{scope}code:{stem.group(1)}")
        for digits in _DIGITS.findall(code):
            keys.append(f"{scope}num:{digits}")
            if len(digits) > 4:  # "u5140" and "u5140900" meet on their leading digits
                keys.append(f"{scope}num:{digits[:4]}")
    for token in r.title_tokens:  # a model number written as digits alone: "24734"
        if token.isdigit() and len(token) >= 5:
            keys.append(f"{scope}num:{token}")
    rare = stats.rarest(r.title_tokens, 3)
    keys.extend(f"{scope}tok:{t}" for t in rare)
    if len(rare) >= 2:
        keys.append(f"{scope}tok2:{rare[0]}:{rare[1]}")
    return keys


SMALL_SHOP = 16  # a merged shop with at most this many offers has every pair of them compared
OFFER_MAX_BLOCK = 300  # a key shared by more offers of one merged shop pairs none of them


def block_offers(records: list[ProductFeatures], shop_of: dict[str, str], stats: TokenStats,
                 *, small_shop: int = SMALL_SHOP, max_block: int = OFFER_MAX_BLOCK,
                 shop_sizes: Mapping[str, int] | None = None,
                 ) -> tuple[set[Pair], BlockingReport]:
    """Candidate pairs of product listings sold by one merged shop.

    ``shop_of`` maps each product listing's key to its merged shop's entity id (a
    product naming no seller may have been given one: see ``dedup.linker``).
    ``shop_sizes`` gives a shop's whole offer count when ``records`` hold only some of
    its offers (an incremental build): whether it is small goes by the whole count.
    """
    report = BlockingReport(records=len(records))
    pairs: set[Pair] = set()
    by_shop: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        entity = shop_of.get(r.key)
        if entity:
            by_shop[entity].append(i)
    scope_of: dict[int, str] = {}
    sizes = shop_sizes or {}
    for entity, members in by_shop.items():
        if max(len(members), sizes.get(entity, 0)) <= small_shop:
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    a, b = members[x], members[y]
                    pairs.add((a, b) if a < b else (b, a))
        else:
            for i in members:
                scope_of[i] = entity + "|"
    _pairs_from_keys(lambda i: product_keys(records[i], stats, scope_of[i])
                     if i in scope_of else (), len(records), max_block, report, pairs)
    report.candidate_pairs = len(pairs)
    return pairs, report


def block_products(records: list[ProductFeatures], stats: TokenStats, *,
                   max_block: int = 200) -> tuple[set[Pair], BlockingReport]:
    """Candidate pairs of product listings that name no shop (two shops' own items are
    never the same product: they are not paired)."""
    report = BlockingReport(records=len(records))
    pairs: set[Pair] = set()
    _pairs_from_keys(lambda i: product_keys(records[i], stats), len(records), max_block, report,
                     pairs)
    pairs = {(i, j) for i, j in pairs if not (records[i].house_item and records[j].house_item)}
    report.candidate_pairs = len(pairs)
    return pairs, report
