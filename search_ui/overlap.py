"""The analysts' overlap page: ``/overlap`` with commune and category filters, the figures
(SVG plots from ``dedup.overlap_plots``), the tables with the sentence saying how
each was computed, and a CSV per table (``/overlap/<table>.csv``, same filters).

The catalog's last build is read once per process and build
(``dedup.overlap_data.load_build``); a filter must name a commune or category of
that build (compared case-insensitively), else the answer is a 400 naming the
value, and each filter's report is computed once per build and kept in a small
per-process cache (``CACHE_SIZE`` filters, the least recently used dropped), as
are the figures. So no request can make the server compute for a value nobody
has, and a new build replaces the cached one.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for

from dedup.overlap import OverlapTable, tables
from dedup.overlap_data import (
    OverlapBuild,
    OverlapData,
    UnknownFilterValue,
    load_build,
    report_for,
)
from dedup.overlap_export import csv_text, report_document
from search_ui import present, territory
from search_ui.context import build_key, get_catalog, platforms
from search_ui.params import BadParameter

overlap_bp = Blueprint("overlap", __name__)

CACHE_SIZE = 16
MAIN_TABLES = ("totals", "platforms", "pairs_shops", "intersections_shops", "by_commune",
               "by_category", "pairs_offers", "price_differences", "conflicts", "changes")
ROW_LIMIT = 25
COLUMN_LABELS = {
    "metric": "Mesure", "value": "Valeur", "platform": "Plateforme",
    "platform_a": "Plateforme A", "platform_b": "Plateforme B", "shops": "Boutiques",
    "offers": "Offres", "exclusive_shops": "Boutiques exclusives",
    "shared_shops": "Boutiques partagées", "both": "Sur les deux", "jaccard": "Jaccard",
    "a_in_b": "A dans B", "b_in_a": "B dans A", "platforms": "Plateformes",
    "commune": "Commune", "category": "Catégorie",
    "multi_platform_shops": "Boutiques multi-plateformes", "share_multi": "Part multi",
    "multi_platform_offers": "Offres multi-plateformes", "differing": "Différentes",
    "a_dearer": "A plus cher", "b_dearer": "B plus cher",
    "mean_abs_diff_cents": "Écart moyen (c)", "max_abs_diff_cents": "Écart max (c)",
    "mean_abs_diff_pct": "Écart moyen (%)", "max_abs_diff_pct": "Écart max (%)",
    "field": "Champ", "compared": "Comparées", "share_differing": "Part différente",
    "from_label": "De", "to_label": "À", "shops_before": "Boutiques avant",
    "shops_after": "Boutiques après", "shops_joined": "Arrivées", "shops_left": "Départs",
    "offers_before": "Offres avant", "offers_after": "Offres après",
    "offers_joined": "Offres arrivées", "offers_left": "Offres parties",
}
METRIC_LABELS = {"shops": "Boutiques", "offers": "Offres",
                 "multi_platform_shops": "Boutiques sur au moins deux plateformes",
                 "multi_platform_offers": "Offres sur au moins deux plateformes",
                 "offers_multi_platform_priced": "Offres multi-plateformes avec deux prix",
                 "offers_price_differing": "Offres dont le prix diffère"}
FIELD_LABELS = {"phone": "téléphone", "address": "adresse", "hours": "horaires"}
PLATFORM_COLUMNS = ("platform", "platform_a", "platform_b")

_lock = threading.Lock()
_loading = threading.Lock()  # one reading of a build at a time per process
PARAMETERS = {"commune": "commune", "category": "categorie"}


class UnknownOverlapFilter(BadParameter):
    """A filter value that no entity of the current build has (a 400 naming it)."""

    def __init__(self, parameter: str, value: str, close: list[str]) -> None:
        hint = f" (close: {', '.join(close)})" if close else ""
        hint_fr = f" (proches : {', '.join(close)})" if close else ""
        self.parameter, self.code = parameter, "unknown_value"
        self.details = {"value": value, "close": close}
        self.reason = f"has no value {value!r} in the current build{hint}"
        self.reason_fr = (f"vaut « {value} », que n’a aucune boutique ni offre des données "
                          f"actuelles{hint_fr}")
        Exception.__init__(self, f"parameter '{parameter}' {self.reason}")


def _filters() -> tuple[str | None, str | None]:
    """The commune and category asked for, bounded (not yet checked against the build)."""
    values = []
    for name in PARAMETERS.values():
        value = (request.args.get(name) or "").strip() or None
        if value is not None and len(value) > 100:
            raise BadParameter(name, "too_long", max=100)
        values.append(value)
    return values[0], values[1]


def _cache() -> OrderedDict[Any, Any]:
    return current_app.extensions.setdefault(
        "agora_overlap", OrderedDict())


def _build() -> tuple[Any, OverlapBuild]:
    """The last build as the figures read it, read once per process, build and catalog file;
    returned with its key (``build_key()``)."""
    build = build_key()
    key = ("build", build)
    cache = _cache()
    with _lock:
        if key in cache:
            return build, cache[key]
    with _loading:
        with _lock:
            if key in cache:
                return build, cache[key]
        here = territory.current()
        built = load_build(get_catalog(), list(platforms()),
                           territory=here.key if here else None, territories=territory.served())
        with _lock:
            for old in [k for k in cache if k[1] != build]:
                del cache[old]  # an earlier build's reading, reports and figures
            cache[key] = built
    return build, built


def _data(commune: str | None, category: str | None) -> OverlapData:
    """The report for the filters, which must name values of the current build."""
    build, built = _build()
    try:
        data = None
        key = ("report", build, (commune or "").casefold(), (category or "").casefold())
        cache = _cache()
        with _lock:
            if key in cache:
                cache.move_to_end(key)
                data = cache[key]
        if data is None:
            data = report_for(built, commune, category)
            with _lock:
                cache[key] = data
                reports = [k for k in cache if k[0] == "report"]
                for old in reports[:max(0, len(reports) - CACHE_SIZE)]:
                    del cache[old]
    except UnknownFilterValue as exc:
        raise UnknownOverlapFilter(PARAMETERS[exc.field], exc.value, exc.close) from exc
    return data


def _request_data() -> tuple[OverlapData, str | None, str | None]:
    """The report of this request's filters, and the filters as the build spells them."""
    data = _data(*_filters())
    return data, data.report.filters.get("commune"), data.report.filters.get("category")


