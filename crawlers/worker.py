"""One crawl of one source, in its own process: ``python -m crawlers.worker``.

The orchestrator starts one worker per source, so that a source that hangs,
crashes or is killed never stops the others, and Scrapy's reactor gets a
process of its own. The worker resumes a killed run from what the catalog holds
(pages already stored, the connector's last checkpoint).

The orchestrator hands the source's configuration, secrets expanded, on the
worker's standard input (``--config-stdin``): never in a file, never on the
command line (which any local user can read). The worker's log and everything
it records go through the source's ``Redactor`` (``crawlers.redaction``).
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

from catalog.store import Catalog
from crawlers import registry
from crawlers.config import load_sources
from crawlers.redaction import Redactor, install_log_redaction
from crawlers.runs import RunStart
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


def run(config: SourceConfig, catalog: Catalog, run_id: int, log_file: str) -> None:
    """Crawl the source with the crawler its type names, into the run, and end the run."""
    crawler_class = registry.resolve(config).load()
    run = catalog.get_run(run_id)
    start = RunStart(checkpoint=run.checkpoint,
                     since=_since(catalog, run_id) if run.mode == "incremental" else None,
                     done_pages=frozenset(catalog.done_pages(run_id)))
    sink = CatalogSink(catalog, run_id, config.key, health=config.health,
                       redactor=Redactor.of(config))
    outcome = crawler_class.run(config, sink, start=start, log_file=log_file)
    if outcome.error is not None:
        error = outcome.error
        sink.record_error(error.url, error.kind, str(error))
    sink.finish(fatal=outcome.fatal, extra_stats=outcome.stats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Crawl one source into one catalog run.")
    parser.add_argument("--source", required=True)
    parser.add_argument("--run-id", type=int, required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--sources-file", default=None)
    parser.add_argument("--config-stdin", action="store_true",
                        help="read the source's configuration as JSON on standard input "
                             "(else read the sources file)")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)

    home = Path(args.home)
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_file = str(logs / f"crawl-{args.source}.log")
    logging.basicConfig(filename=log_file, level=logging.INFO,
                        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    if args.config_stdin:
        config = SourceConfig(**json.loads(sys.stdin.read()))
    else:
        config = load_sources(args.sources_file)[args.source]
    redactor = Redactor.of(config)
    install_log_redaction(redactor)
    catalog = Catalog.in_home(home)
    if args.resume:
        catalog.claim_run(args.run_id, os.getpid())
        log.info("%s: resuming run %d", args.source, args.run_id)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(catalog.path, args.run_id, stop),
                            daemon=True)
    beat.start()
    try:
        run(config, catalog, args.run_id, log_file)
    except Exception as exc:  # the run must end recorded, whatever happened
        log.exception("%s: worker crashed", args.source)
        catalog.finish_run(args.run_id, "failed", message=redactor.text(
            f"worker crashed: {type(exc).__name__}: {exc}"))
        return 1
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
