"""``agora overlap``: how much the platforms overlap, from the catalog's last build.

Prints the main tables (totals, per platform, pairs of platforms, combinations,
price differences, data conflicts, changes between builds), each with the
sentence saying how it was computed, and writes every table (``--format csv``:
one file per table and ``methods.csv``; ``json``: ``overlap.json``) and the
figures (PNG and SVG) into ``--out`` (default ``$AGORA_HOME/overlap``).
``--json`` prints every table (title, columns, rows, method) as JSON on stdout
instead of the main ones as text; the files are written all the same.
``--commune`` and ``--category`` (a taxonomy key, e.g. ``boulangerie``) keep
only the entities of that commune or category; a value no entity of the last
build has is an error naming it (with the close ones), as on ``/overlap``. CSV
cells that a spreadsheet would run as formulas are neutralised
(``dedup.overlap_export.csv_safe``). The command is ``overlap_cmd``;
``agora/cli.py`` names it in ``COMMANDS``.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from agora import settings
from agora.commands.common import (
    cli_errors,
    console,
    err_console,
    fail,
    json_option,
    plain_row,
    print_json,
    print_table,
)
from catalog.store import Catalog
from crawlers.config import load_sources
from crawlers.errors import CrawlError
from dedup.overlap import OverlapTable, tables
from dedup.overlap_data import overlap_report
from dedup.overlap_export import write_tables

PRINTED = ("totals", "platforms", "pairs_shops", "intersections_shops", "price_differences",
           "conflicts", "changes")
ROWS_PRINTED = 20


def table_json(table: OverlapTable) -> dict[str, object]:
    """One overlap table as ``--json`` prints it."""
    return {"title": table.title, "columns": table.columns, "rows": table.rows,
            "method": table.method}


@click.command("overlap")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True, help="Files to write: one CSV per table, or one JSON.")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Folder to write into (default: $AGORA_HOME/overlap).")
@click.option("--commune", default=None, help="Only entities of this commune.")
@click.option("--category", default=None, help="Only entities of this category (taxonomy key).")
@click.option("--no-plots", is_flag=True, help="Do not draw the figures (faster).")
@click.option("--territory", default=None,
              help="Only entities of this territory (a key of the territories file).")
@json_option
@cli_errors
def overlap_cmd(fmt: str, out: str | None, commune: str | None, category: str | None,
                no_plots: bool, territory: str | None, as_json: bool) -> None:
    """Overlap between platforms: print the main tables, write every table and figure."""
    path = settings.catalog_path()
    if isinstance(path, Path) and not path.exists():
        fail(f"no catalog at {path}: crawl and `agora build` first (or set AGORA_HOME)")
    try:
        known = list(load_sources(settings.sources_file()))
    except CrawlError:
        known = []
    territories = settings.territories()
    if territory is not None:
        territories.select([territory])  # an unknown key is an error, not an empty report
    with Catalog.open_read_only(path) as catalog:
        data = overlap_report(catalog, known, commune=commune, category=category,
                              territory=territory, territories=territories)
    report = data.report
    if report.total_shops == 0 and report.total_offers == 0:
        err_console.print("[yellow]no shop or offer[/] (has `agora build` run?)", highlight=False)
    all_tables = tables(report, data.changes)
    if as_json:
        print_json({name: table_json(t) for name, t in all_tables.items()})
    else:
        for name in PRINTED:
            if name in all_tables:
                _print_overlap_table(all_tables[name])
    out_dir = Path(out) if out else settings.home() / "overlap"
    written = write_tables(report, out_dir, fmt, data.changes)
    if not no_plots:
        from dedup.overlap_plots import write_plots  # noqa: PLC0415 - matplotlib is slow; --no-plots skips it

        written += write_plots(report, out_dir)
    (err_console if as_json else console).print(f"{len(written)} files written to {out_dir}",
                                                highlight=False, markup=False)


def _print_overlap_table(t: OverlapTable) -> None:
    table = Table(*t.columns, title=t.title, title_justify="left")
    for row in t.rows[:ROWS_PRINTED]:
        table.add_row(*plain_row(*("" if v is None else f"{v:g}" if isinstance(v, float)
                                   else v for v in row)))
    if len(t.rows) > ROWS_PRINTED:
        table.add_row(*([f"… {len(t.rows) - ROWS_PRINTED} more"] + [""] * (len(t.columns) - 1)))
    print_table(table)
    console.print(t.method, style="dim", highlight=False, markup=False)
    console.print()
