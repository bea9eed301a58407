"""Clustering: greedy merges that respect hard evidence, platforms and reviewers."""

from __future__ import annotations

from dedup.clustering import Decisions, cluster_pairs
from dedup.ids import assign_ids
from dedup.scoring import PairScore


def scores(table: dict[tuple[int, int], tuple[float, bool]], keys: list[str]):
    def score(i: int, j: int) -> PairScore:
        total, hard = table.get((min(i, j), max(i, j)), (-10.0, False))
        return PairScore(keys[i], keys[j], total, hard)
    pairs = [(i, j, score(i, j)) for (i, j) in table]
    return pairs, score


def test_chain_of_good_pairs_does_not_glue_different_things() -> None:
    # 0-1 and 1-2 match, but 0 and 2 are hard evidence apart (two SIRETs)
    keys, sources = ["a:1", "b:1", "c:1"], ["a", "b", "c"]
    pairs, score = scores({(0, 1): (20, False), (1, 2): (15, False), (0, 2): (-30, True)}, keys)
    clusters = cluster_pairs(keys, sources, pairs, score, threshold=6, merge_floor=0)
    assert clusters == [[0, 1], [2]]


def test_two_listings_of_one_platform_need_to_match_on_their_own() -> None:
    keys, sources = ["a:1", "b:1", "a:2"], ["a", "b", "a"]
    pairs, score = scores({(0, 1): (20, False), (1, 2): (19, False), (0, 2): (2, False)}, keys)
    clusters = cluster_pairs(keys, sources, pairs, score, threshold=6, merge_floor=0)
    assert clusters == [[0, 1], [2]]
    # the same platform twice is allowed when the two listings match despite the penalty
    pairs, score = scores({(0, 1): (20, False), (1, 2): (19, False), (0, 2): (12, False)}, keys)
    assert cluster_pairs(keys, sources, pairs, score, threshold=6, merge_floor=0) == [[0, 1, 2]]


def test_reviewers_decisions_win() -> None:
    keys, sources = ["a:1", "b:1", "c:1"], ["a", "b", "c"]
    pairs, score = scores({(0, 1): (20, False), (1, 2): (1, False)}, keys)
    decisions = Decisions(merge={frozenset(("b:1", "c:1"))}, split={frozenset(("a:1", "b:1"))})
    clusters = cluster_pairs(keys, sources, pairs, score, threshold=6, merge_floor=0,
                             decisions=decisions)
    assert clusters == [[0], [1, 2]]


def test_ids_follow_the_members() -> None:
    previous = {"a:1": "shop-x", "b:1": "shop-x", "c:1": "shop-y"}
    ids = assign_ids([["c:1"], ["a:1", "b:1", "d:1"]], previous, "shop")
    assert ids == ["shop-y", "shop-x"]
    # a split: the larger part keeps the id, the other gets a new, reproducible one
    first = assign_ids([["a:1"], ["b:1", "e:1"]], previous, "shop")
    again = assign_ids([["a:1"], ["b:1", "e:1"]], previous, "shop")
    assert first == again and len(set(first)) == 2 and "shop-x" in first
    assert assign_ids([["z:9"]], {}, "shop", reserved={"shop-x"})[0].startswith("shop-")
