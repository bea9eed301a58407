"""The ``agora`` command line: thin click commands over the library.

Each command parses its options, calls one library function and prints a
summary. Errors of the library's packages become one readable line and exit
code 1; logging goes to stderr at the level ``-v`` asks for.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from agora import settings
from catalog.errors import CatalogError
from crawlers.errors import CrawlError
from dedup.errors import MatchError
from dedup.overlap_export import write_csv as write_csv_rows

console = Console()
err_console = Console(stderr=True)


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's errors into one line on stderr and exit code 1."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (CrawlError, CatalogError, MatchError, ValueError, FileNotFoundError) as exc:
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            sys.exit(1)
    return wrapper


@click.group()
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="agora")
def main(verbose: int) -> None:
    """Agora: one search over every local e-commerce platform of a territory."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)


# --------------------------------------------------------------------------- settings
@main.command("settings")
def settings_cmd() -> None:
    """List every setting with its value and help."""
    table = Table("setting", "value", "help")
    for s in settings.SETTINGS:
        table.add_row(s.name, settings.display(s.name), s.help)
    console.print(table)


# --------------------------------------------------------------------------- replicas
@main.group()
def replicas() -> None:
    """The local replicas of the platforms (seeded, with ground truth)."""


def world_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--seed", default=42, show_default=True, help="World seed.")(fn)
    fn = click.option("--shops", default=1500, show_default=True, help="Shops in the world.")(fn)
    fn = click.option("--epoch", default=0, show_default=True,
                      help="Serve the world K steps later (closures, openings, prices).")(fn)
    fn = click.option("--offers-per-shop", default=8, show_default=True,
                      help="Average offers per shop.")(fn)
    fn = click.option("--noise", type=click.Choice(["default", "hard"]), default="default",
                      show_default=True,
                      help="How the platforms show the world: hard adds the slips real data "
                           "has (for testing the matcher, never for tuning it).")(fn)
    fn = click.option("--region", "regions", multiple=True,
                      type=click.Choice(["toulouse", "grand_nancy"]),
                      default=("toulouse", "grand_nancy"), show_default=True,
                      help="Regions of the world (one per territory; Toulouse's always).")(fn)
    return fn


def _regions(chosen: tuple[str, ...]) -> tuple[str, ...]:
    """Toulouse's region first (the world is built from it), then the others chosen."""
    return ("toulouse", *(r for r in dict.fromkeys(chosen) if r != "toulouse"))


@replicas.command("serve")
@world_options
@click.option("--faults", default="none", show_default=True,
              help="Fault profile: none, flaky, hostile, or KIND=RATE,... "
                   "(5xx, slow, timeout, truncated, malformed, drift, bad).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--any-port", is_flag=True, help="Pick free ports instead of 8701-8706.")
@click.option("--ready-file", type=click.Path(dir_okay=False),
              help="Write the addresses as JSON here once serving.")
@friendly_errors
def replicas_serve(seed: int, shops: int, epoch: int, offers_per_shop: int, noise: str,
                   regions: tuple[str, ...], faults: str, host: str, any_port: bool,
                   ready_file: str | None) -> None:
    """Start every replica platform and print their addresses."""
    from replicas.server import ReplicaCluster, env_var_for  # noqa: PLC0415

    cluster = ReplicaCluster(seed, shops, epoch=epoch, offers_per_shop=offers_per_shop,
                             faults=faults, host=host, ports={} if any_port else None,
                             noise=noise, regions=_regions(regions))
    cluster.start()
    console.print(f"Replica world: seed {seed}, {shops} shops, epoch {epoch}, noise {noise}, "
                  f"faults {cluster.faults.describe()}")
    table = Table("platform", "address", "listings", "env var")
    for key, platform in cluster.platforms.items():
        table.add_row(platform.title, platform.base_url, str(len(platform.records)),
                      env_var_for(key))
    console.print(table)
    if ready_file:
        Path(ready_file).write_text(json.dumps({"urls": cluster.urls, "seed": seed,
                                                "shops": shops, "epoch": epoch}),
                                    encoding="utf-8")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    console.print("Serving; Ctrl-C to stop.")
    stop.wait()
    cluster.stop()


@replicas.command("truth")
@world_options
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@friendly_errors
def replicas_truth(seed: int, shops: int, epoch: int, offers_per_shop: int, noise: str,
                   regions: tuple[str, ...], out: str) -> None:
    """Write kind,source,source_id,entity_id for every listing the replicas serve."""
    from replicas.truth import write_truth  # noqa: PLC0415

    count = write_truth(out, seed=seed, shops=shops, epoch=epoch,
                        offers_per_shop=offers_per_shop, noise=noise, regions=_regions(regions))
    console.print(f"{count} listings written to {out}")


