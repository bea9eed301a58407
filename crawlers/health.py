"""Source health: did a run's extraction fall against the source's last good run.

A platform that changes its layout rarely fails loudly: pages still answer 200,
but a selector finds nothing, and a run "completes" with far fewer listings or
with fields suddenly empty. ``check_health`` compares a finished run's figures
(listings per kind, the share of listings with each contract field filled) with
the source's last good run (complete and full, see ``Catalog.baseline_run``) and
names what fell; ``CatalogSink.finish`` then ends the run "degraded": nothing is
marked gone, the run's updates are put back, and the operator is told. A run is
degraded too when it skipped more than ``max_offsite_share`` of the links and
sitemap entries it met for being on other hosts (``offsite_problem``): the
listings behind them would otherwise be marked gone. The
thresholds come from the source's ``health:`` entry in sources.yaml (``HEALTH_KEYS``),
validated by ``parse_rules``.

What fell is stored with the run as ``catalog.status.Problem`` rows, which the
catalog's status (``catalog.status.source_statuses``: what ``agora sources
status`` and the operator page show) reads back without this module.

Example:
    >>> base = RunFigures(kinds={"shop": 100}, fill_rates={"shop.address": 1.0})
    >>> now = RunFigures(kinds={"shop": 100}, fill_rates={"shop.address": 0.1})
    >>> check_health(now, base, HealthRules()).problems[0].key
    'shop.address'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from catalog.errors import CatalogError
from catalog.status import Problem
from catalog.store import Catalog, Run
from crawlers.errors import SourceConfigError
from crawlers.source import SourceConfig

__all__ = ["HEALTH_KEYS", "HealthReport", "HealthRules", "Problem", "RunFigures",
           "accept_degraded_run", "check_health", "offsite_problem", "parse_rules",
           "rules_for"]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class HealthRules:
    """When a run counts as degraded against the source's last good run."""

    enabled: bool = True
    min_listing_ratio: float = 0.5
    min_fill_ratio: float = 0.5
    watched_fill: float = 0.8
    min_listings: int = 20
    ignore_fields: tuple[str, ...] = ()
    #: a run that skipped more than this share of the links and sitemap entries it met
    #: (on other hosts) is degraded: what it did not see would be marked gone. One in
    #: ten is past what a platform links elsewhere by mistake (a partner page, a stray
    #: absolute link), while the listings it would wrongly mark gone stay few
    max_offsite_share: float = 0.1


# key: (types, help); every key is optional, defaults in HealthRules
HEALTH_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "enabled": ((bool,), "check the source's runs at all (default true)"),
    "min_listing_ratio": ((int, float), "a full run with fewer listings of a kind than this "
                                        "share of the last good run's is degraded (0.5)"),
    "min_fill_ratio": ((int, float), "a watched field filled in less than this share of its "
                                     "rate in the last good run is degraded (0.5)"),
    "watched_fill": ((int, float), "fields filled in at least this share of the last good "
                                   "run's listings are watched (0.8)"),
    "min_listings": ((int,), "kinds with fewer listings than this are not judged (20)"),
    "ignore_fields": ((list,), "fields never judged, as kind.field (e.g. shop.email)"),
    "max_offsite_share": ((int, float), "a run that skipped more than this share of the "
                                        "links and sitemap entries it met, for being on "
                                        "other hosts, is degraded (0.1)"),
}
_RATIOS = ("min_listing_ratio", "min_fill_ratio", "watched_fill", "max_offsite_share")


