"""``agora search`` and ``agora index``: the search index from the terminal.

- ``search [QUERY...] [--near LAT,LON] [--radius KM] [--filter KEY=VALUE]...
  [--kind KIND]... [--sort S] [--page N] [--per-page N] [--as-typed] [--json]``:
  query the current index (embedded, or Elasticsearch when
  ``AGORA_ELASTICSEARCH_URL`` is set). Arguments go through the one search parser
  (``catalog.backends.query``, the API's vocabulary and bounds). Filters:
  platform, category, commune, service, flag, price (a facet value such as
  1000-2000), price_min/price_max (euros). ``--json`` prints each hit (entity
  id, kind, display name, the listings it merges), then the facet counts.
- ``index``: index the catalog's current entities again (no normalize, no dedup),
  into a new index swapped in atomically.

The commands are ``search_cmd`` and ``index_cmd``; ``agora/cli.py`` registers them.
"""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table
from rich.text import Text

from agora import settings
from agora.commands.common import (
    cli_errors,
    console,
    json_option,
    print_json,
    print_table,
    stage_json,
)
from catalog.backends.query import CLI, parse_pairs, parse_point, parse_search
from catalog.indexing import index_stage
from catalog.store import Catalog


def _euros(cents: int | None) -> str:
    return "" if cents is None else f"{cents / 100:.2f} €".replace(".", ",")


def _price(doc: dict[str, Any]) -> str:
    lo, hi = doc.get("price_min"), doc.get("price_max")
    if lo is None:
        return ""
    return _euros(lo) if hi in (None, lo) else f"{_euros(lo)} – {_euros(hi)}"


def hit_json(hit: Any) -> dict[str, Any]:
    doc = hit.document
    return {
        "entity_id": hit.entity_id, "kind": hit.kind, "name": hit.name,
        "score": round(hit.score, 4), "distance_km": hit.distance_km,
        "communes": doc.get("communes") or [], "price_min": doc.get("price_min"),
        "price_max": doc.get("price_max"), "platforms": doc.get("platforms") or [],
        "listings": [{"source": s.get("source"), "source_id": s.get("source_id"),
                      "url": s.get("url")} for s in hit.listings],
    }


def results_json(results: Any, backend: str) -> dict[str, Any]:
    q = results.query
    return {
        "backend": backend, "query": q.text, "total": results.total, "page": q.page,
        "pages": results.pages, "per_page": q.per_page, "took_ms": results.took_ms,
        "suggestion": results.suggestion, "corrected_from": results.corrected_from,
        "facets_approximate": results.approximate,
        "hits": [hit_json(h) for h in results.hits],
        "facets": {k: [[v, n] for v, n in values] for k, values in results.facets.items()},
    }


@click.command("search")
@click.argument("query", nargs=-1)
@click.option("--near", metavar="LAT,LON", help="Distances from this point (and --sort distance).")
@click.option("--radius", type=float, metavar="KM", help="Only within KM of --near.")
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="platform, category, commune, service, flag, price (1000-2000), "
                   "price_min or price_max (euros); repeatable (OR within a key, AND across).")
@click.option("--kind", "kinds", multiple=True,
              type=click.Choice(["shop", "product", "offer"]),
              help="What to search (default: shops and products).")
@click.option("--sort", type=click.Choice(["relevance", "distance", "price_asc", "price_desc"]),
              default=None, help="Order (default: relevance; distance when --near is given).")
@click.option("--page", default=1, show_default=True)
@click.option("--per-page", default=10, show_default=True)
@click.option("--as-typed", is_flag=True, help="Search the words as typed, never a correction.")
@json_option
@cli_errors
def search_cmd(query: tuple[str, ...], near: str | None, radius: float | None,
               filters: tuple[str, ...], kinds: tuple[str, ...], sort: str | None, page: int,
               per_page: int, as_typed: bool, as_json: bool) -> None:
    """Search the current index: shops and products, with filters, facets and distances."""
    args: dict[str, Any] = parse_pairs(filters)
    args["q"] = " ".join(query)
    if kinds:
        args["kind"] = list(kinds)
    if near:
        args["lat"], args["lon"] = parse_point(near)
    if radius is not None:
        args["radius_km"] = str(radius)
    if sort:
        args["sort"] = sort
    if as_typed:
        args["as_typed"] = "1"
    args["page"], args["per_page"] = str(page), str(per_page)
    search_query = parse_search(args, CLI).query
    backend = settings.open_search_backend()
    try:
        results = backend.search(search_query)
    finally:
        backend.close()
    if as_json:
        print_json(results_json(results, backend.name))
        return
    _print(results, backend.name)


def _print(results: Any, backend: str) -> None:
    q = results.query
    title = (f"{results.total} result(s) for {q.text!r}" if q.text else
             f"{results.total} result(s)") + f" — page {q.page}/{results.pages} ({backend}, " \
        f"{results.took_ms:.0f} ms)"
    if results.corrected_from:
        console.print(Text(f"Résultats pour : {results.suggestion} ; rechercher plutôt "
                           f"« {results.corrected_from} » : --as-typed", style="yellow"))
    elif results.suggestion:
        console.print(Text(f"Vouliez-vous dire : {results.suggestion} ?", style="yellow"))
    table = Table("#", "name", "kind", "commune", "price", "listings", "km", title=title)
    start = (q.page - 1) * q.per_page
    for i, hit in enumerate(results.hits, start + 1):
        doc = hit.document
        communes = doc.get("communes") or []
        place = communes[0] + (f" +{len(communes) - 1}" if len(communes) > 1 else "") \
            if communes else ""
        listings = ", ".join(f"{s.get('source')}:{s.get('source_id')}"
                             for s in hit.listings[:3])
        if len(hit.listings) > 3:
            listings += f" (+{len(hit.listings) - 3})"
        table.add_row(str(i), Text(hit.name), hit.kind, Text(place), _price(doc),
                      Text(listings), "" if hit.distance_km is None
                      else f"{hit.distance_km:.1f}")
    print_table(table)
    for facet, values in results.facets.items():
        if values:
            shown = ", ".join(f"{v} {n}" for v, n in values[:12])
            console.print(Text(f"{facet}: {shown}"), highlight=False)
    if results.approximate:
        console.print(Text("(facet counts estimated: the query passed its time budget)",
                           style="dim"))


@click.command("index")
@json_option
@cli_errors
def index_cmd(as_json: bool) -> None:
    """Index the catalog's current entities again, swapped in atomically."""
    with Catalog.open(settings.catalog_path()) as cat:
        stage = index_stage(cat, cat.entities.latest_build_id() or 0,
                            settings=settings.search_backend_settings(),
                            territories=settings.all_territories())
    if as_json:
        print_json(stage_json(stage))
        return
    figures = stage.figures
    console.print(f"{figures['documents']} documents indexed into {figures['index']} "
                  f"({figures['backend']}) in {stage.seconds:.2f}s "
                  f"({figures['docs_per_s']:,} documents/s)", highlight=False)


if __name__ == "__main__":
    search_cmd()
