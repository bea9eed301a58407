"""One crawl of one source, in its own process: ``python -m crawlers.worker``.

The orchestrator starts one worker per source, so that a source that hangs,
crashes or is killed never stops the others, and Scrapy's reactor gets a
process of its own. The worker resumes a killed run from what the catalog holds
(pages already stored, the connector's last checkpoint).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from datetime import datetime
from pathlib import Path

from scrapy.crawler import CrawlerProcess

from catalog.store import Catalog
from crawlers import registry
from crawlers.config import load_sources
from crawlers.errors import CrawlError
from crawlers.http import make_client
from crawlers.scrapy_support import scrapy_settings
from crawlers.sink import CatalogSink
from crawlers.source import SourceConfig

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0


def _since(catalog: Catalog, run_id: int) -> datetime | None:
    value = catalog.get_run(run_id).stats.get("since")
    return datetime.fromisoformat(value) if value else None


def _heartbeat(catalog_path: str, run_id: int, stop: threading.Event) -> None:
    with Catalog.open(catalog_path) as catalog:
        while not stop.wait(HEARTBEAT_SECONDS):
            catalog.heartbeat(run_id)


def run_api(config: SourceConfig, connector_class: type, catalog: Catalog,
            run_id: int) -> None:
    """Crawl a source with its httpx connector."""
    run = catalog.get_run(run_id)
    sink = CatalogSink(catalog, run_id, config.key, health=config.health)
    fatal = None
    with make_client(config) as client:
        connector = connector_class(config, client)
        since = _since(catalog, run_id) if run.mode == "incremental" else None
        try:
            for result in connector.pages(run.checkpoint, since=since):
                sink.write(result)
        except CrawlError as exc:
            fatal = f"{exc.kind}: {exc}" + (f" ({exc.url})" if exc.url else "")
            catalog.record_error(run_id, exc.url, exc.kind, str(exc))
            log.error("%s: crawl stopped: %s", config.key, fatal)
        stats = {"http": dict(connector.fetcher.stats),
                 "connector": dict(getattr(connector, "stats", {}) or {})}
    sink.finish(fatal=fatal, extra_stats=stats)


def run_spider(config: SourceConfig, spider_class: type, catalog: Catalog, run_id: int,
               log_file: str) -> None:
    """Crawl a source with its Scrapy spider."""
    sink = CatalogSink(catalog, run_id, config.key, health=config.health)
    done = catalog.done_pages(run_id)
    # Scrapy logs to the run's log file through its own root handler
    logging.getLogger().handlers.clear()
    process = CrawlerProcess(scrapy_settings(config, log_file=log_file))
    crawler = process.create_crawler(spider_class)
    process.crawl(crawler, source_config=config, sink=sink, done_pages=done)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    extra = {
        "scrapy": {k: v for k, v in stats.items()
                   if isinstance(v, int | float) and not isinstance(v, bool)},
        "robots_skipped": getattr(crawler.spider, "skipped_by_robots", 0),
    }
    finish_reason = stats.get("finish_reason")
    fatal = None if finish_reason in (None, "finished") else f"spider closed: {finish_reason}"
    sink.finish(fatal=fatal, extra_stats=extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Crawl one source into one catalog run.")
    parser.add_argument("--source", required=True)
    parser.add_argument("--run-id", type=int, required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--sources-file", default=None)
    parser.add_argument("--config-json", default=None,
                        help="the source's configuration as JSON (else read the sources file)")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)

    home = Path(args.home)
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_file = str(logs / f"crawl-{args.source}.log")
    logging.basicConfig(filename=log_file, level=logging.INFO,
                        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    if args.config_json:
        config = SourceConfig(**json.loads(Path(args.config_json).read_text(encoding="utf-8")))
    else:
        config = load_sources(args.sources_file)[args.source]
    catalog = Catalog.in_home(home)
    if args.resume:
        catalog.claim_run(args.run_id, os.getpid())
        log.info("%s: resuming run %d", args.source, args.run_id)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(catalog.path, args.run_id, stop),
                            daemon=True)
    beat.start()
    try:
        crawler_type = registry.resolve(config)
        if crawler_type.engine == "spider":
            run_spider(config, crawler_type.load(), catalog, args.run_id, log_file)
        else:
            run_api(config, crawler_type.load(), catalog, args.run_id)
    except Exception as exc:  # the run must end recorded, whatever happened
        log.exception("%s: worker crashed", args.source)
        catalog.finish_run(args.run_id, "failed", message=f"worker crashed: "
                           f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