def parse_rules(health: Mapping[str, Any] | None, *, source: str = "") -> HealthRules:
    """Validate a source's ``health:`` mapping into ``HealthRules``.

    Raises:
        SourceConfigError: an unknown key, a wrong type or a value out of range,
            named with the source and the key.
    """
    if not health:
        return HealthRules()
    where = f"source {source!r}: health: " if source else "health: "
    if not isinstance(health, Mapping):
        raise SourceConfigError(f"{where}must be a mapping", source=source or None)
    values: dict[str, Any] = {}
    types: tuple[type[Any], ...]
    for key, value in health.items():
        if key not in HEALTH_KEYS:
            raise SourceConfigError(f"{where}unknown key {key!r} (known: "
                                    f"{', '.join(sorted(HEALTH_KEYS))})", source=source or None)
        types, help_text = HEALTH_KEYS[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise SourceConfigError(f"{where}key {key!r} has a wrong type ({value!r}): "
                                    f"{help_text}", source=source or None)
        if key in _RATIOS and not 0 <= value <= 1:
            raise SourceConfigError(f"{where}key {key!r} must be between 0 and 1, got {value!r}",
                                    source=source or None)
        if key == "min_listings" and value < 1:
            raise SourceConfigError(f"{where}key 'min_listings' must be at least 1",
                                    source=source or None)
        if key == "ignore_fields":
            bad = [f for f in value if not isinstance(f, str) or f.count(".") != 1]
            if bad:
                raise SourceConfigError(f"{where}ignore_fields must list kind.field names "
                                        f"(e.g. shop.email), got {bad!r}", source=source or None)
            value = tuple(value)
        values[key] = float(value) if key in _RATIOS else value
    return HealthRules(**values)


def rules_for(config: SourceConfig) -> HealthRules:
    """The source's rules from its ``health:`` entry (validated)."""
    return parse_rules(config.health, source=config.key)


# --------------------------------------------------------------------------- the check
@dataclass(frozen=True)
class RunFigures:
    """What health compares: listings per kind and fill rates ("kind.field" -> share)."""

    kinds: Mapping[str, int] = field(default_factory=dict)
    fill_rates: Mapping[str, float] = field(default_factory=dict)
    pages: int = 0
    mode: str = "full"
    status: str = "complete"
    run_id: int | None = None

    @classmethod
    def of_run(cls, run: Run) -> RunFigures:
        return cls(kinds=run.stats.get("kinds") or {}, fill_rates=run.stats.get("fill_rates") or {},
                   pages=run.pages, mode=run.mode, status=run.status, run_id=run.id)


@dataclass
class HealthReport:
    """The verdict on one run: ok, degraded (with its problems), no_baseline or off."""

    state: str
    baseline_run: int | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def degraded(self) -> bool:
        return self.state == "degraded"

    def message(self) -> str:
        if not self.problems:
            return self.state
        where = f" (compared with run {self.baseline_run})" if self.baseline_run else ""
        return "extraction fell" + where + ": " + "; ".join(p.describe() for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "baseline_run": self.baseline_run,
                "problems": [asdict(p) for p in self.problems]}


def check_health(current: RunFigures, baseline: RunFigures | None,
                 rules: HealthRules) -> HealthReport:
    """Compare a finished run's figures with the source's last good run.

    Args:
        current: the run's figures (complete or partial; full or incremental).
        baseline: the last good run's, or None when there is none yet.
        rules: the thresholds.
    Returns:
        "degraded" with the problems found; "ok"; "no_baseline"; "off" when disabled.

    Listing counts are compared only for a complete full run (a partial run lost
    pages, an incremental one sees only changes); fill rates whenever the run has
    at least ``min_listings`` listings of the kind. Only kinds the baseline had at
    least ``min_listings`` of, and fields it filled in ``watched_fill`` of them, are
    judged: a rare field coming and going is not a broken selector.

    >>> base = RunFigures(kinds={"shop": 100, "product": 500})
    >>> check_health(RunFigures(kinds={"shop": 98, "product": 40}), base,
    ...              HealthRules()).message()
    'extraction fell: product listings fell from 500 to 40 (under 250)'
    """
    if not rules.enabled:
        return HealthReport("off")
    if baseline is None:
        return HealthReport("no_baseline")
    problems: list[Problem] = []
    ignored = set(rules.ignore_fields)
    if current.mode == "full" and current.status == "complete":
        for kind, base_count in sorted(baseline.kinds.items()):
            count = current.kinds.get(kind, 0)
            threshold = rules.min_listing_ratio * base_count
            if base_count >= rules.min_listings and count < threshold:
                problems.append(Problem("listings", kind, base_count, count, threshold))
    for key, base_rate in sorted(baseline.fill_rates.items()):
        kind = key.partition(".")[0]
        if (key in ignored or base_rate < rules.watched_fill
                or baseline.kinds.get(kind, 0) < rules.min_listings
                or current.kinds.get(kind, 0) < rules.min_listings):
            continue
        rate = current.fill_rates.get(key, 0.0)
        threshold = rules.min_fill_ratio * base_rate
        if rate < threshold:
            problems.append(Problem("fill", key, base_rate, rate, threshold))
    return HealthReport("degraded" if problems else "ok", baseline.run_id, problems)


def offsite_problem(offsite: Mapping[str, Any] | None, rules: HealthRules) -> str | None:
    """Why a run skipped too large a share of its links and sitemap entries for being on
    other hosts (``CatalogSpider.offsite_stats``), or None.

    >>> print(offsite_problem({"followed": 75, "skipped": {"cdn.test:80": 548}},
    ...                       HealthRules()).split(":")[0])
    548 of 623 links and sitemap entries (88%) were on other hosts (cdn.test
    """
    if not rules.enabled or not offsite:
        return None
    skipped = dict(offsite.get("skipped") or {})
    total = sum(skipped.values())
    met = total + int(offsite.get("followed") or 0)
    if not total or total / met <= rules.max_offsite_share:
        return None
    hosts = ", ".join(f"{host} {n}" for host, n in sorted(skipped.items(), key=lambda i: -i[1]))
    return (f"{total} of {met} links and sitemap entries ({total / met:.0%}) were on other "
            f"hosts ({hosts}), not followed (over {rules.max_offsite_share:.0%}): list them in "
            "allowed_hosts if they are the platform's")


def accept_degraded_run(catalog: Catalog, source: str) -> Run:
    """Take the source's last degraded run as its new baseline (the platform really shrank).

    The next run is then compared with that run's figures; the degraded run's own
    updates stay put back (its listings are refreshed by that next run).

    Raises:
        CatalogError: the source's last finished crawl run is not degraded.
    """
    run = next((r for r in catalog.runs(source, limit=30)
                if r.kind == "crawl" and r.finished), None)
    if run is None or run.status != "degraded":
        raise CatalogError(f"{source}: the last finished crawl run is "
                           f"{'missing' if run is None else f'{run.status} (run {run.id})'}, "
                           "not degraded: nothing to accept")
    health = dict(run.stats.get("health") or {})
    health.update(accepted=True, accepted_at=datetime.now(UTC).isoformat(timespec="seconds"))
    catalog.set_run_stats(run.id, {**run.stats, "health": health})
    log.warning("%s: degraded run %d accepted as the new baseline", source, run.id)
    return catalog.get_run(run.id)
