"""``agora export`` and ``agora import``: the catalog's listings to and from files.

- ``export listings --out FILE [--source KEY] [--include-gone]``: the catalog's
  current listings in the contract, as JSON Lines.
- ``import listings FILE [--partial] [--json]``: load listings in the contract as
  a run of their sources, as if crawled (``--partial``: mark nothing gone).

The groups are ``export_group`` and ``import_group``; ``agora/cli.py`` names them
in ``COMMANDS``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import click
from rich.table import Table

from agora import settings
from agora.commands.common import (
    cli_errors,
    console,
    json_option,
    plain_row,
    print_json,
    print_table,
    print_warning,
)
from agora.importing import import_listings
from catalog.store import Catalog
from crawlers.config import load_sources
from crawlers.errors import CrawlError
from normalizer.territories import listings_in


@click.group("export")
def export_group() -> None:
    """Write what the catalog holds to files."""


@export_group.command("listings")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--source", "source", default=None, help="Only this source.")
@click.option("--include-gone", is_flag=True, help="Also listings marked gone.")
@click.option("--territory", default=None,
              help="Only listings of this territory: shops by their address, products by "
                   "their shop's.")
@cli_errors
def export_listings_cmd(out: str, source: str | None, include_gone: bool,
                        territory: str | None) -> None:
    """Write the catalog's current listings in the contract (JSON Lines)."""
    territories = settings.territories()
    if territory is not None:
        territories.select([territory])  # an unknown key is refused
    status = None if include_gone else "live"
    count = 0
    with Catalog.open(settings.catalog_path()) as cat, open(out, "w", encoding="utf-8") as fh:
        items: Iterable[Mapping[str, Any]] = cat.listings(source=source, status=status)
        if territory is not None:
            items = listings_in(lambda: cat.listings(source=source, status=status),
                                territories, territory)
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
            count += 1
    console.print(f"{count} listings written to {out}", highlight=False, markup=False)


@click.group("import")
def import_group() -> None:
    """Load files into the catalog."""


@import_group.command("listings")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--partial", is_flag=True,
              help="The file is not a full delivery: mark nothing gone.")
@json_option
@cli_errors
def import_listings_cmd(path: str, partial: bool, as_json: bool) -> None:
    """Load listings in the contract as a run of their sources, as if crawled."""
    try:
        configs = load_sources(settings.sources_file())
    except CrawlError as exc:  # the file's listings stand on their own
        print_warning(f"sources not registered: {exc}")
        configs = None
    reports = import_listings(path, settings.catalog_path(), complete=not partial,
                              sources=configs.values() if configs is not None else None)
    if as_json:
        print_json([{"source": r.source, "run": r.run.id, "status": r.run.status,
                     "listings": r.run.listings, "new": r.run.new, "updated": r.run.updated,
                     "unchanged": r.run.unchanged, "gone": r.run.gone,
                     "invalid": r.errors_by_kind.get("invalid_listing", 0)} for r in reports])
        return
    table = Table("source", "run", "status", "listings", "new", "updated", "unchanged", "gone",
                  "invalid", title="Import")
    for r in reports:
        table.add_row(*plain_row(r.source, r.run.id, r.run.status, r.run.listings, r.run.new,
                                 r.run.updated, r.run.unchanged, r.run.gone,
                                 r.errors_by_kind.get("invalid_listing", 0)))
    print_table(table)
