"""The overlap figures' input, read from the catalog: one ``Membership`` per platform listing.

``memberships`` reads every shop and offer listing of the last build with the
values the figures compare (``catalog.entities.overlap_rows``: the merged
record's commune and category, an offer's shop, and what that platform says: a
shop's phone, address key and hours; an offer's price). ``snapshots`` reads the
presence snapshot of each build (which platforms list which entity), for
``changes_over_time``. ``load_build`` reads all of that once per build
(``OverlapBuild``, with the communes and categories a filter may name), and
``report_for`` computes the report for a filter from it without reading the
catalog again; a filter naming a commune or category the build does not have is
``UnknownFilterValue``, never a computation. ``overlap_report`` does both, for
``agora overlap``. Platforms come in the sources file's order. A territory
(``normalizer.territories``) keeps the listings whose merged entity's address is in
it, and the earlier builds' presence of those entities.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.store import Catalog
from dedup.errors import MatchError
from dedup.overlap import ChangeRow, Membership, OverlapReport, changes_over_time, compute_overlap
from normalizer.territories import Territories

MAX_SNAPSHOTS = 12


def memberships(catalog: Catalog, territory: str | None = None,
                territories: Territories | None = None) -> list[Membership]:
    """Every shop and offer listing of the last build, with the values the figures compare;
    with ``territory``, only those whose entity's address is in it (``territories``)."""
    out = []
    for row in catalog.entities.overlap_rows():
        if territory is not None and (territories is None or territory not in
                                      territories.all_of(row.postcode, row.lat, row.lon)):
            continue
        if row.kind == "shop":
            out.append(Membership(row.kind, row.source, row.source_id, row.entity_id,
                                  commune=row.city, category=row.category, phone=row.phone,
                                  address_key=row.address_key, opening_hours=row.opening_hours))
        else:
            out.append(Membership(row.kind, row.source, row.source_id, row.entity_id,
                                  shop_entity_id=row.shop_entity_id, commune=row.city,
                                  category=row.category, price_cents=row.price_cents))
    return out


def platform_order(known: Sequence[str], found: Sequence[str]) -> list[str]:
    """The sources file's platforms that have listings, then any other, by name."""
    seen = set(found)
    return [p for p in known if p in seen] + sorted(seen - set(known))


def snapshots(catalog: Catalog, limit: int = MAX_SNAPSHOTS,
              ) -> list[tuple[str, list[Membership]]]:
    """(label, memberships) per complete build with a presence snapshot, oldest first."""
    out = []
    for snap in catalog.entities.presence_snapshots(limit):
        members = [Membership(kind, platform, entity_id, entity_id)
                   for kind, platform, entity_id in snap.rows]
        finished = snap.finished_at
        label = f"build {snap.build_id}" + (f" ({str(finished)[:16].replace('T', ' ')})"
                                            if finished else "")
        out.append((label, members))
    return out


class UnknownFilterValue(MatchError):
    """A filter names a commune or category that no entity of the build has."""

    def __init__(self, field: str, value: str, close: Sequence[str] = ()) -> None:
        hint = f" (close: {', '.join(close)})" if close else ""
        super().__init__(f"no {field} {value!r} in the last build{hint}")
        self.field, self.value, self.close = field, value, list(close)


@dataclass
class OverlapData:
    report: OverlapReport
    changes: list[ChangeRow] | None
    communes: list[str]  # every commune of the unfiltered data, most shops first
    categories: list[str]


@dataclass
class OverlapBuild:
    """What every report of one build starts from, read from the catalog once."""

    members: list[Membership]
    order: list[str]  # the platforms compared, in display order
    changes: list[ChangeRow] | None
    everything: OverlapReport  # the unfiltered report
    communes: list[str]  # the values a filter may take, most shops first
    categories: list[str]


def load_build(catalog: Catalog, known_platforms: Sequence[str], *,
               territory: str | None = None,
               territories: Territories | None = None) -> OverlapBuild:
    """The memberships, platforms, changes and unfiltered report of the last build (of one
    territory's entities when ``territory`` is given: see ``memberships``)."""
    members = memberships(catalog, territory, territories)
    found = platform_order(known_platforms, list(dict.fromkeys(m.platform for m in members)))
    order = found or list(known_platforms) or ["aucune"]
    everything = compute_overlap(members if found else [], platforms=order)
    snaps = snapshots(catalog)
    if territory is not None:  # the builds' presence of today's entities of the territory
        inside = {m.entity_id for m in members}
        snaps = [(label, [m for m in snap if m.entity_id in inside]) for label, snap in snaps]
    changes = changes_over_time(snaps, platforms=found) if len(snaps) > 1 and found else None
    return OverlapBuild(members if found else [], order, changes, everything,
                        communes=[r.key for r in everything.by_commune if r.key],
                        categories=[r.key for r in everything.by_category if r.key])


def resolve_filter(field: str, value: str | None, known: Sequence[str]) -> str | None:
    """The build's spelling of ``value`` (compared case-insensitively), None for no filter.

    Raises:
        UnknownFilterValue: no entity of the build has that value.

    Example:
        >>> resolve_filter("commune", "toulouse", ["Toulouse", "Muret"])
        'Toulouse'
    """
    if value is None or not value.strip():
        return None
    wanted = value.strip().casefold()
    for candidate in known:
        if candidate.casefold() == wanted:
            return candidate
    close = difflib.get_close_matches(value.strip(), list(known), n=3, cutoff=0.75)
    raise UnknownFilterValue(field, value, close)


def report_for(build: OverlapBuild, commune: str | None = None,
               category: str | None = None) -> OverlapData:
    """The report of ``build`` for one commune and/or category (both checked first).

    Raises:
        UnknownFilterValue: the commune or category is none of the build's.
    """
    commune = resolve_filter("commune", commune, build.communes)
    category = resolve_filter("category", category, build.categories)
    if commune is None and category is None:
        report = build.everything
    else:
        report = compute_overlap(build.members, platforms=build.order, commune=commune,
                                 category=category)
    return OverlapData(report=report, changes=build.changes, communes=build.communes,
                       categories=build.categories)


def overlap_report(catalog: Catalog, known_platforms: Sequence[str], *,
                   commune: str | None = None, category: str | None = None,
                   territory: str | None = None,
                   territories: Territories | None = None) -> OverlapData:
    """The report of the catalog's last build (with changes between builds when several),
    of one territory's entities when ``territory`` is given.

    Raises:
        UnknownFilterValue: the commune or category is none of the build's.
    """
    return report_for(load_build(catalog, known_platforms, territory=territory,
                                 territories=territories), commune, category)
