"""The one place crawled pages enter the catalog, whichever crawler produced them.

``CatalogSink.write`` validates each listing against the contract (an invalid
record is recorded with its URL and reason, and its id kept live), stores the
page in one transaction, and keeps the figures a run reports: pages, errors by
kind, pages lost, and the share of listings with each contract field filled.
Whatever it stores goes through the source's ``Redactor`` first: URLs and
reasons, and the known secret values out of listings and checkpoints.

``CatalogSink.finish`` ends the run: "failed" on a fatal error, "partial" when
pages were lost, else "complete" — unless its extraction fell against the
source's last good run, or it skipped too large a share of its links and sitemap
entries for being on other hosts (``crawlers.health``): then the run ends
"degraded", its updates are put back (listings keep their last good version),
nothing is marked gone, and the fall is logged at WARNING and recorded as errors
of kind "degraded" for the status command and the operator page.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

from catalog.store import Catalog, PageCounts, Run
from crawlers.errors import ErrorKind, InvalidListing, PageError
from crawlers.health import (
    HealthReport,
    HealthRules,
    RunFigures,
    check_health,
    offsite_problem,
    parse_rules,
)
from crawlers.listing import FIELDS, PageResult, validate_listing
from crawlers.redaction import Redactor

log = logging.getLogger(__name__)


class CatalogSink:
    """Writes one run's PageResults into the catalog."""

    def __init__(self, catalog: Catalog, run_id: int, source: str, *,
                 health: HealthRules | Mapping[str, Any] | None = None,
                 redactor: Redactor | None = None) -> None:
        self.catalog = catalog
        self.run_id = run_id
        self.source = source
        # the source's secrets, masked in everything stored (crawlers.redaction)
        self.redactor = redactor or Redactor()
        # the source's ``health:`` entry (or rules); defaults when not given
        self.health_rules = (health if isinstance(health, HealthRules)
                             else parse_rules(health, source=source))
        self._missing_examples: dict[str, str] = {}
        self.totals = PageCounts()
        self.errors: Counter[str] = Counter()
        # pages lost before a kill count too: they are kept in the run's stats
        self.failed_pages = int(catalog.get_run(run_id).stats.get("failed_pages", 0))
        self.gone_reported = 0
        self.high_water: str | None = catalog.get_run(run_id).stats.get("high_water")

    def write(self, result: PageResult) -> PageCounts:
        """Validate and store one page's listings, errors and checkpoint."""
        listings: list[dict[str, Any]] = []
        redactor = self.redactor
        errors = [redactor.error(PageError(*error)) for error in result.errors]
        touched = [(self.source, sid) for sid in result.touched]
        for raw in map(redactor.value, result.listings):
            try:
                if isinstance(raw, dict) and raw.get("source") not in (None, self.source):
                    raise InvalidListing(f"listing of source {raw.get('source')!r} in a run of "
                                         f"{self.source!r}")
                item = validate_listing({**raw, "source": self.source})
            except InvalidListing as exc:
                sid = raw.get("source_id") if isinstance(raw, dict) else None
                errors.append(PageError(raw.get("url") if isinstance(raw, dict) and
                                        isinstance(raw.get("url"), str) else result.url,
                                        exc.kind, f"{exc} (source_id={sid!r})"))
                if sid not in (None, ""):
                    touched.append((self.source, str(sid)))
                continue
            listings.append(item)
        for error in errors:
            self.errors[error.kind] += 1
        if result.high_water and (self.high_water is None or result.high_water > self.high_water):
            self.high_water = result.high_water
        if result.failed:
            self.failed_pages += 1
            run = self.catalog.get_run(self.run_id)
            self.catalog.set_run_stats(self.run_id, {**run.stats,
                                                     "failed_pages": self.failed_pages})
        counts = self.catalog.write_page(
            self.run_id, listings, url=redactor.text(result.url), mark_done=result.done,
            checkpoint=redactor.value(result.checkpoint), touched=touched, errors=errors,
            count_page=result.page)
        if result.gone:
            self.gone_reported += self.catalog.mark_gone(self.run_id, self.source, result.gone)
        self.totals += counts
        return counts

    def record_error(self, url: str | None, kind: str, reason: str) -> None:
        """Record an error met outside a page (the one that stopped a run), redacted."""
        error = self.redactor.error(PageError(url, kind, reason))
        self.errors[kind] += 1
        self.catalog.record_error(self.run_id, error.url, error.kind, error.reason)

    def seen_counts(self) -> tuple[Counter[str], Counter[str]]:
        """Listings of each kind seen in this run, and how many had each field filled."""
        kinds, filled, _ = self._scan()
        return kinds, filled

    def _scan(self) -> tuple[Counter[str], Counter[str], dict[str, str]]:
        """Kinds, filled counts, and for each field the URL of a listing without it."""
        kinds: Counter[str] = Counter()
        filled: Counter[str] = Counter()
        missing: dict[str, str] = {}
        for item in self.catalog.run_listings(self.run_id, self.source):
            kinds[item["kind"]] += 1
            for name in FIELDS[item["kind"]]:
                key = f"{item['kind']}.{name}"
                if name in item:
                    filled[key] += 1
                elif key not in missing and item.get("url"):
                    missing[key] = item["url"]
        self._missing_examples = missing
        return kinds, filled, missing

    def fill_rates(self) -> tuple[dict[str, int], dict[str, float]]:
        """Listings per kind, and the share of them with each contract field filled."""
        kinds, filled, _ = self._scan()
        rates = {}
        for kind, total in kinds.items():
            for name in FIELDS[kind]:
                if name in ("kind", "source", "source_id"):
                    continue
                rates[f"{kind}.{name}"] = round(filled[f"{kind}.{name}"] / total, 4)
        return dict(kinds), rates

    def finish(self, *, fatal: str | None = None, extra_stats: dict[str, Any] | None = None,
               ) -> Run:
        """End the run: complete when no page was lost, else partial (or failed);
        degraded when its extraction fell against the source's last good run."""
        fatal = self.redactor.text(fatal)
        if fatal:
            status = "failed"
        elif self.failed_pages:
            status = "partial"
        else:
            status = "complete"
        kinds, rates = self.fill_rates()
        stats: dict[str, Any] = {
            "failed_pages": self.failed_pages,
            "fill_rates": rates,
            "kinds": kinds,
        }
        if self.high_water:
            stats["high_water"] = self.high_water
        if extra_stats:
            stats.update(extra_stats)
        message = fatal or (f"{self.failed_pages} page(s) lost: listings not seen are kept, "
                            "nothing marked gone" if self.failed_pages else None)
        if status != "failed":
            report = self.check_health(status, kinds, rates)
            if report is not None:
                stats["health"] = report.to_dict()
            offsite = offsite_problem(stats.get("offsite"), self.health_rules)
            falls = [report.message()] if report is not None and report.degraded else []
            falls += [offsite] if offsite else []
            if falls:
                reverted = self.degrade(report, offsite)
                stats.setdefault("health", {})["reverted"] = reverted
                status = "degraded"
                message = (f"degraded: {'; '.join(falls)}; {reverted} listing(s) keep their "
                           "last good version, nothing marked gone"
                           + (f"; {message}" if message else ""))
        stats["errors_by_kind"] = self.catalog.errors_by_kind(self.run_id)
        return self.catalog.finish_run(self.run_id, status, message=message, stats=stats)

    def check_health(self, status: str, kinds: dict[str, int],
                     rates: dict[str, float]) -> HealthReport | None:
        """The run's figures against the source's last good run (crawls only)."""
        run = self.catalog.get_run(self.run_id)
        if run.kind != "crawl":
            return None
        baseline = self.catalog.baseline_run(self.source, before=self.run_id)
        current = RunFigures(kinds=kinds, fill_rates=rates, pages=run.pages, mode=run.mode,
                             status=status, run_id=run.id)
        report = check_health(current, RunFigures.of_run(baseline) if baseline else None,
                              self.health_rules)
        report.problems = [dataclasses.replace(p, example_url=self._missing_examples.get(p.key))
                           for p in report.problems]
        return report

    def degrade(self, report: HealthReport | None, offsite: str | None = None) -> int:
        """Put the run's updates back, tell the operator; how many listings were put back."""
        reverted = self.catalog.revert_run(self.run_id)
        problems = report.problems if report is not None and report.degraded else []
        for problem in problems:
            self.catalog.record_error(self.run_id, problem.example_url, ErrorKind.DEGRADED,
                                      problem.describe())
        if offsite:
            self.catalog.record_error(self.run_id, None, ErrorKind.DEGRADED, offsite)
        why = "; ".join([report.message()] if problems and report is not None else []
                        + ([offsite] if offsite else []))
        log.warning("%s: run %d degraded, %s; %d listing(s) keep their last good version, "
                    "nothing marked gone", self.source, self.run_id, why, reverted)
        return reverted
