"""What a crawler is given to start a run, and what it gives back when the run ends.

Each engine's base class has one ``run`` that crawls a source into a sink
(``ApiConnector.run`` over httpx, ``CatalogSpider.run`` under Scrapy): the
worker calls it with the catalog's sink, ``agora sources test`` with a preview's
and a page budget, and neither needs to know which engine it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crawlers.errors import CrawlError


@dataclass(frozen=True)
class RunStart:
    """Where a run starts: nothing for a new one, what was stored for a resumed one.

    ``checkpoint`` and ``since`` are an API connector's (its last checkpoint, the
    updated-since of an incremental run); ``done_pages`` a spider's (the pages
    already stored, not fetched again).
    """

    checkpoint: Any = None
    since: datetime | None = None
    done_pages: frozenset[str] = frozenset()


@dataclass
class RunOutcome:
    """How a crawler's run ended: ``fatal`` says why it failed (None: it did not)."""

    fatal: str | None = None
    error: CrawlError | None = None  # the error that stopped it, to record
    stats: dict[str, Any] = field(default_factory=dict)  # kept in the run's stats
