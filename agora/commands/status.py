"""``agora status``, ``agora sources status`` and ``agora sources accept``: how it is doing.

- ``agora status [--json] [--check]``: the deployment at a glance: the catalog
  (engine, where), the last build, the scheduler, every crawl worker with its
  heartbeat, the queue (waiting, running, orphaned jobs), and each source's
  state. ``--check`` exits 1 when a source is degraded or failing, a running job
  lost its worker, or the last build failed.

- ``status [SOURCES...] [--json] [--check]``: per source, its state (ok, partial,
  degraded, failing, interrupted, running, never run), the last run (status,
  when, duration, pages, listings, errors by kind), the next scheduled run, fill
  rates (and those that fell against the last good run), and the last errors
  with their URLs. ``--check`` exits 1 when a source is degraded or failing.
- ``accept SOURCE``: the platform really shrank; take the source's last degraded
  run as its new baseline.

The commands are ``overview_cmd`` (``agora status``), ``status_cmd`` and
``accept_cmd``; ``agora/cli.py`` names the first in ``COMMANDS``, the ``sources``
group names the other two in its lazy table.
Figures come from ``catalog.status``.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from agora import settings
from agora.commands.common import (
    cli_errors,
    console,
    json_option,
    print_json,
    print_table,
    print_warning,
)
from catalog.status import overview, scheduler_status, source_statuses
from catalog.store import Catalog
from crawlers.config import load_sources
from crawlers.errors import CrawlError
from crawlers.health import accept_degraded_run

STATE_STYLES = {"ok": "green", "partial": "yellow", "degraded": "bold red", "failing": "bold red",
                "interrupted": "yellow", "running": "cyan", "never run": "dim"}


def when(value: str | None) -> str:
    """'2025-03-01 12:07 UTC' from an ISO time; '-' for none."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")


def _configs(sources_file: str | None) -> tuple[dict[str, Any], str | None]:
    """The sources file's entries, or none and why (the status still shows the catalog)."""
    path = Path(sources_file) if sources_file else settings.sources_file()
    try:
        return load_sources(path), None
    except CrawlError as exc:
        return {}, str(exc)


@click.command("status")
@click.argument("sources", nargs=-1)
@json_option
@click.option("--errors", "error_limit", default=5, show_default=True,
              help="Last errors shown per source.")
@click.option("--check", is_flag=True, help="Exit 1 when a source is degraded or failing.")
@click.option("--file", "sources_file", type=click.Path(dir_okay=False), default=None,
              help="The sources file (default: AGORA_SOURCES, else config/sources.yaml).")
@cli_errors
def status_cmd(sources: tuple[str, ...], as_json: bool, error_limit: int, check: bool,
               sources_file: str | None) -> None:
    """Each source's state, last and next run, figures and last errors."""
    configs, config_error = _configs(sources_file)
    with Catalog.open(settings.catalog_path()) as catalog:
        if config_error is None:
            catalog.register_sources(configs.values())
        statuses = source_statuses(catalog, error_limit=error_limit)
        scheduler = scheduler_status(catalog)
    if sources:
        unknown = set(sources) - {s.key for s in statuses}
        if unknown:
            raise CrawlError(f"unknown source(s) {', '.join(sorted(unknown))}")
        statuses = [s for s in statuses if s.key in sources]
    if as_json:
        print_json({"scheduler": scheduler, "config_error": config_error,
                    "sources": [s.to_dict() for s in statuses]})
    else:
        _print(statuses, scheduler, config_error)
    if check and any(s.state in ("degraded", "failing") for s in statuses):
        sys.exit(1)


def _print(statuses: list[Any], scheduler: dict[str, Any], config_error: str | None) -> None:
    if config_error:
        print_warning(config_error)
    sched = (f"scheduler running (pid {scheduler['pid']}, since {when(scheduler['since'])})"
             if scheduler.get("running") else "scheduler not running")
    table = Table("source", "state", "last run", "duration", "pages", "listings", "errors",
                  "next run", title=f"Sources — {sched}")
    for s in statuses:
        run = s.last_run or {}
        listings = ", ".join(f"{k} {v}" for k, v in sorted((run.get("kinds") or {}).items()))
        errors = ", ".join(f"{k} {v}" for k, v in sorted(
            (run.get("errors_by_kind") or {}).items())) or "-"
        last = (f"{run['id']} {run['status']} {run['mode']}\n{when(run.get('finished_at'))}"
                if run else "-")
        duration = f"{run['duration_s']:.1f}s" if run.get("duration_s") is not None else "-"
        state = s.state + (f" (run {s.current_run['id']})" if s.current_run else "")
        table.add_row(escape(s.key), f"[{STATE_STYLES.get(s.state, '')}]{escape(state)}[/]",
                      escape(last), duration, str(run.get("pages", "-")),
                      escape(listings or str(run.get("listings", "-"))), escape(errors),
                      next_run_text(s))
    print_table(table)
    for s in statuses:
        lines = []
        for problem in s.problems:
            lines.append(f"  [bold red]fell:[/] {escape(problem)}")
        if s.last_run and s.last_run.get("message"):
            lines.append(f"  message: {escape(s.last_run['message'])}")
        if s.scheduler and s.scheduler.get("last_message"):
            lines.append(f"  scheduler: {escape(s.scheduler['last_message'])}")
        # the fields that fell, then the least filled of those filled at all
        shown = [f for f in s.fill if f["fell"]]
        shown += sorted((f for f in s.fill if 0 < f["rate"] < 1 and not f["fell"]),
                        key=lambda f: f["rate"])[:4]
        if shown:
            lines.append("  fill rates: " + ", ".join(
                f"{escape(f['field'])} {f['rate']:.0%}"
                + (f" (was {f['baseline']:.0%})" if f["baseline"] is not None
                   and abs(f["baseline"] - f["rate"]) >= 0.05 else "")
                for f in shown))
        for e in s.errors:
            lines.append(f"  {escape(e['kind'])}: {escape(e['reason'][:160])} "
                         f"[dim]{escape(e['url'] or '-')}[/]")
        if lines:
            console.print(f"[bold]{escape(s.name)}[/] ({escape(s.key)})", highlight=False)
            for line in lines:
                console.print(line, highlight=False, soft_wrap=True)