@replicas.command("listings")
@world_options
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@friendly_errors
def replicas_listings(seed: int, shops: int, epoch: int, offers_per_shop: int, noise: str,
                      regions: tuple[str, ...], out: str) -> None:
    """Write every listing the replicas serve, in the contract, as JSON Lines."""
    from replicas.truth import write_expected_listings  # noqa: PLC0415

    count = write_expected_listings(out, seed=seed, shops=shops, epoch=epoch,
                                    offers_per_shop=offers_per_shop, noise=noise,
                                    regions=_regions(regions))
    console.print(f"{count} listings written to {out}")


# --------------------------------------------------------------------------- crawl
def _progress_table(runs: dict[str, Any]) -> Table:
    table = Table("source", "status", "pages", "listings", "new", "updated", "errors",
                  title="Crawling")
    for key, run in runs.items():
        table.add_row(key, run.status, str(run.pages), str(run.listings), str(run.new),
                      str(run.updated), str(run.errors))
    return table


def summary_table(reports: list[Any]) -> Table:
    table = Table("source", "run", "status", "pages", "listings", "new", "updated",
                  "unchanged", "gone", "errors by kind", "duration", title="Crawl summary")
    for r in reports:
        run = r.run
        errors = ", ".join(f"{k} {v}" for k, v in sorted(r.errors_by_kind.items())) or "-"
        status = run.status + (" (resumed)" if r.resumed else "") + (
            " (already under way elsewhere)" if r.skipped else "")
        if run.mode == "incremental":
            status += " incr."
        table.add_row(r.source, str(run.id), status, str(run.pages), str(run.listings),
                      str(run.new), str(run.updated), str(run.unchanged), str(run.gone), errors,
                      f"{r.duration_s:.1f}s")
    return table


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--full", is_flag=True, help="Full crawls even where incremental is configured.")
@click.option("--quiet", is_flag=True, help="No live progress, only the summary.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@friendly_errors
def crawl(sources: tuple[str, ...], full: bool, quiet: bool, as_json: bool) -> None:
    """Crawl the named sources (default: every enabled one the territories served name, or
    that no territory names) into the catalog."""
    from agora.territories import sources_to_crawl  # noqa: PLC0415
    from catalog.store import Catalog  # noqa: PLC0415
    from crawlers.config import load_sources  # noqa: PLC0415
    from crawlers.orchestrator import crawl_sources  # noqa: PLC0415

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
        click.echo(json.dumps([{
            "source": r.source, "run": r.run.id, "status": r.run.status, "mode": r.run.mode,
            "resumed": r.resumed, "pages": r.run.pages, "listings": r.run.listings,
            "new": r.run.new, "updated": r.run.updated, "unchanged": r.run.unchanged,
            "gone": r.run.gone, "errors": r.errors_by_kind, "duration_s": r.duration_s,
        } for r in reports], indent=2))
    else:
        console.print(summary_table(reports))
    if any(r.run.status == "failed" for r in reports):
        sys.exit(2)


# --------------------------------------------------------------------------- export / import
@main.group("export")
def export_group() -> None:
    """Write what the catalog holds to files."""


@export_group.command("listings")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--source", "source", default=None, help="Only this source.")
@click.option("--include-gone", is_flag=True, help="Also listings marked gone.")
@click.option("--territory", default=None,
              help="Only listings of this territory: shops by their address, products by "
                   "their shop's.")
@friendly_errors
def export_listings(out: str, source: str | None, include_gone: bool,
                    territory: str | None) -> None:
    """Write the catalog's current listings in the contract (JSON Lines)."""
    from catalog.store import Catalog  # noqa: PLC0415
    from normalizer.territories import listings_in  # noqa: PLC0415

    territories = settings.territories()
    if territory is not None:
        territories.select([territory])  # an unknown key is refused
    status = None if include_gone else "live"
    count = 0
    with Catalog.open(settings.catalog_path()) as cat, open(out, "w", encoding="utf-8") as fh:
        items = cat.listings(source=source, status=status)
        if territory is not None:
            items = listings_in(lambda: cat.listings(source=source, status=status),
                                territories, territory)
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
            count += 1
    console.print(f"{count} listings written to {out}")


@main.group("import")
def import_group() -> None:
    """Load files into the catalog."""


@import_group.command("listings")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--partial", is_flag=True,
              help="The file is not a full delivery: mark nothing gone.")
