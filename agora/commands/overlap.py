"""``agora overlap``: how much the platforms overlap, from the catalog's last build.

Prints the main tables (totals, per platform, pairs of platforms, combinations,
price differences, data conflicts, changes between builds), each with the
sentence saying how it was computed, and writes every table (``--format csv``:
one file per table and ``methods.csv``; ``json``: ``overlap.json``) and the
figures (PNG and SVG) into ``--out`` (default ``$AGORA_HOME/overlap``).
``--commune`` and ``--category`` (a taxonomy key, e.g. ``boulangerie``) keep
only the entities of that commune or category; a value no entity of the last
build has is an error naming it (with the close ones), as on ``/overlap``. CSV
cells that a spreadsheet would run as formulas are neutralised
(``dedup.overlap_export.csv_safe``). The command is ``overlap_cmd``;
``agora/cli.py`` registers it with ``main.add_command``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agora import settings
from catalog.errors import CatalogError
from catalog.store import Catalog

console = Console()
err_console = Console(stderr=True)

PRINTED = ("totals", "platforms", "pairs_shops", "intersections_shops", "price_differences",
           "conflicts", "changes")
ROWS_PRINTED = 20


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
def overlap_cmd(fmt: str, out: str | None, commune: str | None, category: str | None,
                no_plots: bool, territory: str | None) -> None:
    """Overlap between platforms: print the main tables, write every table and figure."""
    from crawlers.config import load_sources  # noqa: PLC0415
    from crawlers.errors import CrawlError  # noqa: PLC0415
    from dedup.overlap import tables  # noqa: PLC0415
    from dedup.overlap_data import UnknownFilterValue, overlap_report  # noqa: PLC0415
    from dedup.overlap_export import write_tables  # noqa: PLC0415

    path = settings.catalog_path()
    if isinstance(path, Path) and not path.exists():
        err_console.print(f"[bold red]error:[/] no catalog at {path}: crawl and `agora build` "
                          "first (or set AGORA_HOME)", highlight=False)
        sys.exit(1)
    try:
        known = list(load_sources(settings.sources_file()))
    except CrawlError:
        known = []
    try:
        territories = settings.territories()
        if territory is not None:
            territories.select([territory])  # an unknown key is an error, not an empty report
        with Catalog.open_read_only(path) as catalog:
            data = overlap_report(catalog, known, commune=commune, category=category,
                                  territory=territory, territories=territories)
    except (CatalogError, UnknownFilterValue, ValueError) as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
    report = data.report
    if report.total_shops == 0 and report.total_offers == 0:
        err_console.print("[yellow]no shop or offer[/] (has `agora build` run?)", highlight=False)
    all_tables = tables(report, data.changes)
    for name in PRINTED:
        if name not in all_tables:
            continue
        t = all_tables[name]
        table = Table(*t.columns, title=t.title, title_justify="left")
        for row in t.rows[:ROWS_PRINTED]:
            table.add_row(*("" if v is None else f"{v:g}" if isinstance(v, float) else str(v)
                            for v in row))
        if len(t.rows) > ROWS_PRINTED:
            table.add_row(*([f"… {len(t.rows) - ROWS_PRINTED} more"]
                            + [""] * (len(t.columns) - 1)))
        console.print(table)
        console.print(t.method, style="dim", highlight=False)
        console.print()
    out_dir = Path(out) if out else settings.home() / "overlap"
    written = write_tables(report, out_dir, fmt, data.changes)
    if not no_plots:
        from dedup.overlap_plots import write_plots  # noqa: PLC0415

        written += write_plots(report, out_dir)
    console.print(f"{len(written)} files written to {out_dir}", highlight=False)
