"""Learning the model's m and u from the listings themselves: Fellegi-Sunter by EM.

This follows Splink's method (u from random pairs, m by expectation-maximisation
over the blocked pairs, term-frequency adjustments), written with numpy over
the comparison levels the scorers already compute:

- Every pair of listings of a kind's population (all shop pairs; the pairs of
  products of one merged shop for offers; all pairs of shopless products) is
  either a candidate (blocking gave it) or not. Candidates are all compared;
  the others are represented by a random sample (``random_pairs``), and, as in
  Splink, taken as non-matches: a pair that shares no blocking key is almost
  never the same thing.
- u of a level is its share among non-matching pairs: the candidates weighted
  by 1 - p plus the non-candidates (their count times the sample's share of
  the level). m is its share among candidates weighted by p. lambda, the prior
  share of matches, is the expected number of matching candidates over all
  pairs. p, each candidate's match probability, comes from the current m, u and
  lambda; the two steps alternate until m stops moving.
- Each platform pair gets its own m, u and lambda, shrunk towards the kind's
  values by pseudo-counts (``pair_strength`` matches, ``sample_strength``
  random pairs): a pair with little data keeps the kind's values, a pair with
  much says what its own phones or names are worth. The kind's m is shrunk
  the same way towards the prior of config/matching.yaml (``m_strength``).
- Term frequencies: for the comparisons with ``tf_cap``, a level's reference
  is the mean log2 frequency of the rarest word shared by its candidate pairs;
  a pair agreeing on a rarer word gains the difference (bounded by the cap).

Missing and other neutral levels weigh nothing and are left out of every count.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dedup.model import KindModel, PairParams
from dedup.settings import EMSettings, KindSettings

log = logging.getLogger(__name__)


@dataclass
class LevelData:
    """The comparison levels of a kind's candidate pairs and of random other pairs.

    ``candidates`` and ``sample`` hold one row per pair and one column per comparison:
    the level's index in the comparison's levels, -1 for a neutral level. ``tf`` holds,
    per comparison with a term-frequency adjustment, the log2 frequency of the rarest
    word each candidate pair shares (NaN when none).
    """

    comparisons: list[str]
    levels: list[list[str]]
    pair_keys: list[str]
    candidates: np.ndarray
    candidate_pair: np.ndarray
    sample: np.ndarray
    sample_pair: np.ndarray
    all_pairs: np.ndarray
    tf: dict[str, np.ndarray]
    hard: np.ndarray | None = None  # candidates with a hard level: known non-matches


class LevelCoder:
    """Turns level names into the integer rows of ``LevelData``."""

    def __init__(self, settings: KindSettings) -> None:
        self.comparisons = list(settings.comparison_names)
        self.levels = [list(settings.comparison(c).level_names) for c in self.comparisons]
        self._index = [{lv: i for i, lv in enumerate(levels)} for levels in self.levels]
        self.pair_keys: list[str] = []
        self._pairs: dict[str, int] = {}

    def pair_index(self, key: str) -> int:
        index = self._pairs.get(key)
        if index is None:
            index = self._pairs[key] = len(self.pair_keys)
            self.pair_keys.append(key)
        return index

    def row(self, levels: Sequence[str]) -> list[int]:
        return [index.get(level, -1) for index, level in zip(self._index, levels, strict=True)]

    def matrix(self, rows: Sequence[Sequence[str]]) -> np.ndarray:
        out = np.full((len(rows), len(self.comparisons)), -1, dtype=np.int16)
        for c, index in enumerate(self._index):
            out[:, c] = [index.get(r[c], -1) for r in rows]
        return out


def sample_pairs(n: int, count: int, seed: int, exclude: set[tuple[int, int]]
                 ) -> list[tuple[int, int]]:
    """Up to ``count`` distinct random pairs (i < j) of ``n`` items not in ``exclude``."""
    total = n * (n - 1) // 2
    if total == 0:
        return []
    rng = random.Random(seed)
    if total - len(exclude) <= 2 * count:  # few enough to list them all
        every = [(i, j) for i in range(n) for j in range(i + 1, n) if (i, j) not in exclude]
        return sorted(rng.sample(every, min(count, len(every))))
    wanted = min(count, max(0, total - len(exclude)))
    out: set[tuple[int, int]] = set()
    tries = 0
    while len(out) < wanted and tries < wanted * 20:
        tries += 1
        i, j = rng.randrange(n), rng.randrange(n)
        if i == j:
            continue
        pair = (i, j) if i < j else (j, i)
        if pair not in exclude:
            out.add(pair)
    return sorted(out)


def sample_group_pairs(groups: Sequence[Sequence[int]], count: int, seed: int,
                       exclude: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """Random pairs within groups (e.g. the products of one shop), not in ``exclude``,
    each group drawn in proportion to its number of pairs not excluded (a group whose
    pairs are mostly excluded gives its few others from a list)."""
    group_of = {i: g for g, members in enumerate(groups) for i in members}
    excluded = [0] * len(groups)
    for i, j in exclude:
        g = group_of.get(i)
        if g is not None and group_of.get(j) == g:
            excluded[g] += 1
    free = [len(m) * (len(m) - 1) // 2 - excluded[g] for g, m in enumerate(groups)]
    usable = [g for g, f in enumerate(free) if f > 0]
    if not usable:
        return []
    rng = random.Random(seed)
    cumulative = list(itertools.accumulate(free[g] for g in usable))
    if cumulative[-1] <= 2 * count:  # few enough to list them all and draw without repeats
        every = [(a, b) if a < b else (b, a) for g in usable for x, a in enumerate(groups[g])
                 for b in groups[g][x + 1:] if ((a, b) if a < b else (b, a)) not in exclude]
        return sorted(rng.sample(every, min(count, len(every))))
    wanted = min(count, cumulative[-1])
    listed: dict[int, list[tuple[int, int]]] = {}
    out: set[tuple[int, int]] = set()
    tries = 0
    while len(out) < wanted and tries < wanted * 20:
        tries += 1
        g = usable[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]
        members = groups[g]
        if free[g] * 2 < len(members) * (len(members) - 1) // 2:
            if g not in listed:
                listed[g] = [(a, b) if a < b else (b, a) for x, a in enumerate(members)
                             for b in members[x + 1:]
                             if ((a, b) if a < b else (b, a)) not in exclude]
            out.add(listed[g][rng.randrange(len(listed[g]))])
            continue
        x, y = rng.randrange(len(members)), rng.randrange(len(members))
        if x == y:
            continue
        a, b = members[x], members[y]
        pair = (a, b) if a < b else (b, a)
        if pair not in exclude:
            out.add(pair)
    return sorted(out)


def _log2_odds(p: np.ndarray | float) -> np.ndarray | float:
    q = np.clip(p, 1e-300, 1 - 1e-16)
    return np.log2(q / (1 - q))


class _EM:
    """The counts and steps of the estimate for one kind (see the module docstring)."""

    def __init__(self, settings: KindSettings, em: EMSettings, data: LevelData) -> None:
        self.s, self.em, self.data = settings, em, data
        self.C, self.P = len(data.comparisons), len(data.pair_keys)
        self.L = [len(levels) for levels in data.levels]
        self.n = data.candidates.shape[0]
        self.pairs = data.candidate_pair.astype(np.int64)
        cand_per_pair = np.bincount(self.pairs, minlength=self.P).astype(float)
        self.cand_per_pair = cand_per_pair
        self.all_pairs = np.maximum(data.all_pairs.astype(float), cand_per_pair)
        self.total_all = float(self.all_pairs.sum())
        self.hard = data.hard if data.hard is not None else np.zeros(self.n, dtype=bool)
        self.prior_m = [self._prior(c, "m") for c in range(self.C)]
        self.prior_u = [self._prior(c, "u") for c in range(self.C)]
        self.other_counts = [self._others(c) for c in range(self.C)]
        self.valid = [data.candidates[:, c] >= 0 for c in range(self.C)]
        self.levels = [data.candidates[:, c].astype(np.int64) for c in range(self.C)]

    def _prior(self, c: int, which: str) -> np.ndarray:
        comp = self.s.comparison(self.data.comparisons[c])
        values = np.array([getattr(comp.prior(lv), which) for lv in self.data.levels[c]])
        return values / values.sum()

    def _others(self, c: int) -> np.ndarray:
        """Non-candidate pairs of each platform pair spread over levels by the sample."""
        em, P, L = self.em, self.P, self.L[c]
        others = self.all_pairs - self.cand_per_pair
        spair = self.data.sample_pair.astype(np.int64)
        col = self.data.sample[:, c]
        valid = col >= 0
        counts = np.zeros((P, L))
        np.add.at(counts, (spair[valid], col[valid].astype(np.int64)), 1.0)
        overall = (counts.sum(0) + em.u_strength * self.prior_u[c]) / (
            valid.sum() + em.u_strength)
        share = (counts + em.sample_strength * overall) / (
            counts.sum(1, keepdims=True) + em.sample_strength)
        per_pair = np.bincount(spair, minlength=P).astype(float)
        valid_all = float(valid.mean()) if len(valid) else 0.0
        valid_per_pair = np.bincount(spair[valid], minlength=P).astype(float)
        valid_share = (valid_per_pair + em.sample_strength * valid_all) / (
            per_pair + em.sample_strength)
        return others[:, None] * valid_share[:, None] * share

    def counts(self, c: int, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Weighted count of each (platform pair, level) of comparison c over ``rows``."""
        keep = rows & self.valid[c]
        index = self.pairs[keep] * self.L[c] + self.levels[c][keep]
        return np.bincount(index, weights=weights[keep],
                           minlength=self.P * self.L[c]).reshape(self.P, self.L[c])

    def m_of(self, c: int, pm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(kind's m, each pair's m) from match-weighted counts, shrunk to the prior."""
        em = self.em
        mk = (pm.sum(0) + em.m_strength * self.prior_m[c]) / (pm.sum() + em.m_strength)
        mp = (pm + em.pair_strength * mk) / (pm.sum(1, keepdims=True) + em.pair_strength)
        return mk, mp

    def u_of(self, c: int, pu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(kind's u, each pair's u): candidates weighted by 1 - p plus the other pairs."""
        em = self.em
        un = pu + self.other_counts[c]
        uk = (un.sum(0) + em.u_strength * self.prior_u[c]) / (un.sum() + em.u_strength)
        up = (un + em.u_strength * uk) / (un.sum(1, keepdims=True) + em.u_strength)
        return uk, up

    def logits(self, m_pair: list[np.ndarray], u_pair: list[np.ndarray],
               prior: np.ndarray, comps: Sequence[int]) -> np.ndarray:
        """Every candidate's match weight from the given comparisons."""
        logit = np.asarray(prior, dtype=float)[self.pairs].copy()
        for c in comps:
            w = np.clip(np.log2(m_pair[c] / u_pair[c]), -self.em.max_weight, self.em.max_weight)
            valid = self.valid[c]
            logit[valid] += w[self.pairs[valid], self.levels[c][valid]]
        return logit

    @staticmethod
    def probability(logit: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp2(-np.clip(logit, -200, 200)))


def _session_rows(em_: _EM, rule: Sequence[str]) -> tuple[np.ndarray, set[int]]:
    """Candidates agreeing on one of the rule's levels (and not hard), and the rule's
    comparisons (which the session does not estimate)."""
    names = em_.data.comparisons
    rows = np.zeros(em_.n, dtype=bool)
    fixed: set[int] = set()
    for item in rule:
        comp, _, level = item.partition(".")
        c = names.index(comp)
        fixed.add(c)
        rows |= em_.levels[c] == em_.data.levels[c].index(level)
    return rows & ~em_.hard, fixed


def _train_session(em_: _EM, rows: np.ndarray, fixed: set[int], u_pair: list[np.ndarray]
                   ) -> tuple[dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]], int]:
    """EM over one session's pairs: m of every comparison outside the rule."""
    C, em = em_.C, em_.em
    free = [c for c in range(C) if c not in fixed]
    m_pair = [np.tile(em_.prior_m[c], (em_.P, 1)) for c in range(C)]
    lam = 0.5
    m_prev = [m.copy() for m in em_.prior_m]
    found: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    iterations = 0
    for iterations in range(1, em.max_iterations + 1):  # noqa: B007 - returned
        prior = np.full(em_.P, float(_log2_odds(lam)))
        p = em_.probability(em_.logits(m_pair, u_pair, prior, free))
        p = np.where(rows, p, 0.0)
        delta = 0.0
        for c in free:
            pm = em_.counts(c, p, rows)
            mk, mp = em_.m_of(c, pm)
            found[c] = (mk, mp, pm.sum(1))
            m_pair[c] = mp
            delta = max(delta, float(np.abs(mk - m_prev[c]).max()))
            m_prev[c] = mk
        lam = float(min(max(p[rows].mean(), 1e-6), 1 - 1e-6)) if rows.any() else lam
        if delta < em.tolerance:
            break
    return found, iterations


