"""A few pages of any source, crawled without touching the catalog (``agora sources test``).

``preview_source`` resolves the source's crawler in the registry and runs it as
the worker does (its engine's ``run``), with a page budget and a sink that keeps
what came out in a ``Preview``: listings validated against the contract,
errors (the source's secrets masked, as the catalog sink masks them), and per
kind how many listings filled each contract field; with the page each listing
came from, ``sample(n)`` shows, for the first ``n`` listings of each kind, each
field's fill rate, three examples and their pages, and the values that look
wrong for their field (``crawlers.plausibility``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawlers import registry
from crawlers.errors import InvalidListing, PageError
from crawlers.hosts import PlatformHosts
from crawlers.listing import FIELDS, PageResult, validate_listing
from crawlers.plausibility import flags
from crawlers.redaction import Redactor, install_log_redaction
from crawlers.source import SourceConfig


@dataclass
class Preview:
    """What a few pages of a source gave.

    ``listings`` are validated (contract) listings; ``errors`` are PageErrors,
    invalid listings included; ``pages`` counts pages fetched.
    """

    source: str
    connector: str
    pages: int = 0
    failed_pages: int = 0
    listings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[PageError] = field(default_factory=list)
    pages_of: list[str | None] = field(default_factory=list)  # each listing's page
    hosts: PlatformHosts | None = None  # the platform's, to judge the listings' URLs

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.listings:
            out[item["kind"]] = out.get(item["kind"], 0) + 1
        return out

    def fill(self) -> dict[str, dict[str, int]]:
        """Per kind, how many listings have each contract field filled."""
        out: dict[str, dict[str, int]] = {}
        for kind in self.counts():
            names = [f for f in FIELDS[kind] if f not in ("kind", "source", "source_id")]
            out[kind] = {name: sum(1 for item in self.listings
                                   if item["kind"] == kind and name in item) for name in names}
        return out

    def empty_fields(self) -> dict[str, list[str]]:
        """Per kind, the contract fields that came out empty in every listing."""
        return {kind: [name for name, n in fields.items() if n == 0]
                for kind, fields in self.fill().items()}

    def sample(self, n: int) -> dict[str, dict[str, Any]]:
        """Per kind, for its first ``n`` listings: their count, and per contract field
        ``{"filled", "examples": [[value, page] x3], "flags": [[source_id, value, why,
        page]]}``."""
        out: dict[str, dict[str, Any]] = {}
        for kind in self.counts():
            rows = [(item, page) for item, page in zip(self.listings, self.pages_of,
                                                       strict=True)
                    if item["kind"] == kind][:max(0, n)]
            names = [f for f in FIELDS[kind] if f not in ("kind", "source", "source_id")]
            fields: dict[str, Any] = {name: {"filled": 0, "examples": [], "flags": []}
                                      for name in names}
            for item, page in rows:
                wrong = dict(flags(item, self.hosts))
                for name in names:
                    if name not in item:
                        continue
                    entry = fields[name]
                    entry["filled"] += 1
                    if len(entry["examples"]) < 3:
                        entry["examples"].append([item[name], page])
                    if name in wrong:
                        entry["flags"].append([item["source_id"], item[name], wrong[name],
                                               page])
            out[kind] = {"listings": len(rows), "fields": fields}
        return out

    def to_json(self, sample: int = 0) -> dict[str, Any]:
        out = {"source": self.source, "connector": self.connector, "pages": self.pages,
               "failed_pages": self.failed_pages, "counts": self.counts(),
               "fill": self.fill(), "empty_fields": self.empty_fields(),
               "errors": [list(e) for e in self.errors], "listings": self.listings}
        if sample:
            out["sample"] = self.sample(sample)
        return out


class PreviewSink:
    """Takes a crawler's PageResults like ``CatalogSink`` does, but keeps them in memory."""

    def __init__(self, preview: Preview, redactor: Redactor | None = None) -> None:
        self.preview = preview
        self.redactor = redactor or Redactor()

    def write(self, result: PageResult) -> None:
        preview = self.preview
        if result.page:
            preview.pages += 1
        if result.failed:
            preview.failed_pages += 1
        preview.errors.extend(self.redactor.error(PageError(*e)) for e in result.errors)
        for raw in map(self.redactor.value, result.listings):
            try:
                preview.listings.append(validate_listing({**raw, "source": preview.source}))
                preview.pages_of.append(self.redactor.text(result.url))
            except InvalidListing as exc:
                sid = raw.get("source_id") if isinstance(raw, dict) else None
                preview.errors.append(self.redactor.error(PageError(
                    result.url, exc.kind, f"{exc} (source_id={sid!r})")))


def preview_source(config: SourceConfig, *, pages: int = 5,
                   log_file: str | None = None) -> Preview:
    """Crawl a few pages of any source (built-in or declarative) into a ``Preview``.

    Spiders run Scrapy in this process (a process can start Scrapy's reactor
    once: call this from a command, not from a long-lived program).
    """
    preview = Preview(config.key, config.connector, hosts=config.hosts)
    redactor = Redactor.of(config)
    install_log_redaction(redactor)
    registry.resolve(config).load().run(config, PreviewSink(preview, redactor),
                                        max_pages=pages, log_file=log_file)
    return preview
