"""Overlap statistics between platforms, computed from merged entities.

The input is one ``Membership`` per platform listing: which platform lists
which merged shop or offer (the matcher's clusters, or the replicas' truth in
tests), with the few per-listing values the figures compare (commune, category,
price, phone, address, hours). ``compute_overlap`` turns them into an
``OverlapReport``: per-platform counts and exclusive contributions, pairwise
matrices (both, Jaccard, containment both ways), exact intersections (UpSet
data), breakdowns by commune and category, price differences for the same
offer, and data-quality conflicts for the same shop. ``changes_over_time``
compares consecutive crawl snapshots. ``tables`` flattens a report into named
tables (columns, rows, method sentence) shared by the files, the terminal and
the web page. Pure functions: no I/O, no globals; method sentences are French,
like the analyst pages they are printed under.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

SHOP = "shop"
OFFER = "offer"
KINDS = (SHOP, OFFER)

#: Compared shop fields: report name -> ``Membership`` attribute.
CONFLICT_FIELDS: dict[str, str] = {
    "phone": "phone",
    "address": "address_key",
    "hours": "opening_hours",
}

CHANGES_METHOD = (
    "Entre deux relevés consécutifs, une boutique ou une offre (entité fusionnée, même "
    "identifiant d'un relevé à l'autre) « arrive » sur une plateforme si elle y figure dans le "
    "relevé k et pas dans le relevé k-1, et la « quitte » dans le cas inverse."
)


@dataclass(frozen=True)
class Membership:
    """One platform listing and the merged entity (cluster) it belongs to."""

    kind: str  # "shop" or "offer"
    platform: str  # source key, e.g. "clickandco"
    source_id: str
    entity_id: str  # the merged entity (cluster) this listing belongs to
    shop_entity_id: str | None = None  # offers: the merged shop the offer belongs to
    commune: str | None = None  # the entity's commune (display form)
    category: str | None = None  # taxonomy key (offers: the product's or its shop's)
    price_cents: int | None = None  # offers: this platform's price
    phone: str | None = None  # shops: this platform's normalized phone (E.164)
    address_key: str | None = None  # shops: this platform's normalized address key
    opening_hours: str | None = None  # shops: this platform's normalized hours


@dataclass(frozen=True)
class PlatformRow:
    platform: str
    shops: int
    offers: int
    exclusive_shops: int  # shops on this platform and no other compared platform
    shared_shops: int  # shops on this platform and at least one other
    share_shared: float  # shared_shops / shops (0 when the platform has no shop)
    exclusive_offers: int
    duplicate_listings: int  # extra listings of an entity already listed by the platform
    duplicate_shop_listings: int
    duplicate_offer_listings: int


@dataclass(frozen=True)
class PairRow:
    platform_a: str
    platform_b: str
    both: int
    jaccard: float  # |A∩B| / |A∪B|, 0 when both are empty
    a_in_b: float  # |A∩B| / |A|: share of A also on B, 0 when A is empty
    b_in_a: float  # |A∩B| / |B|


@dataclass(frozen=True)
class BreakdownRow:
    key: str | None  # the commune or the category (None: not given by any platform)
    shops: int
    multi_platform_shops: int
    share_multi: float
    offers: int
    multi_platform_offers: int
    per_platform: dict[str, int]  # platform -> shops of this group on it


@dataclass(frozen=True)
class PricePairRow:
    platform_a: str
    platform_b: str
    both: int  # offers on both platforms with a price on each
    differing: int
    a_dearer: int
    b_dearer: int
    mean_abs_diff_cents: float  # over the differing offers (0 when none differ)
    max_abs_diff_cents: int
    mean_abs_diff_pct: float  # |pa - pb| / min(pa, pb) * 100, over the differing offers
    max_abs_diff_pct: float


@dataclass(frozen=True)
class PriceOfferRow:
    offer_entity_id: str
    shop_entity_id: str | None
    prices: dict[str, int]  # platform -> price in cents, in platform order
    min_cents: int
    max_cents: int
    spread_cents: int
    spread_pct: float  # (max - min) / min * 100 (0 when min is 0)
    cheapest: tuple[str, ...]
    dearest: tuple[str, ...]


@dataclass(frozen=True)
class PriceDifferences:
    offers_multi_platform: int  # offers on at least two platforms
    offers_compared: int  # ... with a price on at least two of them
    offers_differing: int  # ... whose prices are not all equal
    pairs: list[PricePairRow]
    offers: list[PriceOfferRow]  # the differing offers, largest spread first


@dataclass(frozen=True)
class ConflictRow:
    platform_a: str
    platform_b: str
    field: str  # "phone", "address" or "hours"
    compared: int  # shops on both platforms with a value on each
    differing: int
    share_differing: float


@dataclass(frozen=True)
class ChangeRow:
    from_label: str
    to_label: str
    platform: str
    shops_before: int
    shops_after: int
    shops_joined: int
    shops_left: int
    offers_before: int
    offers_after: int
    offers_joined: int
    offers_left: int


@dataclass(frozen=True, eq=False)
class OverlapReport:
    """Every overlap figure for one set of platforms and filters."""

    platform_keys: tuple[str, ...]
    filters: dict[str, str | None]
    total_shops: int
    total_offers: int
    multi_platform_shops: int
    multi_platform_offers: int
    platforms: list[PlatformRow]
    pairs_shops: list[PairRow]
    pairs_offers: list[PairRow]
    intersections_shops: dict[frozenset[str], int]
    intersections_offers: dict[frozenset[str], int]
    by_commune: list[BreakdownRow]
    by_category: list[BreakdownRow]
    price_differences: PriceDifferences
    conflicts: list[ConflictRow]
    methods: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OverlapTable:
    """A report table flattened for files and screens."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    method: str

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


