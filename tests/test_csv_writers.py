"""Every CSV the project writes goes through ``dedup.overlap_export.write_csv``, which
neutralises spreadsheet formulas in scraped text (issue 16, item 9): no other module
may create a ``csv.writer`` or ``csv.DictWriter``, nor write CSV through pandas."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agora", "catalog", "crawlers", "dedup", "normalizer", "replicas", "search_ui",
            "benchmarks", "tools")
THE_WRITER = Path("dedup/overlap_export.py")


def csv_writers(source: str) -> list[int]:
    """Lines calling csv.writer / csv.DictWriter / <anything>.to_csv."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if func.attr == "to_csv" or (func.attr in ("writer", "DictWriter")
                                         and isinstance(func.value, ast.Name)
                                         and func.value.id == "csv"):
                lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "csv" and any(
                a.name in ("writer", "DictWriter") for a in node.names):
            lines.append(node.lineno)
    return lines


def test_one_csv_writer_for_the_whole_project() -> None:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative == THE_WRITER:
                continue
            lines = csv_writers(path.read_text(encoding="utf-8"))
            if lines:
                found[str(relative)] = lines
    assert found == {}, f"write CSV through dedup.overlap_export.write_csv: {found}"


def test_the_check_finds_a_writer() -> None:
    assert csv_writers("import csv\nw = csv.writer(fh)\n") == [2]
    assert csv_writers("from csv import DictWriter\n") == [1]
    assert csv_writers("frame.to_csv('x.csv')\n") == [1]
    assert csv_writers((ROOT / THE_WRITER).read_text(encoding="utf-8")) != []
