"""``agora link`` and ``agora review``: clustering a file, and the operator's decisions.

- ``link INPUT.jsonl --out FILE.csv [--region R] [--no-territory]``: normalize and
  cluster a file of listings without the catalog, coordinates checked against the
  served territories' area as ``agora build`` does (``agora.linking.link_area``).
- ``review [--kind K] [--limit N] [--json]``: the pairs in the uncertain band;
  ``review merge|split A B [--note TEXT]`` records a decision every later build
  respects.

The commands are ``link_cmd`` and ``review_group``; ``agora/cli.py`` names them in
``COMMANDS``.
"""

from __future__ import annotations

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
)
from agora.linking import link_area, link_file, record_decision, review_pairs
from catalog.store import Catalog
from dedup.settings import load_settings


@click.command("link")
@click.argument("input_path", metavar="INPUT.jsonl", type=click.Path(exists=True,
                                                                    dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="CSV of kind,source,source_id,cluster_id.")
@click.option("--region", default="FR", show_default=True,
              help="Country whose phone numbers are written without a country code.")
@click.option("--no-territory", is_flag=True,
              help="Do not check coordinates against the served territories (data from "
                   "elsewhere).")
@cli_errors
def link_cmd(input_path: str, out: str, region: str, no_territory: bool) -> None:
    """Normalize and cluster a file of listings without the catalog."""
    area = link_area(region, anywhere=no_territory)
    report = link_file(input_path, out, load_settings(), territory=area)
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
    if report.outside:
        console.print(f"  {report.outside} listings with coordinates outside {area.name} "
                      "(coordinates dropped)", highlight=False, markup=False)
    for reason in report.invalid[:20]:
        err_console.print(f"skipped {reason}", highlight=False, markup=False)
    console.print(f"clusters written to {out}", highlight=False, markup=False)


@click.group("review", invoke_without_command=True)
@click.option("--kind", type=click.Choice(["shop", "offer", "product"]), default=None)
@click.option("--limit", default=30, show_default=True)
@json_option
@click.pass_context
@cli_errors
def review_group(ctx: click.Context, kind: str | None, limit: int, as_json: bool) -> None:
    """List pairs in the uncertain band; `review merge|split A B` decides."""
    if ctx.invoked_subcommand:
        return
    with Catalog.open(settings.catalog_path()) as cat:
        pairs = review_pairs(cat, kind=kind, limit=limit)
    if as_json:
        print_json(pairs)
        return
    if not pairs:
        console.print("Nothing to review.")
        return
    table = Table("kind", "score", "A", "B", title="Pairs to review (agora review merge|split A B)")
    for p in pairs:
        table.add_row(*plain_row(p["kind"], f"{p['score']:+.2f}", f"{p['a']}\n{p['a_label']}",
                                 f"{p['b']}\n{p['b_label']}"))
    print_table(table)


def _decide(decision: str, first: str, second: str, note: str | None) -> None:
    with Catalog.open(settings.catalog_path()) as cat:
        record_decision(cat, first, second, decision, note)
    console.print(f"recorded: {decision} {first} {second}; every later build respects it "
                  "(run `agora build`).", highlight=False, markup=False)


@review_group.command("merge")
@click.argument("first", metavar="SOURCE:ID")
@click.argument("second", metavar="SOURCE:ID")
@click.option("--note", default=None)
@cli_errors
def merge_cmd(first: str, second: str, note: str | None) -> None:
    """Record that two listings are the same shop or offer."""
    _decide("merge", first, second, note)


@review_group.command("split")
@click.argument("first", metavar="SOURCE:ID")
@click.argument("second", metavar="SOURCE:ID")
@click.option("--note", default=None)
@cli_errors
def split_cmd(first: str, second: str, note: str | None) -> None:
    """Record that two listings are different shops or offers."""
    _decide("split", first, second, note)
