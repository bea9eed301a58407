"""``agora crawl`` and ``agora runs``: crawl sources into the catalog, and the runs so far.

- ``crawl [SOURCES...] [--full] [--quiet] [--json]``: crawl the named sources
  (default: every enabled one), with a live progress table on a terminal, then a
  summary per source; exit 2 when a run failed.
- ``runs [--source KEY] [--limit N] [--json]``: the recent crawl and import runs.

The commands are ``crawl_cmd`` and ``runs_cmd``; ``agora/cli.py`` names them in
``COMMANDS``.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.live import Live
from rich.table import Table

from agora import settings
from agora.commands.common import (
    cli_errors,
    console,
    json_option,
    plain_row,
    print_json,
    print_table,
)
from agora.territories import sources_to_crawl
from catalog.runs import Run
from catalog.store import Catalog
from crawlers.config import load_sources
from crawlers.errors import CrawlError
from crawlers.orchestrator import RunReport, crawl_sources


def _progress_table(runs: dict[str, Any]) -> Table:
    table = Table("source", "status", "pages", "listings", "new", "updated", "errors",
                  title="Crawling")
    for key, run in runs.items():
        table.add_row(*plain_row(key, run.status, run.pages, run.listings, run.new,
                                 run.updated, run.errors))
    return table


def summary_table(reports: list[RunReport]) -> Table:
    """The per-source table printed when a crawl ends."""
    table = Table("source", "run", "status", "pages", "listings", "new", "updated",
                  "unchanged", "gone", "errors by kind", "duration", title="Crawl summary")
    for r in reports:
        run = r.run
        errors = ", ".join(f"{k} {v}" for k, v in sorted(r.errors_by_kind.items())) or "-"
        status = run.status + (" (resumed)" if r.resumed else "") + (
            " (already under way elsewhere)" if r.skipped else "")
        if run.mode == "incremental":
            status += " incr."
        table.add_row(*plain_row(r.source, run.id, status, run.pages, run.listings, run.new,
                                 run.updated, run.unchanged, run.gone, errors,
                                 f"{r.duration_s:.1f}s"))
    return table


def report_json(r: RunReport) -> dict[str, Any]:
    """One source's crawl as ``crawl --json`` prints it."""
    return {"source": r.source, "run": r.run.id, "status": r.run.status, "mode": r.run.mode,
            "resumed": r.resumed, "pages": r.run.pages, "listings": r.run.listings,
            "new": r.run.new, "updated": r.run.updated, "unchanged": r.run.unchanged,
            "gone": r.run.gone, "errors": r.errors_by_kind, "duration_s": r.duration_s}


@click.command("crawl")
@click.argument("sources", nargs=-1)
@click.option("--full", is_flag=True, help="Full crawls even where incremental is configured.")
@click.option("--quiet", is_flag=True, help="No live progress, only the summary.")
@json_option
@cli_errors
def crawl_cmd(sources: tuple[str, ...], full: bool, quiet: bool, as_json: bool) -> None:
    """Crawl the named sources (default: every enabled one the territories served name, or
    that no territory names) into the catalog."""
    configs = load_sources(settings.sources_file())
    unknown = [s for s in sources if s not in configs]
    if unknown:
        raise CrawlError(f"unknown source(s) {', '.join(unknown)}; known: "
                         f"{', '.join(configs)}")
    with Catalog.open(settings.catalog_path()) as cat:  # what the web app may know of them
        cat.register_sources(configs.values())
    chosen = [configs[s] for s in sources] if sources else sources_to_crawl(
        configs, settings.all_territories(), settings.territories())
    if quiet or as_json or not console.is_terminal:
        reports = crawl_sources(chosen, settings.home(),
                                sources_file=str(settings.sources_file()), full=full)
    else:
        with Live(console=console, refresh_per_second=4) as live:
            reports = crawl_sources(chosen, settings.home(),
                                    sources_file=str(settings.sources_file()), full=full,
                                    on_progress=lambda runs: live.update(_progress_table(runs)))
    if as_json:
        print_json([report_json(r) for r in reports])
    else:
        print_table(summary_table(reports))
    if any(r.run.status == "failed" for r in reports):
        sys.exit(2)


def run_json(run: Run) -> dict[str, Any]:
    """One stored run as ``runs --json`` prints it."""
    return {"id": run.id, "source": run.source, "kind": run.kind, "mode": run.mode,
            "status": run.status, "started_at": run.started_at,
            "finished_at": run.finished_at, "pages": run.pages, "listings": run.listings,
            "new": run.new, "updated": run.updated, "unchanged": run.unchanged,
            "gone": run.gone, "errors": run.errors, "message": run.message}


@click.command("runs")
@click.option("--source", default=None, help="Only this source's runs.")
@click.option("--limit", default=20, show_default=True, help="Runs shown at most.")
@json_option
@cli_errors
def runs_cmd(source: str | None, limit: int, as_json: bool) -> None:
    """Recent crawl and import runs."""
    with Catalog.open(settings.catalog_path()) as cat:
        runs = cat.runs(source, limit)
    if as_json:
        print_json([run_json(run) for run in runs])
        return
    table = Table("run", "source", "kind", "mode", "status", "started", "pages", "listings",
                  "new", "updated", "gone", "errors", "message")
    for run in runs:
        table.add_row(*plain_row(run.id, run.source, run.kind, run.mode, run.status,
                                 run.started_at[:19], run.pages, run.listings, run.new,
                                 run.updated, run.gone, run.errors, run.message or ""))
    print_table(table)
