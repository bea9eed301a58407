"""Clustering scored pairs into entities, respecting hard evidence and review decisions.

Pairs are taken from the most to the least convincing. Two clusters merge only
when no pair across them is hard evidence against (two SIRETs, two GTINs, two
sizes, kilometres apart), no reviewer said "split", their cross pairs average at
least ``merge_floor``, and any two listings of one platform that would end up
together match on their own despite the same-platform penalty. This keeps
chains apart and stops a chain of good-looking pairs from gluing different
shops together. "Merge" decisions of reviewers are applied first, as given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from dedup.scoring import PairScore


@dataclass
class Decisions:
    """Reviewers' decisions, as pairs of listing keys."""

    merge: set[frozenset[str]] = field(default_factory=set)
    split: set[frozenset[str]] = field(default_factory=set)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.members: dict[int, list[int]] = {i: [i] for i in range(n)}

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members[ra].extend(self.members.pop(rb))
        return ra


def cluster_pairs(keys: Sequence[str], sources: Sequence[str],
                  pairs: Iterable[tuple[int, int, PairScore]],
                  score: Callable[[int, int], PairScore], *, threshold: float,
                  merge_floor: float, decisions: Decisions | None = None) -> list[list[int]]:
    """Group record indexes into clusters.

    Args:
        keys: listing key of each record ("source:source_id").
        sources: platform of each record.
        pairs: scored candidate pairs (i, j, score).
        score: scores any pair on demand (cross pairs of clusters about to merge).
        threshold: a pair at or above it is a match.
        merge_floor: the least average score across two clusters for them to merge.
        decisions: reviewers' merge/split decisions.
    Returns:
        clusters as sorted lists of indexes, every record in exactly one.
    """
    n = len(keys)
    uf = _UnionFind(n)
    decisions = decisions or Decisions()
    index = {k: i for i, k in enumerate(keys)}
    cache: dict[tuple[int, int], PairScore] = {}

    def pair_score(i: int, j: int) -> PairScore:
        key = (i, j) if i < j else (j, i)
        if key not in cache:
            cache[key] = score(*key)
        return cache[key]

    split_of: dict[int, set[int]] = {}
    for pair in decisions.split:
        a, b = tuple(pair)
        if a in index and b in index:
            split_of.setdefault(index[a], set()).add(index[b])
            split_of.setdefault(index[b], set()).add(index[a])

    def split_between(ma: list[int], mb: list[int]) -> bool:
        for i in ma:
            banned = split_of.get(i)
            if banned and any(j in banned for j in mb):
                return True
        return False

    for pair in sorted(decisions.merge, key=sorted):
        a, b = sorted(pair)
        if a in index and b in index:
            ra, rb = uf.find(index[a]), uf.find(index[b])
            if ra != rb and not split_between(uf.members[ra], uf.members[rb]):
                uf.union(ra, rb)

    ordered = sorted(((s.total, i, j, s) for i, j, s in pairs if s.total >= threshold),
                     key=lambda t: (-t[0], t[1], t[2]))
    for _total, i, j, s in ordered:
        cache[(i, j) if i < j else (j, i)] = s
        ri, rj = uf.find(i), uf.find(j)
        if ri == rj:
            continue
        ma, mb = uf.members[ri], uf.members[rj]
        if split_between(ma, mb):
            continue
        if len(ma) == 1 and len(mb) == 1:
            if s.hard:
                continue
            uf.union(ri, rj)
            continue
        ok, cross_total, count = True, 0.0, 0
        for x in ma:
            for y in mb:
                ps = pair_score(x, y)
                if ps.hard or (sources[x] == sources[y] and ps.total < threshold):
                    ok = False
                    break
                cross_total += ps.total
                count += 1
            if not ok:
                break
        if ok and cross_total / count >= merge_floor:
            uf.union(ri, rj)
    clusters = [sorted(m) for m in uf.members.values()]
    clusters.sort(key=lambda m: m[0])
    return clusters