def _plot(commune: str | None, category: str | None, name: str) -> bytes:
    from dedup.overlap_plots import plot_bytes  # noqa: PLC0415 - matplotlib is slow to import

    report = _data(commune, category).report  # checks the filters first
    key = ("plot", build_key(), tuple(report.filters.items()), name)
    cache = _cache()
    with _lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    data = plot_bytes(report, name, "svg")
    with _lock:
        cache[key] = data
        plots = [k for k in cache if k[0] == "plot"]
        for old in plots[:max(0, len(plots) - CACHE_SIZE * 3)]:
            del cache[old]
    return data


def _args(commune: str | None, category: str | None) -> dict[str, Any]:
    return {k: v for k, v in (("commune", commune), ("categorie", category)) if v}


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "—"
    if column in PLATFORM_COLUMNS:
        return present.platform(str(value)).name
    if column == "platforms":
        return " + ".join(present.platform(p).name for p in str(value).split("+"))
    if column == "metric":
        return METRIC_LABELS.get(str(value), str(value))
    if column == "category":
        return present.category_label(str(value))
    if column == "field":
        return FIELD_LABELS.get(str(value), str(value))
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".").replace(".", ",") if value else "0"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u202f")
    return str(value)


def table_view(table: OverlapTable, order: list[str], commune: str | None,
               category: str | None, limit: int | None = ROW_LIMIT) -> dict[str, Any]:
    headers = [present.platform(c).name if c in order else COLUMN_LABELS.get(c, c)
               for c in table.columns]
    rows = table.rows if limit is None else table.rows[:limit]
    return {
        "name": table.name, "title": table.title, "method": table.method,
        "headers": headers,
        "numeric": [all(isinstance(r[i], int | float) or r[i] is None for r in table.rows)
                    and table.columns[i] not in PLATFORM_COLUMNS
                    for i in range(len(table.columns))],
        "rows": [[_cell(c, v) for c, v in zip(table.columns, row, strict=True)] for row in rows],
        "more": max(0, len(table.rows) - len(rows)),
        "csv": url_for("overlap.table_csv", name=table.name, **_args(commune, category)),
    }


@overlap_bp.get("/overlap")
def index() -> str:
    """The overlap between platforms: figures, tables, methods and CSV links."""
    from dedup.overlap_plots import PLOTS, TITLES  # noqa: PLC0415 - matplotlib: only these pages pay for it

    data, commune, category = _request_data()
    report = data.report
    order = list(report.platform_keys)
    all_tables = tables(report, data.changes)
    views = [table_view(all_tables[n], order, commune, category) for n in MAIN_TABLES
             if n in all_tables]
    others = [{"name": n, "title": t.title,
               "csv": url_for("overlap.table_csv", name=n, **_args(commune, category))}
              for n, t in all_tables.items() if n not in MAIN_TABLES]
    plots = [{"name": n, "title": TITLES[n], "method": report.methods.get(n, ""),
              "src": url_for("overlap.plot_svg", name=n, **_args(commune, category))}
             for n in PLOTS]
    return render_template(
        "overlap/index.html", report=report, tables=views, others=others, plots=plots,
        commune=commune, category=category, communes=data.communes,
        categories=[(c, present.category_label(c)) for c in data.categories],
        json_href=url_for("overlap.report_json", **_args(commune, category)),
        platform_names=[present.platform(p).name for p in order])


@overlap_bp.get("/overlap/<name>.csv")
def table_csv(name: str) -> Response:
    """One table of the report as CSV (stable column names, platform keys)."""
    data, commune, category = _request_data()
    all_tables = tables(data.report, data.changes)
    if name == "methods":
        columns, rows = ["table", "method"], [[n, m] for n, m in data.report.methods.items()]
    elif name in all_tables:
        columns, rows = all_tables[name].columns, all_tables[name].rows
    else:
        abort(404)
    response = Response(csv_text(columns, rows), mimetype="text/csv")
    suffix = "".join(f"-{v}" for v in (commune, category) if v)
    filename = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in f"{name}{suffix}")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


@overlap_bp.get("/overlap/figures/<name>.svg")
def plot_svg(name: str) -> Response:
    """One figure as SVG (drawn on first request per build and filters)."""
    from dedup.overlap_plots import PLOTS  # noqa: PLC0415 - matplotlib: only these pages pay for it

    if name not in PLOTS:
        abort(404)
    commune, category = _filters()
    response = Response(_plot(commune, category, name), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=300"
    # an SVG opened on its own is a document: it may not run anything either
    response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src "
                                                   "'unsafe-inline'; img-src data:")
    return response


@overlap_bp.get("/overlap.json")
def report_json() -> Response:
    """Every table of the report as JSON (as ``agora overlap --format json`` writes it)."""
    data, _, _ = _request_data()
    return Response(json.dumps(report_document(data.report, data.changes), ensure_ascii=False),
                    mimetype="application/json")
