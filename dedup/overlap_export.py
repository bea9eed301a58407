"""Write an overlap report's tables to files: one CSV per table, or one JSON document.

The CSV names and headers of ``platforms.csv``, ``pairs_shops.csv``,
``pairs_offers.csv`` and ``intersections_shops.csv`` are a stable interface for
scripts (see ``dedup.overlap.tables``); ``methods.csv`` gives the sentence saying
how each table was computed. JSON is one ``overlap.json`` holding the compared
platforms, the filters, every table as a list of records, and the methods.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dedup.overlap import ChangeRow, OverlapReport, tables

FORMATS = ("csv", "json")


def report_document(report: OverlapReport,
                    changes: Sequence[ChangeRow] | None = None) -> dict[str, Any]:
    """The JSON-ready document of a report (what ``overlap.json`` holds)."""
    all_tables = tables(report, changes)
    return {
        "platforms": list(report.platform_keys),
        "filters": dict(report.filters),
        "tables": {name: t.records() for name, t in all_tables.items()},
        "methods": dict(report.methods),
    }


def write_tables(report: OverlapReport, out_dir: str | Path, fmt: str = "csv",
                 changes: Sequence[ChangeRow] | None = None) -> list[Path]:
    """Write every table of the report into out_dir (created if missing).

    Args:
        report: from ``compute_overlap``.
        out_dir: the folder to write into; existing files of the same names are replaced.
        fmt: "csv" (one file per table plus ``methods.csv``) or "json" (``overlap.json``).
        changes: rows from ``changes_over_time``, written as ``changes`` when given.

    Returns:
        The paths written, in writing order.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path = out / "overlap.json"
        path.write_text(json.dumps(report_document(report, changes), ensure_ascii=False,
                                   indent=2) + "\n", encoding="utf-8")
        return [path]
    written = []
    all_tables = tables(report, changes)
    for name, table in all_tables.items():
        written.append(_write_csv(out / f"{name}.csv", table.columns, table.rows))
    written.append(_write_csv(out / "methods.csv", ["table", "method"],
                              [[name, method] for name, method in report.methods.items()]))
    return written


def _write_csv(path: Path, columns: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(rows)  # None is written as an empty cell
    return path
