"""The learned Fellegi-Sunter model: a plain object, stored with a build and shown.

For each kind (shops, offers, products that name no shop) the model holds, for
every comparison level, m (its share among pairs that are the same thing) and
u (its share among pairs that are not), the prior share of matching pairs
(lambda), the same per platform pair where the data said something of its own,
and the reference each term-frequency adjustment is measured from. A level's
weight is log2(m/u); a pair's match weight is the prior's log2 odds plus the
weights of its levels, so that 0 is "as likely the same as not". The model is
JSON-serialisable (``to_dict``/``from_dict``) and rendered as text by
``render_model`` (every level's m, u and weight) and ``render_waterfall`` (one
pair's weights added up, comparison by comparison).

Example:
    >>> from dedup.settings import load_settings
    >>> model = MatchModel.from_priors(load_settings())
    >>> model.origin, sorted(model.kinds)
    ('priors', ['offer', 'product', 'shop'])
    >>> MatchModel.from_dict(model.to_dict()) == model
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dedup.settings import KindSettings, MatchSettings

FORMAT = 1
Probabilities = dict[str, dict[str, tuple[float, float]]]  # comparison -> level -> (m, u)


def pair_key(a: str, b: str) -> str:
    """The key of a platform pair, the same in both orders: 'clickandco|dansmazone'."""
    return f"{a}|{b}" if a <= b else f"{b}|{a}"


def log2_odds(p: float) -> float:
    p = min(max(p, 1e-300), 1.0 - 1e-16)
    return math.log2(p / (1.0 - p))


def probability(weight: float) -> float:
    """Match probability of a match weight (log2 odds)."""
    if weight > 60:
        return 1.0
    if weight < -60:
        return 0.0
    return 1.0 / (1.0 + 2.0 ** -weight)


@dataclass
class PairParams:
    """What one platform pair learned on its own (shrunk towards the kind's values)."""

    prior: float
    levels: Probabilities
    candidate_pairs: int = 0
    all_pairs: int = 0
    matches: float = 0.0


@dataclass
class KindModel:
    """The model of one kind: levels' m and u, the prior, per-pair values, TF references."""

    kind: str
    comparisons: list[str]
    prior: float
    levels: Probabilities
    platform_pairs: dict[str, PairParams] = field(default_factory=dict)
    tf_reference: dict[str, dict[str, float]] = field(default_factory=dict)
    tf_cap: dict[str, float] = field(default_factory=dict)
    hard: list[str] = field(default_factory=list)
    max_weight: float = 24.0
    fit: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tables: dict[str, tuple[float, dict[tuple[str, str], float]]] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KindModel) and self.to_dict() == other.to_dict()

    def _weight(self, m: float, u: float) -> float:
        w = math.log2(max(m, 1e-300) / max(u, 1e-300))
        return max(-self.max_weight, min(self.max_weight, w))

    def table(self, pair: str | None) -> tuple[float, dict[tuple[str, str], float]]:
        """(prior match weight, {(comparison, level): weight}) of a platform pair (the
        kind's own values for a pair the model never saw)."""
        key = pair if pair in self.platform_pairs else ""
        cached = self._tables.get(key)
        if cached is not None:
            return cached
        params = self.platform_pairs.get(key) if key else None
        prior = params.prior if params else self.prior
        levels = params.levels if params else self.levels
        weights = {(comp, level): self._weight(m, u)
                   for comp, by_level in levels.items() for level, (m, u) in by_level.items()}
        table = (log2_odds(prior), weights)
        self._tables[key] = table
        return table

    def weight(self, comparison: str, level: str, pair: str | None = None) -> float:
        """The weight of a level (0 for a neutral one)."""
        return self.table(pair)[1].get((comparison, level), 0.0)

    def tf_adjustment(self, comparison: str, level: str, log2_u: float | None) -> float:
        """Extra weight for agreeing on a word rarer (or commoner) than the level's usual one."""
        if log2_u is None:
            return 0.0
        reference = self.tf_reference.get(comparison, {}).get(level)
        if reference is None:
            return 0.0
        cap = self.tf_cap.get(comparison, 0.0)
        return max(-cap, min(cap, reference - log2_u))

    # ---------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        def probs(levels: Probabilities) -> dict[str, Any]:
            return {c: {lv: [m, u] for lv, (m, u) in by.items()} for c, by in levels.items()}

        return {
            "kind": self.kind, "comparisons": list(self.comparisons), "prior": self.prior,
            "levels": probs(self.levels),
            "platform_pairs": {k: {"prior": p.prior, "levels": probs(p.levels),
                                   "candidate_pairs": p.candidate_pairs,
                                   "all_pairs": p.all_pairs, "matches": p.matches}
                               for k, p in sorted(self.platform_pairs.items())},
            "tf_reference": {c: dict(r) for c, r in self.tf_reference.items()},
            "tf_cap": dict(self.tf_cap), "hard": list(self.hard),
            "max_weight": self.max_weight, "fit": dict(self.fit),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KindModel:
        def probs(levels: Mapping[str, Any]) -> Probabilities:
            return {c: {lv: (float(mu[0]), float(mu[1])) for lv, mu in by.items()}
                    for c, by in levels.items()}

        return cls(
            kind=str(data["kind"]), comparisons=list(data["comparisons"]),
            prior=float(data["prior"]), levels=probs(data["levels"]),
            platform_pairs={k: PairParams(float(p["prior"]), probs(p["levels"]),
                                          int(p.get("candidate_pairs", 0)),
                                          int(p.get("all_pairs", 0)),
                                          float(p.get("matches", 0.0)))
                            for k, p in data.get("platform_pairs", {}).items()},
            tf_reference={c: {lv: float(v) for lv, v in r.items()}
                          for c, r in data.get("tf_reference", {}).items()},
            tf_cap={c: float(v) for c, v in data.get("tf_cap", {}).items()},
            hard=list(data.get("hard", [])), max_weight=float(data.get("max_weight", 24.0)),
            fit=dict(data.get("fit", {})),
        )

    @classmethod
    def from_priors(cls, kind: str, settings: KindSettings, max_weight: float) -> KindModel:
        """The model the settings' priors describe (no data seen)."""
        levels = {name: {lv: (p.m, p.u) for lv, p in comp.levels}
                  for name, comp in settings.comparisons}
        return cls(kind=kind, comparisons=list(settings.comparison_names), prior=settings.prior,
                   levels=levels, tf_cap={name: comp.tf_cap for name, comp
                                          in settings.comparisons if comp.tf_cap},
                   hard=list(settings.hard), max_weight=max_weight,
                   fit={"origin": "priors"})


@dataclass
class MatchModel:
    """Every kind's model, where it came from, and what it was estimated on."""

    kinds: dict[str, KindModel]
    origin: str = "priors"  # "priors" | "estimated"
    meta: dict[str, Any] = field(default_factory=dict)

    def kind(self, kind: str) -> KindModel:
        return self.kinds[kind]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (``json.dumps`` takes it as is)."""
        return {"format": FORMAT, "origin": self.origin, "meta": dict(self.meta),
                "kinds": {k: m.to_dict() for k, m in sorted(self.kinds.items())}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MatchModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown match model format {data.get('format')!r}")
        return cls({k: KindModel.from_dict(v) for k, v in data["kinds"].items()},
                   str(data.get("origin", "estimated")), dict(data.get("meta", {})))

    @classmethod
    def from_priors(cls, settings: MatchSettings) -> MatchModel:
        """The model of the settings' priors alone (used before any estimate)."""
        return cls({kind: KindModel.from_priors(kind, settings.kind(kind), settings.em.max_weight)
                    for kind in ("shop", "offer", "product")}, "priors", {})


# --------------------------------------------------------------------------- rendering
def _fmt_p(p: float) -> str:
    return f"{p:.3g}" if p >= 1e-3 else f"{p:.2e}"


def render_kind(model: KindModel, *, pairs: bool = True, min_gap: float = 1.0) -> list[str]:
    """Lines showing a kind's prior, every level's m, u and weight, and the platform
    pairs whose own weights differ from the kind's by at least ``min_gap`` bits."""
    prior_w, weights = model.table(None)
    fit = model.fit
    lines = [f"{model.kind}s: prior {_fmt_p(model.prior)} (match weight {prior_w:+.2f})"
             + (f"; {fit.get('origin', 'estimated')}, {fit.get('iterations', 0)} EM iterations"
                f"{'' if fit.get('converged', True) else ' (not converged)'}, "
                f"{fit.get('candidate_pairs', 0):,} candidate pairs, "
                f"{fit.get('random_pairs', 0):,} random pairs, "
                f"~{fit.get('matches', 0):,.0f} matches" if fit.get("origin") == "estimated"
                else "; priors from config/matching.yaml")]
    lines.append(f"  {'comparison':<12} {'level':<24} {'m':>9} {'u':>9} {'weight':>8}")
    for comp in model.comparisons:
        for level, (m, u) in model.levels.get(comp, {}).items():
            hard = " hard" if f"{comp}.{level}" in model.hard else ""
            lines.append(f"  {comp:<12} {level:<24} {_fmt_p(m):>9} {_fmt_p(u):>9} "
                         f"{weights[(comp, level)]:>+8.2f}{hard}")
        if comp in model.tf_reference:
            refs = ", ".join(f"{lv} {2 ** ref:.2g}" for lv, ref in model.tf_reference[comp].items())
            lines.append(f"  {comp:<12} term frequency adjustment up to ±"
                         f"{model.tf_cap.get(comp, 0):.1f} bits around the usual word "
                         f"frequency of each level ({refs})")
    if pairs:
        for key, params in sorted(model.platform_pairs.items()):
            p_prior, p_weights = model.table(key)
            gaps = [(c, lv, w, p_weights[(c, lv)]) for (c, lv), w in weights.items()
                    if (c, lv) in p_weights and abs(p_weights[(c, lv)] - w) >= min_gap]
            lines.append(f"  platform pair {key}: prior {_fmt_p(params.prior)} "
                         f"({p_prior:+.2f}), {params.candidate_pairs:,} candidate pairs, "
                         f"~{params.matches:,.0f} matches"
                         + ("; own weights: " + ", ".join(
                             f"{c}.{lv} {pw:+.1f} (kind {w:+.1f})" for c, lv, w, pw in gaps)
                            if gaps else ""))
    return lines


def render_model(model: MatchModel, kinds: Iterable[str] = ("shop", "offer", "product"),
                 *, pairs: bool = True) -> str:
    """The model as text: what ``agora dedup --show-model`` prints."""
    head = (f"match model ({model.origin}"
            + (", " + ", ".join(f"{k} {v}" for k, v in sorted(model.meta.items()))
               if model.meta else "") + ")")
    lines = [head]
    for kind in kinds:
        if kind in model.kinds:
            lines.append("")
            lines.extend(render_kind(model.kinds[kind], pairs=pairs))
    return "\n".join(lines)


def render_waterfall(parts: Sequence[tuple[str, str, float]], threshold: float = 0.0) -> str:
    """One pair's match weight built up part by part (what ``agora explain`` shows): the
    prior of its platform pair, then each comparison's level and weight, with the running
    total and the match probability at the end."""
    lines = [f"  {'part':<14} {'level':<34} {'weight':>8} {'total':>8}"]
    total = 0.0
    for name, level, weight in parts:
        total += weight
        bar_len = min(30, int(round(abs(weight))))
        bar = ("+" if weight >= 0 else "-") * bar_len
        lines.append(f"  {name:<14} {level[:34]:<34} {weight:>+8.2f} {total:>+8.2f}  {bar}")
    verdict = "match" if total >= threshold else "no match"
    lines.append(f"  {'':<14} {'match weight':<34} {'':>8} {total:>+8.2f}  "
                 f"probability {probability(total):.4f} -> {verdict} "
                 f"(threshold {threshold:+.2f})")
    return "\n".join(lines)
