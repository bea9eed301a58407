"""The EM estimate: it recovers the m and u that generated comparison levels."""

from __future__ import annotations

import numpy as np

from dedup.estimate import LevelCoder, LevelData, estimate_kind, sample_group_pairs, sample_pairs
from dedup.settings import load_settings

SETTINGS = load_settings()


def _synthetic(rng: np.random.Generator, matches: int, others: int, m: dict[str, list[float]],
               u: dict[str, list[float]], coder: LevelCoder) -> np.ndarray:
    rows = np.zeros((matches + others, len(coder.comparisons)), dtype=np.int16)
    for c, name in enumerate(coder.comparisons):
        levels = len(coder.levels[c])
        rows[:matches, c] = rng.choice(levels, size=matches, p=m[name])
        rows[matches:, c] = rng.choice(levels, size=others, p=u[name])
    return rows


def test_em_recovers_the_generating_m_and_u() -> None:
    """Offers' comparisons drawn from known m and u: the estimate finds them back.

    Every pair is a candidate here (no blocking), so lambda is the share of matches.
    """
    settings = SETTINGS.offers
    coder = LevelCoder(settings)
    rng = np.random.default_rng(7)
    m = {"gtin": [0.9, 0.1], "variant": [0.85, 0.15],
         "title": [0.6, 0.2, 0.1, 0.05, 0.03, 0.02], "brand": [0.85, 0.05, 0.1],
         "price": [0.5, 0.3, 0.15, 0.05]}
    u = {"gtin": [0.01, 0.99], "variant": [0.2, 0.8],
         "title": [0.05, 0.03, 0.04, 0.03, 0.15, 0.70], "brand": [0.28, 0.02, 0.7],
         "price": [0.05, 0.1, 0.35, 0.5]}
    matches, others = 3000, 20000
    candidates = _synthetic(rng, matches, others, m, u, coder)
    sample = _synthetic(rng, 0, 20000, m, u, coder)
    pair = coder.pair_index("a|b")
    data = LevelData(coder.comparisons, coder.levels, coder.pair_keys, candidates,
                     np.full(len(candidates), pair, dtype=np.int32), sample,
                     np.full(len(sample), pair, dtype=np.int32),
                     np.array([float(len(candidates))]), {}, None)
    model = estimate_kind("offer", settings, SETTINGS.em, data)
    assert abs(model.fit["matches"] - matches) / matches < 0.05
    for comp, levels in m.items():
        for i, level in enumerate(coder.levels[coder.comparisons.index(comp)]):
            got_m, got_u = model.levels[comp][level]
            assert abs(got_m - levels[i]) < 0.03, (comp, level, got_m, levels[i])
            assert abs(got_u - u[comp][i]) < 0.05, (comp, level, got_u, u[comp][i])
    # the weight of strong agreement is positive, of disagreement negative
    assert model.weight("gtin", "same") > 5 > 0 > model.weight("gtin", "different")


def test_a_small_file_keeps_the_priors() -> None:
    """Three candidate pairs cannot overrule the domain's priors."""
    settings = SETTINGS.shops
    coder = LevelCoder(settings)
    pair = coder.pair_index("a|b")
    rows = coder.matrix([("exact", "exact", "by_postcode", "same", "missing", "missing",
                          "missing", "missing", "overlap")] * 3)
    data = LevelData(coder.comparisons, coder.levels, coder.pair_keys, rows,
                     np.full(3, pair, dtype=np.int32), np.zeros((0, rows.shape[1]), np.int16),
                     np.zeros(0, dtype=np.int32), np.array([10.0]), {}, None)
    model = estimate_kind("shop", settings, SETTINGS.em, data)
    prior = settings.comparison("phone").prior("same")
    m, u = model.levels["phone"]["same"]
    assert abs(m - prior.m / (prior.m + settings.comparison("phone").prior("different").m)) < 0.2
    assert u < 1e-3


def test_random_pairs_avoid_the_candidates_and_stay_in_their_groups() -> None:
    exclude = {(0, 1), (2, 3)}
    pairs = sample_pairs(10, 20, seed=1, exclude=exclude)
    assert len(pairs) == 20 and not set(pairs) & exclude
    assert all(i < j for i, j in pairs)
    groups = [[0, 1, 2], [3, 4], [5]]
    within = sample_group_pairs(groups, 10, seed=1, exclude={(0, 1)})
    assert set(within) <= {(0, 2), (1, 2), (3, 4)}
    assert sample_pairs(10, 5, seed=3, exclude=set()) == sample_pairs(10, 5, seed=3,
                                                                      exclude=set())
