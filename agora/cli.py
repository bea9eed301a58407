"""The ``agora`` command line: a root that names its commands and loads them lazily.

Each command lives in ``agora/commands/`` (one module per group) and is thin:
parse, call one library function, print. ``COMMANDS`` maps a command name to
its ``"module:attribute"``; only the command run is imported, so ``agora crawl``
never loads the web stack. Errors of the library's packages become one readable
line and exit code 1 (``agora.commands.common.cli_errors``); logging goes to
stderr at the level ``-v`` asks for.
"""

from __future__ import annotations

import logging
import sys

import click

from agora.commands.common import LazyGroup

COMMANDS = {
    "build": "agora.commands.build:build_cmd",
    "catalog": "agora.commands.catalog:catalog_group",
    "crawl": "agora.commands.crawl:crawl_cmd",
    "dedup": "agora.commands.matching:dedup_cmd",
    "demo": "agora.commands.demo:demo_cmd",
    "explain": "agora.commands.matching:explain_cmd",
    "export": "agora.commands.transfer:export_group",
    "import": "agora.commands.transfer:import_group",
    "index": "agora.commands.search:index_cmd",
    "link": "agora.commands.linking:link_cmd",
    "normalize": "agora.commands.build:normalize_cmd",
    "overlap": "agora.commands.overlap:overlap_cmd",
    "replicas": "agora.commands.replicas:replicas_group",
    "review": "agora.commands.linking:review_group",
    "runs": "agora.commands.crawl:runs_cmd",
    "schedule": "agora.commands.schedule:schedule_cmd",
    "search": "agora.commands.search:search_cmd",
    "serve": "agora.commands.serve:serve_cmd",
    "settings": "agora.commands.settings:settings_cmd",
    "sources": "agora.commands.sources:sources_group",
    "status": "agora.commands.status:overview_cmd",
    "worker": "agora.commands.worker:worker_cmd",
}
"""Every top-level command: name -> ``"module:attribute"`` of its click command."""


@click.group(cls=LazyGroup, lazy_commands=COMMANDS)
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="agora")
def main(verbose: int) -> None:
    """Agora: one search over every local e-commerce platform of a territory."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)


if __name__ == "__main__":
    main()