# --------------------------------------------------------------------------- grouping
@dataclass
class _Entity:
    kind: str
    # platform -> distinct source ids, then the first non-null value of each attribute
    sources: dict[str, set[str]] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    shop_entity_id: str | None = None
    commune: str | None = None
    category: str | None = None

    @property
    def platforms(self) -> frozenset[str]:
        return frozenset(self.sources)


_VALUE_ATTRS = ("commune", "category", "price_cents", "phone", "address_key", "opening_hours")


def _platform_order(memberships: Sequence[Membership],
                    platforms: Sequence[str] | None) -> tuple[str, ...]:
    if platforms is not None:
        order = tuple(dict.fromkeys(platforms))
        if not order:
            raise ValueError("platforms must name at least one platform")
        return order
    return tuple(dict.fromkeys(m.platform for m in memberships))


def _group(memberships: Iterable[Membership],
           order: Sequence[str]) -> dict[str, dict[str, _Entity]]:
    """kind -> entity id -> what each of the compared platforms says about it."""
    keep = set(order)
    grouped: dict[str, dict[str, _Entity]] = {SHOP: {}, OFFER: {}}
    for m in memberships:
        if m.kind not in KINDS:
            raise ValueError(f"unknown membership kind {m.kind!r} (expected shop or offer)")
        if m.platform not in keep:
            continue
        entity = grouped[m.kind].setdefault(m.entity_id, _Entity(m.kind))
        entity.sources.setdefault(m.platform, set()).add(m.source_id)
        values = entity.values.setdefault(m.platform, {})
        for attr in _VALUE_ATTRS:
            value = getattr(m, attr)
            if value is not None and attr not in values:
                values[attr] = value  # duplicate listings: the first value given wins
        if entity.shop_entity_id is None:
            entity.shop_entity_id = m.shop_entity_id
    return grouped


