"""Pairwise precision, recall and F1 of a clustering against the truth.

Two listings form a pair when they share a cluster; the figures compare the
predicted pairs with the true ones. Counting goes through cluster
intersections, so it stays linear in the number of listings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class PairwiseScores:
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self) -> str:
        return (f"precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}  "
                f"(true pairs {self.true_pairs}, predicted {self.predicted_pairs}, "
                f"correct {self.correct_pairs})")


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise_scores(predicted: Mapping[str, str], truth: Mapping[str, str],
                    keys: Iterable[str] | None = None) -> PairwiseScores:
    """Compare two assignments listing key -> cluster id over ``keys`` (default: truth's)."""
    keys = list(keys if keys is not None else truth)
    pred_sizes: Counter[str] = Counter()
    true_sizes: Counter[str] = Counter()
    both: Counter[tuple[str, str]] = Counter()
    for k in keys:
        p = predicted.get(k, "__alone__" + k)
        t = truth.get(k, "__alone__" + k)
        pred_sizes[p] += 1
        true_sizes[t] += 1
        both[(p, t)] += 1
    return PairwiseScores(
        true_pairs=sum(_pairs(n) for n in true_sizes.values()),
        predicted_pairs=sum(_pairs(n) for n in pred_sizes.values()),
        correct_pairs=sum(_pairs(n) for n in both.values()),
    )


def cross_pair_scores(predicted: Mapping[str, str], left: Iterable[str], right: Iterable[str],
                      gold: set[tuple[str, str]]) -> PairwiseScores:
    """Two-table benchmarks: pairs (left, right) sharing a cluster against gold pairs."""
    by_cluster_right: dict[str, list[str]] = {}
    for r in right:
        if r in predicted:
            by_cluster_right.setdefault(predicted[r], []).append(r)
    predicted_pairs = set()
    for l_key in left:
        cluster = predicted.get(l_key)
        for r in by_cluster_right.get(cluster, []) if cluster else []:
            predicted_pairs.add((l_key, r))
    return PairwiseScores(true_pairs=len(gold), predicted_pairs=len(predicted_pairs),
                          correct_pairs=len(predicted_pairs & gold))


def labelled_scores(predicted: Mapping[str, str],
                    pairs: Iterable[tuple[str, str, bool]]) -> PairwiseScores:
    """Labelled pairs (left, right, is a match): a pair is predicted a match when both
    records share a cluster."""
    true = predicted_pairs = correct = 0
    for left, right, label in pairs:
        same = left in predicted and predicted.get(left) == predicted.get(right)
        true += label
        predicted_pairs += same
        correct += label and same
    return PairwiseScores(true, predicted_pairs, correct)
