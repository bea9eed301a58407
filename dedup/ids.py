"""Stable entity ids: a cluster keeps the id of the earlier entity it mostly continues.

New clusters are matched to the previous build's entities by how many members
they share, largest overlap first, each previous id used once; a cluster that
continues no earlier entity gets a new id derived from its smallest member, so
rebuilding the same data gives the same ids.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Container, Mapping, Sequence


class _Union:
    def __init__(self, *parts: Container[str]) -> None:
        self.parts = parts

    def __contains__(self, item: object) -> bool:
        return any(item in part for part in self.parts)


def new_id(prefix: str, members: Sequence[str], taken: Container[str]) -> str:
    """A fresh id from the cluster's smallest member, never one already taken."""
    seed = min(members)
    salt = 0
    while True:
        digest = hashlib.blake2b(f"{seed}#{salt}".encode(), digest_size=6).hexdigest()
        candidate = f"{prefix}-{digest}"
        if candidate not in taken:
            return candidate
        salt += 1


def assign_ids(clusters: Sequence[Sequence[str]], previous: Mapping[str, str], prefix: str,
               *, reserved: Container[str] | None = None) -> list[str]:
    """One id per cluster (clusters given as member keys).

    Args:
        clusters: member listing keys of each cluster.
        previous: listing key -> entity id in the previous build.
        prefix: "shop", "offer" or "product".
        reserved: ids that must not be reused (entities kept outside this set); any
            container (``in`` is all that is asked), e.g. a lookup in the catalog.
    """
    candidates: list[tuple[int, str, int, str]] = []
    for index, members in enumerate(clusters):
        counts = Counter(previous[m] for m in members if m in previous)
        for entity_id, overlap in counts.items():
            candidates.append((overlap, min(members), index, entity_id))
    # the largest overlaps first; ties: the cluster of the smallest member (whatever order
    # the clusters come in: an incremental build links only some of them), then the id
    candidates.sort(key=lambda c: (-c[0], c[1], c[3]))
    ids: list[str | None] = [None] * len(clusters)
    used: set[str] = set()
    outside: Container[str] = reserved if reserved is not None else ()
    for _, _, index, entity_id in candidates:
        if ids[index] is None and entity_id not in used and entity_id not in outside:
            ids[index] = entity_id
            used.add(entity_id)
    taken = _Union(used, outside)
    for index, members in enumerate(clusters):
        if ids[index] is None:
            fresh = new_id(prefix, members, taken)
            ids[index] = fresh
            used.add(fresh)
    return [i for i in ids if i is not None]