def _vote(entity: _Entity, attr: str, rank: Mapping[str, int]) -> Any:
    """The value most platforms give (one vote each); ties go to the earliest platform."""
    votes: Counter[Any] = Counter()
    first: dict[Any, int] = {}
    for platform, values in entity.values.items():
        if attr in values:
            value = values[attr]
            votes[value] += 1
            first[value] = min(first.get(value, len(rank)), rank[platform])
    if not votes:
        return None
    return min(votes, key=lambda v: (-votes[v], first[v]))


def _resolve(grouped: dict[str, dict[str, _Entity]], rank: Mapping[str, int]) -> None:
    for entity in grouped[SHOP].values():
        entity.commune = _vote(entity, "commune", rank)
        entity.category = _vote(entity, "category", rank)
    shops = grouped[SHOP]
    for entity in grouped[OFFER].values():
        shop = shops.get(entity.shop_entity_id or "")
        entity.commune = _vote(entity, "commune", rank)
        entity.category = _vote(entity, "category", rank)
        if shop is not None:  # an offer without its own value takes its shop's
            entity.commune = entity.commune if entity.commune is not None else shop.commune
            entity.category = entity.category if entity.category is not None else shop.category


def _matches(value: str | None, wanted: str | None) -> bool:
    return wanted is None or (value is not None and value.casefold() == wanted.casefold())


# --------------------------------------------------------------------------- figures
def _ratio(num: int | float, den: int | float) -> float:
    return num / den if den else 0.0


def _pairs(on: dict[str, set[str]], order: Sequence[str]) -> list[PairRow]:
    rows = []
    for a, b in combinations(order, 2):
        both = len(on[a] & on[b])
        union = len(on[a] | on[b])
        rows.append(PairRow(a, b, both, _ratio(both, union), _ratio(both, len(on[a])),
                            _ratio(both, len(on[b]))))
    return rows


def _intersections(entities: Mapping[str, _Entity],
                   rank: Mapping[str, int]) -> dict[frozenset[str], int]:
    """Exact intersections, largest first, then fewest platforms, then platform order."""
    counts = Counter(e.platforms for e in entities.values())
    return dict(sorted(counts.items(),
                       key=lambda kv: (-kv[1], len(kv[0]), sorted(rank[p] for p in kv[0]))))


def _breakdown(shops: Mapping[str, _Entity], offers: Mapping[str, _Entity], attr: str,
               order: Sequence[str]) -> list[BreakdownRow]:
    groups: dict[str | None, list[list[_Entity]]] = defaultdict(lambda: [[], []])
    for entity in shops.values():
        groups[getattr(entity, attr)][0].append(entity)
    for entity in offers.values():
        groups[getattr(entity, attr)][1].append(entity)
    rows = []
    for key, (group_shops, group_offers) in groups.items():
        multi = sum(1 for e in group_shops if len(e.sources) > 1)
        rows.append(BreakdownRow(
            key=key,
            shops=len(group_shops),
            multi_platform_shops=multi,
            share_multi=_ratio(multi, len(group_shops)),
            offers=len(group_offers),
            multi_platform_offers=sum(1 for e in group_offers if len(e.sources) > 1),
            per_platform={p: sum(1 for e in group_shops if p in e.sources) for p in order},
        ))
    rows.sort(key=lambda r: (-r.shops, -r.offers, r.key is None, r.key or ""))
    return rows


