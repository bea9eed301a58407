"""The overlap figures' input, read from the catalog: one ``Membership`` per platform listing.

``memberships`` joins ``entity_members`` (which listing is in which merged shop or
offer) with ``entities`` (the merged record: a shop's commune and first category,
an offer's shop) and ``clean_listings`` (what that platform says: a shop's phone,
address key and hours; an offer's price). ``snapshots`` reads ``build_presence``,
one snapshot of which platforms list which entity per build, for
``changes_over_time``. ``overlap_report`` computes the whole report for the
analyst page and ``agora overlap``. Platforms come in the sources file's order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from dedup.overlap import ChangeRow, Membership, OverlapReport, changes_over_time, compute_overlap

MAX_SNAPSHOTS = 12

_SQL = """
SELECT m.kind, m.source, m.source_id, m.entity_id,
       json_extract(e.data, '$.city'),
       CASE m.kind WHEN 'shop' THEN json_extract(e.data, '$.categories[0]')
                   ELSE json_extract(e.data, '$.category') END,
       json_extract(e.data, '$.shop_entity_id'),
       json_extract(c.data, '$.price_cents'),
       json_extract(c.data, '$.phone'),
       json_extract(c.data, '$.address_key'),
       json_extract(c.data, '$.opening_hours')
FROM entity_members m
JOIN entities e ON e.entity_id = m.entity_id
LEFT JOIN clean_listings c ON c.source = m.source AND c.source_id = m.source_id
WHERE m.kind IN ('shop', 'offer')
ORDER BY m.kind, m.source, m.source_id
"""


def memberships(conn: sqlite3.Connection) -> list[Membership]:
    """Every shop and offer listing of the last build, with the values the figures compare."""
    out = []
    for (kind, source, source_id, entity_id, city, category, shop_id, price_cents, phone,
         address_key, hours) in conn.execute(_SQL):
        if kind == "shop":
            out.append(Membership(kind, source, source_id, entity_id, commune=city,
                                  category=category, phone=phone, address_key=address_key,
                                  opening_hours=hours))
        else:
            out.append(Membership(kind, source, source_id, entity_id, shop_entity_id=shop_id,
                                  commune=city, category=category,
                                  price_cents=None if price_cents is None else int(price_cents)))
    return out


def platform_order(known: Sequence[str], found: Sequence[str]) -> list[str]:
    """The sources file's platforms that have listings, then any other, by name."""
    seen = set(found)
    return [p for p in known if p in seen] + sorted(seen - set(known))


def snapshots(conn: sqlite3.Connection, limit: int = MAX_SNAPSHOTS,
              ) -> list[tuple[str, list[Membership]]]:
    """(label, memberships) per complete build with a presence snapshot, oldest first."""
    builds = conn.execute(
        "SELECT b.id, b.finished_at FROM builds b WHERE b.status = 'complete' AND EXISTS "
        "(SELECT 1 FROM build_presence p WHERE p.build_id = b.id) ORDER BY b.id DESC LIMIT ?",
        (limit,)).fetchall()
    out = []
    for build_id, finished in reversed(builds):
        rows = conn.execute("SELECT kind, platform, entity_id FROM build_presence "
                            "WHERE build_id = ? AND kind IN ('shop', 'offer')", (build_id,))
        members = [Membership(kind, platform, entity_id, entity_id)
                   for kind, platform, entity_id in rows]
        label = f"build {build_id}" + (f" ({str(finished)[:16].replace('T', ' ')})"
                                       if finished else "")
        out.append((label, members))
    return out


@dataclass
class OverlapData:
    report: OverlapReport
    changes: list[ChangeRow] | None
    communes: list[str]  # every commune of the unfiltered data, most shops first
    categories: list[str]


def overlap_report(conn: sqlite3.Connection, known_platforms: Sequence[str], *,
                   commune: str | None = None, category: str | None = None) -> OverlapData:
    """The report of the catalog's last build (with changes between builds when several)."""
    members = memberships(conn)
    order = platform_order(known_platforms, list(dict.fromkeys(m.platform for m in members)))
    report = compute_overlap(members, platforms=order or None, commune=commune,
                             category=category) if order else compute_overlap(
        [], platforms=list(known_platforms) or ["aucune"], commune=commune, category=category)
    if commune is None and category is None:
        everything = report
    else:
        everything = compute_overlap(members, platforms=order or list(known_platforms) or
                                     ["aucune"])
    snaps = snapshots(conn)
    changes = changes_over_time(snaps, platforms=order) if len(snaps) > 1 and order else None
    return OverlapData(
        report=report, changes=changes,
        communes=[r.key for r in everything.by_commune if r.key],
        categories=[r.key for r in everything.by_category if r.key])