@friendly_errors
def import_listings_cmd(path: str, partial: bool) -> None:
    """Load listings in the contract as a run of their sources, as if crawled."""
    from agora.importing import import_listings  # noqa: PLC0415
    from crawlers.config import load_sources  # noqa: PLC0415

    try:
        configs = load_sources(settings.sources_file())
    except CrawlError as exc:  # the file's listings stand on their own
        err_console.print("[yellow]warning:[/] sources not registered: " + escape(str(exc)),
                          highlight=False)
        configs = None
    reports = import_listings(path, settings.catalog_path(), complete=not partial,
                              sources=configs.values() if configs is not None else None)
    table = Table("source", "run", "status", "listings", "new", "updated", "unchanged", "gone",
                  "invalid", title="Import")
    for r in reports:
        table.add_row(r.source, str(r.run.id), r.run.status, str(r.run.listings), str(r.run.new),
                      str(r.run.updated), str(r.run.unchanged), str(r.run.gone),
                      str(r.errors_by_kind.get("invalid_listing", 0)))
    console.print(table)


# --------------------------------------------------------------------------- build / link
def _stage_line(stage: Any) -> str:
    figures = ", ".join(f"{k} {v}" for k, v in stage.figures.items()
                        if isinstance(v, int | float | str) and not isinstance(v, bool))
    return f"{stage.name:<10} {stage.seconds:7.2f}s  {figures}"


@main.command()
@click.option("--full", "mode", flag_value="full", help="Rebuild every entity.")
@click.option("--incremental", "mode", flag_value="incremental",
              help="Re-link only what changed since the last build.")
@click.option("--no-index", is_flag=True, help="Stop after dedup (no search index).")
@friendly_errors
def build(mode: str | None, no_index: bool) -> None:
    """Normalize, dedup and index the catalog (incremental when possible)."""
    from agora.pipeline import build as run_build  # noqa: PLC0415
    from catalog.store import Catalog  # noqa: PLC0415

    with Catalog.open(settings.catalog_path()) as cat:
        report = run_build(cat, mode=mode or "auto", index=not no_index,
                           on_stage=lambda st: console.print(_stage_line(st), highlight=False))
    console.print(f"build {report.build_id} ({report.mode}) done in "
                  f"{sum(s.seconds for s in report.stages):.2f}s")


@main.command("normalize")
@friendly_errors
def normalize_cmd() -> None:
    """Only the normalize stage: clean every listing whose raw content changed."""
    from agora.pipeline import normalize_stage  # noqa: PLC0415
    from catalog.store import Catalog  # noqa: PLC0415

    with Catalog.open(settings.catalog_path()) as cat:
        console.print(_stage_line(normalize_stage(cat)), highlight=False)