def _prices(offers: Mapping[str, _Entity], order: Sequence[str]) -> PriceDifferences:
    diffs: dict[tuple[str, str], list[tuple[int, float | None, int]]] = defaultdict(list)
    both: Counter[tuple[str, str]] = Counter()
    multi = compared = 0
    rows: list[PriceOfferRow] = []
    for offer_id, entity in offers.items():
        if len(entity.sources) < 2:
            continue
        multi += 1
        prices = {p: entity.values[p]["price_cents"] for p in order
                  if "price_cents" in entity.values.get(p, {})}
        if len(prices) < 2:
            continue
        compared += 1
        for a, b in combinations(prices, 2):  # keeps platform order: a before b
            both[a, b] += 1
            pa, pb = prices[a], prices[b]
            if pa != pb:
                diffs[a, b].append((abs(pa - pb), _pct(abs(pa - pb), min(pa, pb)),
                                    1 if pa > pb else -1))
        low, high = min(prices.values()), max(prices.values())
        if low != high:
            rows.append(PriceOfferRow(
                offer_entity_id=offer_id,
                shop_entity_id=entity.shop_entity_id,
                prices=prices,
                min_cents=low,
                max_cents=high,
                spread_cents=high - low,
                spread_pct=_pct(high - low, low) or 0.0,
                cheapest=tuple(p for p, v in prices.items() if v == low),
                dearest=tuple(p for p, v in prices.items() if v == high),
            ))
    pairs = []
    for a, b in combinations(order, 2):
        d = diffs[a, b]
        pcts = [pct for _, pct, _ in d if pct is not None]
        pairs.append(PricePairRow(
            platform_a=a,
            platform_b=b,
            both=both[a, b],
            differing=len(d),
            a_dearer=sum(1 for *_, sign in d if sign > 0),
            b_dearer=sum(1 for *_, sign in d if sign < 0),
            mean_abs_diff_cents=_ratio(sum(cents for cents, *_ in d), len(d)),
            max_abs_diff_cents=max((cents for cents, *_ in d), default=0),
            mean_abs_diff_pct=_ratio(sum(pcts), len(pcts)),
            max_abs_diff_pct=max(pcts, default=0.0),
        ))
    rows.sort(key=lambda r: (-r.spread_cents, r.offer_entity_id))
    return PriceDifferences(multi, compared, len(rows), pairs, rows)


def _pct(diff: int, base: int) -> float | None:
    return diff / base * 100 if base > 0 else None


def _conflicts(shops: Mapping[str, _Entity], order: Sequence[str]) -> list[ConflictRow]:
    rows = []
    for a, b in combinations(order, 2):
        for name, attr in CONFLICT_FIELDS.items():
            compared = differing = 0
            for entity in shops.values():
                va = entity.values.get(a, {}).get(attr)
                vb = entity.values.get(b, {}).get(attr)
                if va is not None and vb is not None:
                    compared += 1
                    differing += va != vb
            rows.append(ConflictRow(a, b, name, compared, differing,
                                    _ratio(differing, compared)))
    return rows


