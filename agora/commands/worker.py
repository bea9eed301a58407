"""``agora worker``: take crawl jobs from the catalog's queue until stopped.

- ``agora worker [--source KEY ...]``: register, then crawl each job the
  scheduler (or ``agora worker enqueue``) queued, one at a time, until SIGTERM
  or Ctrl-C (a crawl under way is stopped and its job put back for another
  worker); exit 0. Each job is logged on stderr.
- ``agora worker --once [--json]``: run the jobs queued now, then exit (exit 2
  when a run failed); ``--json`` prints the jobs' outcomes as JSON.
- ``agora worker enqueue SOURCE... [--full]``: queue crawls by hand.

Run one per machine or more (each with its own AGORA_HOME, all with the same
AGORA_CATALOG_URL); ``agora status`` lists them with their heartbeats. The
command is ``worker_cmd``; ``agora/cli.py`` names it in ``COMMANDS``.
"""

from __future__ import annotations

import dataclasses
import logging
import sys

import click

from agora import settings
from agora.commands.common import cli_errors, console, err_console, json_option, print_json
from agora.worker import JobOutcome, Worker
from catalog.store import Catalog
from crawlers.config import load_sources
from crawlers.errors import CrawlError


def _outcome_line(outcome: JobOutcome) -> str:
    figures = outcome.figures
    text = f"job {outcome.job_id} {outcome.source}: {outcome.status}"
    if outcome.run_id:
        text += f" (run {outcome.run_id}"
        if figures:
            text += f", {figures['listings']} listings, {figures['new']} new"
        text += ")"
    if outcome.taken_over_from:
        text += f", taken over from {outcome.taken_over_from}"
    if outcome.message:
        text += f" — {outcome.message}"
    return text


@click.group("worker", invoke_without_command=True)
@click.option("--source", "only", multiple=True,
              help="Crawl only this source (repeatable; default: every source of the file).")
@click.option("--once", is_flag=True, help="Run the jobs queued now, then exit.")
@click.option("--poll", type=float, default=None,
              help="Seconds between two looks at the queue (default: AGORA_WORKER_POLL).")
@click.option("--file", "sources_file", type=click.Path(dir_okay=False), default=None,
              help="The sources file (default: AGORA_SOURCES, else config/sources.yaml).")
@json_option
@click.pass_context
@cli_errors
def worker_cmd(ctx: click.Context, only: tuple[str, ...], once: bool, poll: float | None,
               sources_file: str | None, as_json: bool) -> None:
    """Take crawl jobs from the catalog's queue and crawl them, until stopped."""
    if ctx.invoked_subcommand is not None:
        return
    if as_json and not once:
        raise click.UsageError("--json goes with --once")

    logger = logging.getLogger("agora.worker")  # each job is logged, whatever -v says
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    path = str(sources_file or settings.sources_file())
    worker = Worker(settings.home(), sources_file=path, only=list(only) or None,
                    poll=poll if poll is not None else settings.worker_poll_seconds())
    if once:
        outcomes = []
        with worker:
            while (outcome := worker.run_once()) is not None:
                outcomes.append(outcome)
                if not as_json:
                    console.print(_outcome_line(outcome), highlight=False, markup=False)
        if as_json:
            print_json([dataclasses.asdict(o) for o in outcomes])
        sys.exit(2 if any(o.status in ("failed", "error") for o in outcomes) else 0)
    worker_id = worker.start()
    err_console.print(f"worker {worker_id} takes jobs from {worker.catalog.describe()}; "
                      "SIGTERM or Ctrl-C stops.", highlight=False, markup=False)
    sys.exit(worker.serve(on_outcome=lambda o: err_console.print(
        _outcome_line(o), highlight=False, markup=False)))


@worker_cmd.command("enqueue")
@click.argument("sources", nargs=-1, required=True)
@click.option("--full", is_flag=True, help="A full crawl, whatever the source's incremental "
                                           "setting.")
@cli_errors
def enqueue_cmd(sources: tuple[str, ...], full: bool) -> None:
    """Queue a crawl of each SOURCE for the workers (one open job per source)."""
    configs = load_sources(settings.sources_file())
    unknown = [s for s in sources if s not in configs]
    if unknown:
        raise CrawlError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(configs)}")
    with Catalog.open(settings.catalog_path()) as catalog:
        catalog.register_sources(configs.values())
        for source in sources:
            job, created = catalog.jobs.enqueue(source, full=full, by="operator")
            state = "queued" if created else f"already {job.status}"
            console.print(f"{source}: job {job.id} {state}", highlight=False, markup=False)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    worker_cmd()