def estimate_kind(kind: str, settings: KindSettings, em: EMSettings,
                  data: LevelData) -> KindModel:
    """m, u and lambda of every level of a kind, overall and per platform pair, by EM.

    As Splink trains m in sessions blocked on one field at a time, each of the kind's
    ``training`` rules selects the candidates agreeing on some levels and estimates the
    m of every other comparison on them; a comparison's m is the mean of its sessions'
    (weighted by their matches). Then one EM over every candidate, with those m fixed,
    estimates u, lambda, and the m of comparisons no session estimated.
    """
    t0 = time.perf_counter()
    e = _EM(settings, em, data)
    C, P, n = e.C, e.P, e.n
    names = data.comparisons

    p = np.zeros(n)
    u_kind, u_pair = map(list, zip(*(e.u_of(c, e.counts(c, 1.0 - p, np.ones(n, bool)))
                                     for c in range(C)), strict=True)) if C else ([], [])
    m_kind = list(e.prior_m)
    m_pair = [np.tile(e.prior_m[c], (P, 1)) for c in range(C)]
    trained: set[int] = set()
    sessions: list[dict[str, object]] = []
    lam_kind, lam_pair = settings.prior, np.full(P, settings.prior)
    iterations = total_iterations = 0
    converged = n == 0
    for _round in range(2):
        # sessions: m of the comparisons outside each rule, on the pairs the rule selects
        sums: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        sessions = []
        for rule in settings.training:
            rows, fixed = _session_rows(e, rule)
            if rows.sum() < em.min_session_pairs:
                sessions.append({"rule": list(rule), "pairs": int(rows.sum()), "skipped": True})
                continue
            found, its = _train_session(e, rows, fixed, u_pair)
            sessions.append({"rule": list(rule), "pairs": int(rows.sum()), "iterations": its})
            for c, (mk, mp, amount) in found.items():
                sums.setdefault(c, []).append((mk, mp, amount))
        trained = set(sums)
        for c, found_c in sums.items():
            totals = np.array([a.sum() for _, _, a in found_c]) + 1e-9
            m_kind[c] = sum(t * mk for t, (mk, _, _) in zip(totals, found_c, strict=True)) \
                / totals.sum()
            weights = np.stack([a for _, _, a in found_c]) + 1e-9  # (sessions, P)
            stacked = np.stack([mp for _, mp, _ in found_c])  # (sessions, P, L)
            m_pair[c] = (weights[:, :, None] * stacked).sum(0) / weights.sum(0)[:, None]
        # one EM over every candidate: u, lambda and the untrained comparisons' m
        all_rows = np.ones(n, dtype=bool)
        p_prev = np.full(n, -1.0)
        for iterations in range(1, em.max_iterations + 1):  # noqa: B007 - reported
            prior = np.asarray(_log2_odds(lam_pair), dtype=float)
            p = e.probability(e.logits(m_pair, u_pair, prior, range(C)))
            p[e.hard] = 0.0  # hard evidence against: never the same thing
            # lambda creeps towards its fixed point by small steps: watch the total too
            delta = max(float(np.abs(p - p_prev).max()),
                        abs(float(p.sum() - p_prev.sum())) / max(float(p.sum()), 1.0)) \
                if n else 0.0
            p_prev = p
            for c in range(C):
                if c not in trained:
                    mk, mp = e.m_of(c, e.counts(c, p, all_rows))
                    delta = max(delta, float(np.abs(mk - m_kind[c]).max()))
                    m_kind[c], m_pair[c] = mk, mp
                u_kind[c], u_pair[c] = e.u_of(c, e.counts(c, 1.0 - p, all_rows))
            matches: np.ndarray = np.bincount(e.pairs, weights=p, minlength=P)
            lam_kind = float((matches.sum() + em.prior_matches) / (
                e.total_all + em.prior_matches / settings.prior))
            lam_pair = (matches + em.prior_matches) / (e.all_pairs
                                                       + em.prior_matches / lam_kind)
            if delta < em.tolerance:
                converged = True
                break
        total_iterations += iterations

    tf_reference: dict[str, dict[str, float]] = {}
    for c, name in enumerate(names):
        tf = data.tf.get(name)
        if tf is None or not settings.comparison(name).tf_cap:
            continue
        refs: dict[str, float] = {}
        for lv_index, level in enumerate(data.levels[c]):
            rows = (e.levels[c] == lv_index) & ~np.isnan(tf)
            if rows.sum() >= 5:
                refs[level] = float(tf[rows].mean())
        if refs:
            tf_reference[name] = refs

    def probs(m: list[np.ndarray], u: list[np.ndarray], row: int | None
              ) -> dict[str, dict[str, tuple[float, float]]]:
        out: dict[str, dict[str, tuple[float, float]]] = {}
        for c, name in enumerate(names):
            mm = m[c] if row is None else m[c][row]
            uu = u[c] if row is None else u[c][row]
            out[name] = {lv: (float(mm[i]), float(uu[i])) for i, lv in enumerate(data.levels[c])}
        return out

    matches = np.bincount(e.pairs, weights=p, minlength=P) if n else np.zeros(P)
    platform_pairs = {
        key: PairParams(float(lam_pair[i]), probs(m_pair, u_pair, i), int(e.cand_per_pair[i]),
                        int(e.all_pairs[i]), round(float(matches[i]), 2))
        for i, key in enumerate(data.pair_keys)}
    fit = {"origin": "estimated", "iterations": total_iterations, "converged": converged,
           "candidate_pairs": int(n), "all_pairs": int(e.total_all),
           "random_pairs": int(len(data.sample)), "matches": round(float(p.sum()), 2),
           "sessions": sessions, "seconds": round(time.perf_counter() - t0, 3)}
    if not converged:
        log.warning("EM for %ss stopped after %d iterations without converging", kind,
                    iterations)
    return KindModel(kind=kind, comparisons=list(names), prior=float(lam_kind),
                     levels=probs(m_kind, u_kind, None), platform_pairs=platform_pairs,
                     tf_reference=tf_reference,
                     tf_cap={c: comp.tf_cap for c, comp in settings.comparisons if comp.tf_cap},
                     hard=list(settings.hard), max_weight=em.max_weight, fit=fit)


def token_log2_frequency(df: int, n: int) -> float:
    """log2 of the share of listings carrying a word (smoothed so that it is never 0)."""
    return math.log2((df + 1) / (n + 1))