def next_run_text(status: Any) -> str:
    if status.next_run_at:
        return when(status.next_run_at)
    if not status.enabled:
        return "disabled"
    return "not planned yet" if status.schedule else "no schedule"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def overview_problems(data: dict[str, Any]) -> list[str]:
    """What ``agora status --check`` fails on, in words."""
    problems = [f"source {s['key']} is {s['state']}" for s in data["sources"]
                if s["state"] in ("degraded", "failing")]
    problems += [f"job {j} runs on a dead worker (waiting to be taken over)"
                 for j in data["queue"]["orphaned"]]
    if data["build"] and data["build"]["status"] == "failed":
        problems.append(f"build {data['build']['id']} failed")
    return problems


@click.command("status")
@json_option
@click.option("--check", is_flag=True,
              help="Exit 1 when a source is degraded or failing, a running job lost its worker, "
                   "or the last build failed.")
@cli_errors
def overview_cmd(as_json: bool, check: bool) -> None:
    """The deployment at a glance: catalog, build, scheduler, workers, queue, sources."""
    with Catalog.open_read_only(settings.catalog_path()) as catalog:
        data = overview(catalog)
    problems = overview_problems(data)
    if as_json:
        print_json({**data, "problems": problems})
    else:
        _print_overview(data, problems)
    if check and problems:
        sys.exit(1)


def _print_overview(data: dict[str, Any], problems: list[str]) -> None:
    cat, build, sched, queue = data["catalog"], data["build"], data["scheduler"], data["queue"]
    entities = ", ".join(f"{k} {v}" for k, v in sorted(cat["entities"].items())) or "none"
    console.print(f"[bold]Catalog[/] {escape(cat['engine'])} {escape(cat['location'])}: "
                  f"{cat['live_listings']} live listings; entities {entities}", highlight=False)
    console.print("[bold]Build[/] " + (
        f"{build['id']} {build['mode']} {build['status']}, finished {when(build['finished_at'])}"
        if build else "none yet"), highlight=False)
    console.print("[bold]Scheduler[/] " + (
        f"running (pid {sched['pid']} on {escape(str(sched['host']))}, since "
        f"{when(sched['since'])}, heartbeat {when(sched['heartbeat_at'])})"
        if sched.get("running") else "not running"), highlight=False)
    workers = Table("worker", "host", "pid", "state", "job", "heartbeat", "alive", "jobs done",
                    title=f"Workers ({len(data['workers'])})", title_justify="left")
    for w in data["workers"]:
        job = f"{w['job_id']} {w['source']}" if w["job_id"] else "-"
        workers.add_row(escape(w["id"]), escape(w["host"]), str(w["pid"]), w["state"],
                        escape(job), f"{_age(w['heartbeat_age_s'])} ago",
                        "[green]yes[/]" if w["alive"] else "[bold red]no[/]", str(w["jobs_done"]))
    print_table(workers)
    console.print(f"[bold]Queue[/] {queue['queued']} queued, {queue['running']} running"
                  + (f", oldest waiting {_age(queue['oldest_queued_age_s'])}"
                     if queue["oldest_queued_at"] else "")
                  + (f", orphaned jobs {queue['orphaned']}" if queue["orphaned"] else ""),
                  highlight=False)
    sources = Table("source", "state", "last run", "next run", title="Sources",
                    title_justify="left")
    for s in data["sources"]:
        run = s["last_run"]
        last = f"{run['id']} {run['status']} {when(run['finished_at'])}" if run else "-"
        sources.add_row(escape(s["key"]),
                        f"[{STATE_STYLES.get(s['state'], '')}]{escape(s['state'])}[/]",
                        escape(last), when(s["next_run_at"]))
    print_table(sources)
    for problem in problems:
        console.print(f"[bold red]problem:[/] {escape(problem)}", highlight=False)


@click.command("accept")
@click.argument("source")
@cli_errors
def accept_cmd(source: str) -> None:
    """Take SOURCE's last degraded run as its new baseline (the platform really shrank)."""
    with Catalog.open(settings.catalog_path()) as catalog:
        run = accept_degraded_run(catalog, source)
    console.print(f"{source}: run {run.id} is the new baseline; the next run is compared with "
                  "it.", highlight=False)


if __name__ == "__main__":
    status_cmd()