def compute_overlap(memberships: Iterable[Membership], *,
                    platforms: Sequence[str] | None = None,
                    commune: str | None = None,
                    category: str | None = None) -> OverlapReport:
    """Every overlap figure between platforms for the merged entities of the memberships.

    Args:
        memberships: one record per platform listing (shops and offers).
        platforms: the platforms to compare, in display order; listings of other
            platforms are ignored. Default: every platform, in order of first appearance.
        commune: keep only entities of this commune (case-insensitive).
        category: keep only entities of this category (case-insensitive).

    An entity's commune and category are the values most of its platforms give
    (one vote per platform; ties go to the earliest platform in ``platforms``);
    an offer with none takes its shop's. An entity listed twice by one platform
    counts once for it, the extra listings (distinct ``source_id``) go to
    ``duplicate_listings``.

    Returns:
        An ``OverlapReport``.

    Example:
        >>> r = compute_overlap([Membership("shop", "a", "1", "s1"),
        ...                      Membership("shop", "b", "9", "s1"),
        ...                      Membership("shop", "b", "8", "s2")])
        >>> r.platforms[1].exclusive_shops, r.pairs_shops[0].jaccard
        (1, 0.5)
    """
    memberships = list(memberships)
    order = _platform_order(memberships, platforms)
    rank = {p: i for i, p in enumerate(order)}
    grouped = _group(memberships, order)
    _resolve(grouped, rank)
    shops = {k: e for k, e in grouped[SHOP].items()
             if _matches(e.commune, commune) and _matches(e.category, category)}
    offers = {k: e for k, e in grouped[OFFER].items()
              if _matches(e.commune, commune) and _matches(e.category, category)}

    on: dict[str, dict[str, set[str]]] = {SHOP: {p: set() for p in order},
                                          OFFER: {p: set() for p in order}}
    duplicates: dict[str, Counter[str]] = {SHOP: Counter(), OFFER: Counter()}
    for kind, entities in ((SHOP, shops), (OFFER, offers)):
        for entity_id, entity in entities.items():
            for platform, sources in entity.sources.items():
                on[kind][platform].add(entity_id)
                duplicates[kind][platform] += len(sources) - 1

    platform_rows = []
    for p in order:
        n_shops = len(on[SHOP][p])
        exclusive = sum(1 for e in on[SHOP][p] if len(shops[e].sources) == 1)
        dup_shops, dup_offers = duplicates[SHOP][p], duplicates[OFFER][p]
        platform_rows.append(PlatformRow(
            platform=p,
            shops=n_shops,
            offers=len(on[OFFER][p]),
            exclusive_shops=exclusive,
            shared_shops=n_shops - exclusive,
            share_shared=_ratio(n_shops - exclusive, n_shops),
            exclusive_offers=sum(1 for e in on[OFFER][p] if len(offers[e].sources) == 1),
            duplicate_listings=dup_shops + dup_offers,
            duplicate_shop_listings=dup_shops,
            duplicate_offer_listings=dup_offers,
        ))

    filters = {"commune": commune, "category": category}
    return OverlapReport(
        platform_keys=order,
        filters=filters,
        total_shops=len(shops),
        total_offers=len(offers),
        multi_platform_shops=sum(1 for e in shops.values() if len(e.sources) > 1),
        multi_platform_offers=sum(1 for e in offers.values() if len(e.sources) > 1),
        platforms=platform_rows,
        pairs_shops=_pairs(on[SHOP], order),
        pairs_offers=_pairs(on[OFFER], order),
        intersections_shops=_intersections(shops, rank),
        intersections_offers=_intersections(offers, rank),
        by_commune=_breakdown(shops, offers, "commune", order),
        by_category=_breakdown(shops, offers, "category", order),
        price_differences=_prices(offers, order),
        conflicts=_conflicts(shops, order),
        methods=_methods(order, filters),
    )


def changes_over_time(snapshots: Sequence[tuple[str, Iterable[Membership]]], *,
                      platforms: Sequence[str] | None = None) -> list[ChangeRow]:
    """Shops and offers joining and leaving each platform between consecutive snapshots.

    Args:
        snapshots: ``(label, memberships)`` per crawl run, oldest first. Entity ids
            must be stable across runs for the counts to mean anything.
        platforms: the platforms to report, in order. Default: every platform, in
            order of first appearance over all snapshots.

    Returns:
        One ``ChangeRow`` per consecutive pair of snapshots and platform.

    Example:
        >>> rows = changes_over_time([("r1", [Membership("shop", "a", "1", "s1")]),
        ...                           ("r2", [Membership("shop", "a", "2", "s2")])])
        >>> rows[0].shops_joined, rows[0].shops_left
        (1, 1)
    """
    labelled = [(label, list(ms)) for label, ms in snapshots]
    order = _platform_order([m for _, ms in labelled for m in ms], platforms)
    keep = set(order)
    presence: list[dict[tuple[str, str], set[str]]] = []
    for _, ms in labelled:
        on: dict[tuple[str, str], set[str]] = defaultdict(set)
        for m in ms:
            if m.kind not in KINDS:
                raise ValueError(f"unknown membership kind {m.kind!r} (expected shop or offer)")
            if m.platform in keep:
                on[m.kind, m.platform].add(m.entity_id)
        presence.append(on)
    rows = []
    for k in range(1, len(labelled)):
        before, after = presence[k - 1], presence[k]
        for p in order:
            sb, sa = before[SHOP, p], after[SHOP, p]
            ob, oa = before[OFFER, p], after[OFFER, p]
            rows.append(ChangeRow(
                from_label=labelled[k - 1][0], to_label=labelled[k][0], platform=p,
                shops_before=len(sb), shops_after=len(sa),
                shops_joined=len(sa - sb), shops_left=len(sb - sa),
                offers_before=len(ob), offers_after=len(oa),
                offers_joined=len(oa - ob), offers_left=len(ob - oa),
            ))
    return rows


