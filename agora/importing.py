"""Load a JSON Lines file of listings into the catalog, exactly as if crawled.

Each source in the file becomes one run (kind ``import``) of that source; lines
that are not valid JSON or break the contract are recorded as errors with their
line number and skipped. A complete import marks the source's listings absent
from the file as gone, as a complete crawl would; ``complete=False`` does not,
nor does a file with unreadable lines (they might have been any listing).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from catalog.sources import SourceEntry
from catalog.store import Catalog
from crawlers.errors import PageError
from crawlers.listing import PageResult
from crawlers.orchestrator import RunReport
from crawlers.sink import CatalogSink

BATCH = 500


def import_listings(path: str | os.PathLike[str], catalog_path: str | os.PathLike[str], *,
                    complete: bool = True,
                    sources: Iterable[SourceEntry] | None = None) -> list[RunReport]:
    """Import the file; return one report per source found in it.

    ``sources``: the sources file's entries, registered in the catalog (as a crawl
    does) so that the web app knows the platforms' names and order.
    """
    by_source: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    orphans: list[tuple[int, str]] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                orphans.append((lineno, f"line {lineno}: not JSON ({exc})"))
                continue
            source = item.get("source") if isinstance(item, dict) else None
            if not isinstance(source, str) or not source:
                orphans.append((lineno, f"line {lineno}: no source"))
                continue
            by_source[source].append((lineno, item))
    reports = []
    with Catalog.open(catalog_path) as catalog:
        if sources is not None:
            catalog.register_sources(sources)
        for source, items in sorted(by_source.items()):
            run_id = catalog.begin_run(source, kind="import",
                                       mode="full" if complete else "incremental")
            sink = CatalogSink(catalog, run_id, source)
            where = f"file://{os.path.abspath(path)}"
            for start in range(0, len(items), BATCH):
                chunk = items[start:start + BATCH]
                sink.write(PageResult(url=f"{where}#L{chunk[0][0]}",
                                      listings=[item for _, item in chunk]))
            if orphans:
                # a line we could not read may have been any listing: mark nothing gone
                sink.write(PageResult(url=where, page=False, failed=True, errors=[
                    PageError(where, "invalid_line", reason) for _, reason in orphans]))
            run = sink.finish()
            reports.append(RunReport(source, run, catalog.errors_by_kind(run_id), False))
    return reports
