"""``agora build`` and ``agora normalize``: the catalog's listings into entities and index.

- ``build [--full|--incremental] [--no-index] [--json]``: normalize, dedup and
  index (incremental when possible), one line per stage as it ends.
- ``normalize``: only the normalize stage (clean what changed).

The commands are ``build_cmd`` and ``normalize_cmd``; ``agora/cli.py`` names them in
``COMMANDS``.
"""

from __future__ import annotations

import click

from agora import settings
from agora.commands.common import (
    cli_errors,
    console,
    json_option,
    print_json,
    stage_json,
    stage_line,
)
from agora.pipeline import build, normalize_stage
from catalog.store import Catalog


@click.command("build")
@click.option("--full", "mode", flag_value="full", help="Rebuild every entity.")
@click.option("--incremental", "mode", flag_value="incremental",
              help="Re-link only what changed since the last build.")
@click.option("--no-index", is_flag=True, help="Stop after dedup (no search index).")
@json_option
@cli_errors
def build_cmd(mode: str | None, no_index: bool, as_json: bool) -> None:
    """Normalize, dedup and index the catalog (incremental when possible)."""
    with Catalog.open(settings.catalog_path()) as cat:
        report = build(cat, mode=mode or "auto", index=not no_index,
                       on_stage=None if as_json else
                       lambda st: console.print(stage_line(st), highlight=False, markup=False))
    if as_json:
        print_json({"build_id": report.build_id, "mode": report.mode,
                    "stages": [stage_json(s) for s in report.stages]})
        return
    console.print(f"build {report.build_id} ({report.mode}) done in "
                  f"{sum(s.seconds for s in report.stages):.2f}s", highlight=False)


@click.command("normalize")
@json_option
@cli_errors
def normalize_cmd(as_json: bool) -> None:
    """Only the normalize stage: clean every listing whose raw content changed."""
    with Catalog.open(settings.catalog_path()) as cat:
        stage = normalize_stage(cat)
    if as_json:
        print_json(stage_json(stage))
    else:
        console.print(stage_line(stage), highlight=False, markup=False)