# --------------------------------------------------------------------------- methods
def _scope(order: Sequence[str], filters: Mapping[str, str | None]) -> str:
    parts = [f"plateformes comparées : {', '.join(order) or 'aucune'}"]
    if filters.get("commune"):
        parts.append(f"commune « {filters['commune']} »")
    if filters.get("category"):
        parts.append(f"catégorie « {filters['category']} »")
    text = " — " + " ; ".join(parts)
    if filters.get("commune") or filters.get("category"):
        text += (" (pour chaque entité, la valeur que donnent le plus de plateformes, égalité "
                 "tranchée par leur ordre)")
    return text


def _methods(order: Sequence[str], filters: Mapping[str, str | None]) -> dict[str, str]:
    scope = _scope(order, filters)
    entities = ("entités fusionnées par le rapprochement, chacune comptée une fois par "
                "plateforme même si celle-ci la liste plusieurs fois")
    contain = ("Jaccard = |A∩B| / |A∪B|, « A dans B » = |A∩B| / |A| et « B dans A » = "
               "|A∩B| / |B|, 0 quand le dénominateur est vide")
    resolve = ("valeur donnée par le plus de plateformes de l'entité (une voix par plateforme, "
               "égalité tranchée par l'ordre des plateformes ; une offre sans valeur prend celle "
               "de sa boutique)")
    return {
        "totals": f"Nombre de boutiques et d'offres distinctes ({entities}), et de celles "
                  f"présentes sur au moins deux plateformes{scope}.",
        "platforms": f"Pour chaque plateforme, boutiques et offres distinctes ({entities}) ; "
                     f"exclusives = présentes sur cette seule plateforme, partagées = présentes "
                     f"aussi sur au moins une autre{scope}.",
        "platforms_details": f"Comme le tableau par plateforme, avec la part de boutiques "
                             f"partagées, les offres exclusives et les annonces en double "
                             f"(identifiants source distincts d'une même entité sur une même "
                             f"plateforme, au-delà du premier){scope}.",
        "pairs_shops": f"Pour chaque paire de plateformes A, B : boutiques présentes sur les "
                       f"deux (|A∩B|), {contain}{scope}.",
        "pairs_offers": f"Pour chaque paire de plateformes A, B : offres présentes sur les "
                        f"deux (|A∩B|), {contain}{scope}.",
        "intersections_shops": f"Nombre de boutiques dont l'ensemble des plateformes est "
                               f"exactement cette combinaison (intersections exclusives, "
                               f"chaque boutique comptée une seule fois){scope}.",
        "intersections_offers": f"Nombre d'offres dont l'ensemble des plateformes est "
                                f"exactement cette combinaison (intersections exclusives, "
                                f"chaque offre comptée une seule fois){scope}.",
        "by_commune": f"Boutiques et offres par commune, celle-ci étant la {resolve} ; "
                      f"multi-plateformes = sur au moins deux plateformes{scope}.",
        "by_category": f"Boutiques et offres par catégorie, celle-ci étant la {resolve} ; "
                       f"multi-plateformes = sur au moins deux plateformes{scope}.",
        "price_differences": f"Pour chaque paire de plateformes, offres avec un prix sur les "
                             f"deux, dont le prix diffère, et écart absolu moyen et maximal "
                             f"parmi celles qui diffèrent, en centimes et en % du prix le plus "
                             f"bas (premier prix lu si une plateforme liste l'offre deux "
                             f"fois){scope}.",
        "price_offers": f"Offres présentes sur au moins deux plateformes avec des prix "
                        f"différents : prix par plateforme, écart entre le plus haut et le plus "
                        f"bas, en centimes et en % du plus bas{scope}.",
        "conflicts": f"Pour chaque paire de plateformes et chaque champ (téléphone normalisé, "
                     f"clé d'adresse, horaires normalisés), boutiques présentes sur les deux "
                     f"avec une valeur de chaque côté, et combien diffèrent{scope}.",
        "upset_shops": f"Barres : boutiques dont l'ensemble des plateformes est exactement la "
                       f"combinaison marquée de points ; à gauche, boutiques par "
                       f"plateforme{scope}.",
        "jaccard_shops": f"Indice de Jaccard des boutiques entre deux plateformes "
                         f"(|A∩B| / |A∪B|), entre parenthèses les boutiques présentes sur les "
                         f"deux{scope}.",
        "exclusive_shops": f"Boutiques de chaque plateforme absentes de toutes les autres "
                           f"(exclusives) et présentes aussi ailleurs (partagées){scope}.",
        "changes": CHANGES_METHOD,
    }


