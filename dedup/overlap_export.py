"""Write an overlap report's tables to files: one CSV per table, or one JSON document;
and the CSV writing every CSV of the project goes through.

The CSV names and headers of ``platforms.csv``, ``pairs_shops.csv``,
``pairs_offers.csv`` and ``intersections_shops.csv`` are a stable interface for
scripts (see ``dedup.overlap.tables``); ``methods.csv`` gives the sentence saying
how each table was computed. JSON is one ``overlap.json`` holding the compared
platforms, the filters, every table as a list of records, and the methods.

CSV files are opened in spreadsheets, and their cells hold scraped text: a cell
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would run as a
formula (CSV injection). ``csv_safe`` prefixes such a text cell with an apostrophe,
which spreadsheets show as text (numbers are left alone: -3 stays a number).
``write_csv`` and ``csv_text`` apply it to every cell; they are the project's only
CSV writers (the web exports, ``agora overlap``, ``agora link``, the replicas' truth
file), a test checks that no other module calls ``csv.writer``.

Example:
    >>> csv_safe("=1+2"), csv_safe("-x"), csv_safe(-3), csv_safe("Pain")
    ("'=1+2", "'-x", -3, 'Pain')
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from dedup.overlap import ChangeRow, OverlapReport, tables

FORMATS = ("csv", "json")
#: What a spreadsheet reads as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, quoted with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(fh: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write the header and rows to ``fh`` (opened with ``newline=""``), every cell through
    ``csv_safe``; None is an empty cell. Returns the rows written."""
    writer = csv.writer(fh)
    writer.writerow([csv_safe(v) for v in header])
    count = 0
    for row in rows:
        writer.writerow([csv_safe(v) for v in row])
        count += 1
    return count


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The CSV document of ``write_csv`` as a string (for an HTTP answer)."""
    buffer = io.StringIO()
    write_csv(buffer, header, rows)
    return buffer.getvalue()


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
        write_csv(fh, columns, rows)
    return path
