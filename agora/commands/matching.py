"""``agora dedup`` and ``agora explain``: the matcher's build stage and its reasons.

- ``dedup [--full|--incremental]``: link the clean listings into entities (a
  build without indexing); ``dedup --show-model [--build N] [--json]`` prints
  instead the match model a build used (every level's m, u and weight, the
  prior, the platform pairs with weights of their own), as the last full build
  estimated it by EM and stored it in the catalog.
- ``explain SOURCE:ID SOURCE:ID [--json]``: the match weight of two listings as
  a waterfall (the platform pair's prior, then each comparison's level and
  weight, the total, the threshold and the decision), with the stored model.

The commands are ``dedup_cmd`` and ``explain_cmd``; ``agora/cli.py`` names them
in ``COMMANDS``.
"""

from __future__ import annotations

import click

from agora import settings
from agora.commands.common import (
    cli_errors,
    console,
    fail,
    json_option,
    print_json,
    stage_json,
    stage_line,
)
from agora.linking import explain_pair
from agora.pipeline import run_dedup
from catalog.store import Catalog
from dedup.errors import NoModel
from dedup.model import render_model, render_waterfall
from dedup.persist import load_model
from dedup.settings import load_settings


def print_model(catalog: Catalog, build_id: int | None, as_json: bool) -> None:
    """Print the model build ``build_id`` used (the latest when None)."""
    found = load_model(catalog, build_id)
    if found is None:
        raise NoModel("no match model stored yet: run a full build (`agora build --full` "
                      "or `agora dedup --full`) first" + (f" (asked for build {build_id})"
                                                          if build_id is not None else ""))
    stored, model = found
    if as_json:
        print_json({"build_id": stored.build_id, "origin": stored.origin,
                    "created_at": stored.created_at, "model": model.to_dict()})
        return
    console.print(f"model estimated by full build {stored.build_id} at {stored.created_at}"
                  + (f", used by build {build_id}" if build_id not in (None, stored.build_id)
                     else "") + "; incremental builds reuse it, full builds estimate anew",
                  highlight=False)
    console.print(render_model(model), highlight=False, markup=False)


@click.command("dedup")
@click.option("--full", "mode", flag_value="full", help="Link every clean listing again.")
@click.option("--incremental", "mode", flag_value="incremental",
              help="Link again only what changed since the last build.")
@click.option("--show-model", is_flag=True,
              help="Print the match model a build used instead of linking.")
@click.option("--build", "build_id", type=int, default=None,
              help="With --show-model: the model of this build (default: the latest).")
@json_option
@cli_errors
def dedup_cmd(mode: str | None, show_model: bool, build_id: int | None,
              as_json: bool) -> None:
    """Only the dedup stage: link the clean listings into entities (or --show-model)."""
    if build_id is not None and not show_model:
        fail("--build goes with --show-model")
    with Catalog.open(settings.catalog_path()) as cat:
        if show_model:
            print_model(cat, build_id, as_json)
            return
        report = run_dedup(cat, mode=mode or "auto")
    if as_json:
        print_json(stage_json(report))
    else:
        console.print(stage_line(report), highlight=False, markup=False)


@click.command("explain")
@click.argument("first", metavar="SOURCE:ID")
@click.argument("second", metavar="SOURCE:ID")
@json_option
@cli_errors
def explain_cmd(first: str, second: str, as_json: bool) -> None:
    """The match weight of two listings, comparison by comparison, and the decision."""
    with Catalog.open(settings.catalog_path()) as cat:
        ex = explain_pair(cat, first, second, load_settings())
    if as_json:
        print_json(ex.to_dict(first, second))
        return
    label = "name" if ex.kind == "shop" else "title"
    console.print(f"{ex.kind}s  A {first}: {getattr(ex.a, label)!r}\n"
                  f"       B {second}: {getattr(ex.b, label)!r}", highlight=False, markup=False)
    console.print(f"model: {ex.model}", highlight=False, markup=False)
    console.print(render_waterfall(ex.score.parts, ex.threshold), highlight=False, markup=False)
    console.print(f"decision: {ex.decision}" + ("" if ex.same_entity is None else
                  f"; in the last build they are in {'the same' if ex.same_entity else 'different'}"
                  " entities"), highlight=False, markup=False)