# --------------------------------------------------------------------------- tables
def join_platforms(platforms: Iterable[str], order: Sequence[str]) -> str:
    """'a+b' for a set of platforms, in platform order."""
    rank = {p: i for i, p in enumerate(order)}
    return "+".join(sorted(platforms, key=lambda p: (rank.get(p, len(rank)), p)))


def _r(value: float, digits: int = 4) -> float:
    return round(value, digits)


def tables(report: OverlapReport, changes: Sequence[ChangeRow] | None = None
           ) -> dict[str, OverlapTable]:
    """Every table of the report, flattened and rounded (ratios 4 decimals, % and means 2).

    Column names of ``platforms``, ``pairs_shops``, ``pairs_offers`` and
    ``intersections_shops`` are a stable interface for scripts.
    """
    order = report.platform_keys
    m = report.methods
    pd_ = report.price_differences
    out: list[OverlapTable] = [
        OverlapTable("totals", "Totaux", ["metric", "value"], [
            ["shops", report.total_shops],
            ["offers", report.total_offers],
            ["multi_platform_shops", report.multi_platform_shops],
            ["multi_platform_offers", report.multi_platform_offers],
            ["offers_multi_platform_priced", pd_.offers_compared],
            ["offers_price_differing", pd_.offers_differing],
        ], m["totals"]),
        OverlapTable("platforms", "Par plateforme",
                     ["platform", "shops", "offers", "exclusive_shops", "shared_shops"],
                     [[r.platform, r.shops, r.offers, r.exclusive_shops, r.shared_shops]
                      for r in report.platforms], m["platforms"]),
        OverlapTable("platforms_details", "Par plateforme (détail)",
                     ["platform", "shops", "offers", "exclusive_shops", "shared_shops",
                      "share_shared", "exclusive_offers", "duplicate_listings",
                      "duplicate_shop_listings", "duplicate_offer_listings"],
                     [[r.platform, r.shops, r.offers, r.exclusive_shops, r.shared_shops,
                       _r(r.share_shared), r.exclusive_offers, r.duplicate_listings,
                       r.duplicate_shop_listings, r.duplicate_offer_listings]
                      for r in report.platforms], m["platforms_details"]),
    ]
    for kind, pairs, title in (("shops", report.pairs_shops, "Paires de plateformes (boutiques)"),
                               ("offers", report.pairs_offers, "Paires de plateformes (offres)")):
        out.append(OverlapTable(
            f"pairs_{kind}", title,
            ["platform_a", "platform_b", "both", "jaccard", "a_in_b", "b_in_a"],
            [[r.platform_a, r.platform_b, r.both, _r(r.jaccard), _r(r.a_in_b), _r(r.b_in_a)]
             for r in pairs], m[f"pairs_{kind}"]))
    for kind, inter, title in (
            ("shops", report.intersections_shops, "Boutiques par combinaison de plateformes"),
            ("offers", report.intersections_offers, "Offres par combinaison de plateformes")):
        out.append(OverlapTable(
            f"intersections_{kind}", title, ["platforms", kind],
            [[join_platforms(k, order), n] for k, n in inter.items()],
            m[f"intersections_{kind}"]))
    for name, groups, title in (("commune", report.by_commune, "Par commune"),
                                ("category", report.by_category, "Par catégorie")):
        out.append(OverlapTable(
            f"by_{name}", title,
            [name, "shops", "multi_platform_shops", "share_multi", "offers",
             "multi_platform_offers", *order],
            [[r.key, r.shops, r.multi_platform_shops, _r(r.share_multi), r.offers,
              r.multi_platform_offers, *(r.per_platform[p] for p in order)] for r in groups],
            m[f"by_{name}"]))
    out.append(OverlapTable(
        "price_differences", "Écarts de prix par paire de plateformes",
        ["platform_a", "platform_b", "both", "differing", "a_dearer", "b_dearer",
         "mean_abs_diff_cents", "max_abs_diff_cents", "mean_abs_diff_pct", "max_abs_diff_pct"],
        [[r.platform_a, r.platform_b, r.both, r.differing, r.a_dearer, r.b_dearer,
          _r(r.mean_abs_diff_cents, 2), r.max_abs_diff_cents, _r(r.mean_abs_diff_pct, 2),
          _r(r.max_abs_diff_pct, 2)] for r in pd_.pairs], m["price_differences"]))
    out.append(OverlapTable(
        "price_offers", "Offres à prix différents selon la plateforme",
        ["offer_entity_id", "shop_entity_id", "min_cents", "max_cents", "spread_cents",
         "spread_pct", "cheapest", "dearest", *(f"price_{p}" for p in order)],
        [[r.offer_entity_id, r.shop_entity_id, r.min_cents, r.max_cents, r.spread_cents,
          _r(r.spread_pct, 2), join_platforms(r.cheapest, order),
          join_platforms(r.dearest, order), *(r.prices.get(p) for p in order)]
         for r in pd_.offers], m["price_offers"]))
    out.append(OverlapTable(
        "conflicts", "Conflits de données entre plateformes (boutiques)",
        ["platform_a", "platform_b", "field", "compared", "differing", "share_differing"],
        [[r.platform_a, r.platform_b, r.field, r.compared, r.differing,
          _r(r.share_differing)] for r in report.conflicts], m["conflicts"]))
    if changes is not None:
        out.append(OverlapTable(
            "changes", "Arrivées et départs entre relevés",
            ["from_label", "to_label", "platform", "shops_before", "shops_after",
             "shops_joined", "shops_left", "offers_before", "offers_after", "offers_joined",
             "offers_left"],
            [[c.from_label, c.to_label, c.platform, c.shops_before, c.shops_after,
              c.shops_joined, c.shops_left, c.offers_before, c.offers_after, c.offers_joined,
              c.offers_left] for c in changes], CHANGES_METHOD))
    return {t.name: t for t in out}


def text_tables(report: OverlapReport, changes: Sequence[ChangeRow] | None = None,
                names: Sequence[str] = ("totals", "platforms", "pairs_shops",
                                        "intersections_shops", "price_differences",
                                        "conflicts", "changes")) -> str:
    """Plain-text tables for a terminal, each followed by its method sentence."""
    all_tables = tables(report, changes)
    blocks = []
    for name in names:
        if name not in all_tables:
            continue
        t = all_tables[name]
        cells = [t.columns] + [["" if v is None else str(v) for v in row] for row in t.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(t.columns))]
        lines = [t.title, *("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
                            .rstrip() for row in cells), t.method]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
