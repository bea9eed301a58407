"""``agora schedule``: crawl each source on the schedule of its sources.yaml entry.

- ``agora schedule [SOURCES...]``: run until SIGTERM or SIGINT (Ctrl-C), each
  source on its ``schedule:`` (interval or cron, with jitter); after each crawl
  the build is brought up to date and the new index swapped in. Each run is
  logged on stderr. Running crawls get ``--grace`` to finish on stop; exit 0.
- ``agora schedule --once [SOURCES...] [--json]``: run what is due now (or
  overdue), one source after the other, then exit: for cron users. Exit 2 when a
  run failed or ended degraded. ``--json`` prints the runs and the next plan.
- ``--crawl auto|inline|queue`` (default ``AGORA_SCHEDULE_CRAWL``, else auto):
  crawl in this process (inline), or enqueue crawl jobs for ``agora worker``
  processes (queue; ``--once`` then waits up to ``--wait`` for them to end and
  builds once); auto queues a source when a live worker crawls it, else crawls
  inline, so one machine needs no worker.

The plan and the last runs are kept in the catalog (``schedule_state``): a
restart picks them up, and ``agora sources status`` shows them. The command is
``schedule_cmd``; ``agora/cli.py`` names it in ``COMMANDS``.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from datetime import datetime
from pathlib import Path

import click
from rich.table import Table

from agora import settings
from agora.commands.common import (
    cli_errors,
    console,
    err_console,
    json_option,
    plain_row,
    print_json,
    print_table,
    print_warning,
)
from agora.scheduler import Outcome, Scheduler, default_build
from agora.territories import sources_to_crawl
from catalog.store import Catalog
from crawlers.config import load_sources, parse_duration
from crawlers.errors import CrawlError


@click.command("schedule")
@click.argument("sources", nargs=-1)
@click.option("--once", is_flag=True, help="Run what is due now, then exit (for cron).")
@click.option("--stagger", default="1m", show_default=True,
              help="Overdue sources start this far apart after a (re)start.")
@click.option("--grace", default="2m", show_default=True,
              help="On SIGTERM, how long running crawls may finish before they are stopped "
                   "(a stopped run resumes at the next start).")
@click.option("--misfire-grace", default="1h", show_default=True,
              help="A run later than this (the machine slept) waits for the next time.")
@click.option("--timezone", default="Europe/Paris", show_default=True,
              help="Time zone of the cron entries.")
@click.option("--no-build", is_flag=True, help="Crawl only; no build after each crawl.")
@click.option("--crawl", "crawl_mode", type=click.Choice(["auto", "inline", "queue"]),
              default=None, help="Crawl in this process, or enqueue for `agora worker` "
                                 "processes (default: AGORA_SCHEDULE_CRAWL, else auto).")
@click.option("--wait", default="6h", show_default=True,
              help="With --once and queued crawls: how long to wait for the workers.")
@click.option("--file", "sources_file", type=click.Path(dir_okay=False), default=None,
              help="The sources file (default: AGORA_SOURCES, else config/sources.yaml).")
@json_option
@cli_errors
def schedule_cmd(sources: tuple[str, ...], once: bool, stagger: str, grace: str,
                 misfire_grace: str, timezone: str, no_build: bool, crawl_mode: str | None,
                 wait: str, sources_file: str | None, as_json: bool) -> None:
    """Crawl each source on its schedule (default: every enabled source with one)."""
    if as_json and not once:
        raise click.UsageError("--json goes with --once")
    path = Path(sources_file) if sources_file else settings.sources_file()
    configs = load_sources(path)
    unknown = [s for s in sources if s not in configs]
    if unknown:
        raise CrawlError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(configs)}")
    unscheduled = [s for s in sources if not configs[s].schedule]
    if unscheduled:
        raise CrawlError(f"no schedule: entry for {', '.join(unscheduled)} in {path}")
    chosen = ([configs[s] for s in sources] if sources
              else [c for c in sources_to_crawl(configs, settings.all_territories(),
                                                settings.territories()) if c.schedule])
    if not chosen:
        raise CrawlError(f"no enabled source has a schedule: entry in {path}")
    with Catalog.open(settings.catalog_path()) as catalog:  # what the web app may know of them
        catalog.register_sources(configs.values())
    for name in ("agora.scheduler", "crawlers.health"):  # each run is logged, whatever -v says
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
    scheduler = Scheduler(chosen, settings.home(), sources_file=str(path),
                          build=None if no_build else default_build, timezone=timezone,
                          stagger=0 if once else parse_duration(stagger),
                          misfire_grace=parse_duration(misfire_grace), shutdown_grace=parse_duration(grace),
                          crawl_mode=crawl_mode or settings.schedule_crawl_mode())
    if once:
        with scheduler:
            scheduler.start()
            outcomes = scheduler.tick()
            if scheduler.queued:
                err_console.print(f"{len(scheduler.queued)} crawl(s) queued; waiting for the "
                                  f"workers (at most {wait})", highlight=False)
                if not scheduler.settle(parse_duration(wait)):
                    print_warning("queued crawls still waiting: is an `agora worker` running?")
            plan = scheduler.next_runs()
        if as_json:
            print_json({"runs": [dataclasses.asdict(o) for o in outcomes],
                        "next_runs": {key: fire.isoformat() for key, fire in plan.items()}})
        else:
            _print_outcomes(outcomes, plan)
        if any(o.status in ("failed", "degraded", "error", "queued") or o.build_error
               for o in outcomes):
            sys.exit(2)
        return
    plan = scheduler.start()
    table = Table("source", "schedule", "next run (UTC)", title=f"Schedule ({path})")
    for key, fire in sorted(plan.items(), key=lambda kv: kv[1]):
        table.add_row(*plain_row(key, scheduler.cadences[key].describe(),
                                 fire.isoformat()[:19]))
    print_table(table, err_console)
    err_console.print("Scheduling; SIGTERM or Ctrl-C stops.", highlight=False)
    sys.exit(scheduler.serve())


def _print_outcomes(outcomes: list[Outcome], plan: dict[str, datetime]) -> None:
    if not outcomes:
        console.print("Nothing due.", highlight=False)
    else:
        table = Table("source", "run", "status", "pages", "listings", "new", "updated", "gone",
                      "errors", "build", "message", title="Scheduled runs")
        for o in outcomes:
            f = o.figures
            errors = ", ".join(f"{k} {v}" for k, v in sorted(f.get("errors", {}).items())) or "-"
            status = o.status + (f" (job {o.job_id})" if o.job_id else "")
            table.add_row(*plain_row(o.source, o.run_id or "-", status, f.get("pages", "-"),
                                     f.get("listings", "-"), f.get("new", "-"),
                                     f.get("updated", "-"), f.get("gone", "-"), errors,
                                     o.build_id or "-", (o.build_error or o.message or "")[:120]))
        print_table(table)
    for key, fire in sorted(plan.items(), key=lambda kv: kv[1]):
        console.print(f"{key}: next run at {fire.isoformat()[:19]} UTC", highlight=False)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    schedule_cmd()