@main.command("link")
@click.argument("input_path", metavar="INPUT.jsonl", type=click.Path(exists=True,
                                                                    dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="CSV of kind,source,source_id,cluster_id.")
@click.option("--region", default="FR", show_default=True,
              help="Country whose phone numbers are written without a country code.")
@click.option("--no-territory", is_flag=True,
              help="Do not check coordinates against the territory (data from elsewhere).")
@friendly_errors
def link_cmd(input_path: str, out: str, region: str, no_territory: bool) -> None:
    """Normalize and cluster a file of listings without the catalog."""
    from agora.linking import link_file  # noqa: PLC0415
    from dedup.settings import load_settings  # noqa: PLC0415
    from normalizer import Territory  # noqa: PLC0415

    territory = (Territory(bbox=(-180.0, -90.0, 180.0, 90.0), region=region, name="anywhere")
                 if no_territory else Territory(region=region))
    report = link_file(input_path, out, load_settings(), territory=territory)
    stats = report.result.stats()
    console.print(f"{report.listings} listings linked in {report.seconds:.2f}s "
                  f"({report.listings / max(report.seconds, 1e-9):,.0f} listings/s; normalize "
                  f"{report.normalize_seconds:.2f}s)", highlight=False)
    for kind in ("shop", "offer", "product"):
        if stats["listings"].get(kind):
            console.print(f"  {kind}s: {stats['listings'][kind]} listings -> "
                          f"{stats['entities'][kind]} clusters; candidate pairs "
                          f"{stats['candidate_pairs'].get(kind, 0):,} of "
                          f"{stats['all_pairs'].get(kind, 0):,} "
                          f"(reduction {stats['reduction_ratio'].get(kind, 0):.6f})",
                          highlight=False)
    for reason in report.invalid[:20]:
        err_console.print(f"skipped {reason}", highlight=False)
    console.print(f"clusters written to {out}")


@main.group(invoke_without_command=True)
@click.option("--kind", type=click.Choice(["shop", "offer", "product"]), default=None)
@click.option("--limit", default=30, show_default=True)
@click.pass_context
@friendly_errors
def review(ctx: click.Context, kind: str | None, limit: int) -> None:
    """List pairs in the uncertain band; `review merge|split A B` decides."""
    if ctx.invoked_subcommand:
        return
    from agora.linking import review_pairs  # noqa: PLC0415
    from catalog.store import Catalog  # noqa: PLC0415

    with Catalog.open(settings.catalog_path()) as cat:
        pairs = review_pairs(cat, kind=kind, limit=limit)
    table = Table("kind", "score", "A", "B", title="Pairs to review (agora review merge|split A B)")
    for p in pairs:
        table.add_row(p["kind"], f"{p['score']:+.2f}", f"{p['a']}\n{p['a_label']}",
                      f"{p['b']}\n{p['b_label']}")
    console.print(table if pairs else "Nothing to review.")


def _decide(decision: str, first: str, second: str, note: str | None) -> None:
    from agora.linking import record_decision  # noqa: PLC0415
    from catalog.store import Catalog  # noqa: PLC0415

    with Catalog.open(settings.catalog_path()) as cat:
        record_decision(cat, first, second, decision, note)
    console.print(f"recorded: {decision} {first} {second}; every later build respects it "
                  "(run `agora build`).")


@review.command("merge")
@click.argument("first", metavar="SOURCE:ID")
@click.argument("second", metavar="SOURCE:ID")
@click.option("--note", default=None)
@friendly_errors
def review_merge(first: str, second: str, note: str | None) -> None:
    """Record that two listings are the same shop or offer."""
    _decide("merge", first, second, note)


@review.command("split")
@click.argument("first", metavar="SOURCE:ID")
@click.argument("second", metavar="SOURCE:ID")
@click.option("--note", default=None)
@friendly_errors
def review_split(first: str, second: str, note: str | None) -> None:
    """Record that two listings are different shops or offers."""
    _decide("split", first, second, note)


# --------------------------------------------------------------------------- runs
@main.command("runs")
@click.option("--source", default=None)
@click.option("--limit", default=20, show_default=True)
@friendly_errors
def runs_cmd(source: str | None, limit: int) -> None:
    """Recent crawl and import runs."""
    from catalog.store import Catalog  # noqa: PLC0415

    with Catalog.open(settings.catalog_path()) as cat:
        table = Table("run", "source", "kind", "mode", "status", "started", "pages", "listings",
                      "new", "updated", "gone", "errors", "message")
        for run in cat.runs(source, limit):
            table.add_row(str(run.id), run.source, run.kind, run.mode, run.status,
                          run.started_at[:19], str(run.pages), str(run.listings), str(run.new),
                          str(run.updated), str(run.gone), str(run.errors), run.message or "")
        console.print(table)


def write_csv(path: str, header: list[str], rows: list[list[Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        write_csv_rows(fh, header, rows)


def _register_commands() -> None:
    from agora.commands.catalog import catalog_group  # noqa: PLC0415
    from agora.commands.demo import demo_cmd  # noqa: PLC0415
    from agora.commands.matching import dedup_cmd, explain_cmd  # noqa: PLC0415
    from agora.commands.overlap import overlap_cmd  # noqa: PLC0415
    from agora.commands.schedule import schedule_cmd  # noqa: PLC0415
    from agora.commands.search import index_cmd, search_cmd  # noqa: PLC0415
    from agora.commands.serve import serve_cmd  # noqa: PLC0415
    from agora.commands.sources import sources_group  # noqa: PLC0415
    from agora.commands.status import accept_cmd, overview_cmd, status_cmd  # noqa: PLC0415
    from agora.commands.worker import worker_cmd  # noqa: PLC0415

    main.add_command(search_cmd)
    main.add_command(index_cmd)
    main.add_command(serve_cmd)
    main.add_command(overlap_cmd)
    main.add_command(demo_cmd)
    sources_group.add_command(status_cmd)
    sources_group.add_command(accept_cmd)
    main.add_command(sources_group)
    main.add_command(schedule_cmd)
    main.add_command(worker_cmd)
    main.add_command(overview_cmd)
    main.add_command(catalog_group)
    main.add_command(dedup_cmd)
    main.add_command(explain_cmd)


_register_commands()

if __name__ == "__main__":
    main()
