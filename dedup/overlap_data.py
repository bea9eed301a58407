"""The overlap figures' input, read from the catalog: one ``Membership`` per platform listing.

``memberships`` reads every shop and offer listing of the last build with the
values the figures compare (``catalog.entities.overlap_rows``: the merged
record's commune and category, an offer's shop, and what that platform says: a
shop's phone, address key and hours; an offer's price). ``snapshots`` reads the
presence snapshot of each build (which platforms list which entity), for
``changes_over_time``. ``overlap_report`` computes the whole report for the
analyst page and ``agora overlap``. Platforms come in the sources file's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from catalog.store import Catalog
from dedup.overlap import ChangeRow, Membership, OverlapReport, changes_over_time, compute_overlap

MAX_SNAPSHOTS = 12


def memberships(catalog: Catalog) -> list[Membership]:
    """Every shop and offer listing of the last build, with the values the figures compare."""
    out = []
    for row in catalog.entities.overlap_rows():
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


@dataclass
class OverlapData:
    report: OverlapReport
    changes: list[ChangeRow] | None
    communes: list[str]  # every commune of the unfiltered data, most shops first
    categories: list[str]


def overlap_report(catalog: Catalog, known_platforms: Sequence[str], *,
                   commune: str | None = None, category: str | None = None) -> OverlapData:
    """The report of the catalog's last build (with changes between builds when several)."""
    members = memberships(catalog)
    order = platform_order(known_platforms, list(dict.fromkeys(m.platform for m in members)))
    report = compute_overlap(members, platforms=order or None, commune=commune,
                             category=category) if order else compute_overlap(
        [], platforms=list(known_platforms) or ["aucune"], commune=commune, category=category)
    if commune is None and category is None:
        everything = report
    else:
        everything = compute_overlap(members, platforms=order or list(known_platforms) or
                                     ["aucune"])
    snaps = snapshots(catalog)
    changes = changes_over_time(snaps, platforms=order) if len(snaps) > 1 and order else None
    return OverlapData(
        report=report, changes=changes,
        communes=[r.key for r in everything.by_commune if r.key],
        categories=[r.key for r in everything.by_category if r.key])
