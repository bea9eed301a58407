"""``agora serve``: the search site and its JSON API under gunicorn.

Reads the catalog of ``AGORA_HOME`` (and its search index: run ``agora build``
first), listens on ``--host``/``--port`` and prints the address. Each worker
process keeps its own rate-limit buckets (``AGORA_RATE_LIMIT`` per worker).
The command is ``serve_cmd``; ``agora/cli.py`` registers it with
``main.add_command``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from agora import settings
from catalog.store import describe_location

console = Console()
err_console = Console(stderr=True)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Worker processes (default: 2 x CPUs + 1, at most 8).")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Threads per worker.")
@click.option("--access-log", is_flag=True, help="Log every request on stderr.")
def serve_cmd(host: str, port: int, workers: int | None, threads: int, access_log: bool) -> None:
    """Serve the search pages and the JSON API (gunicorn) until Ctrl-C."""
    from search_ui.server import port_free, serve  # noqa: PLC0415

    catalog = settings.catalog_path()
    if isinstance(catalog, Path) and not catalog.exists():
        err_console.print(f"[bold red]error:[/] no catalog at {catalog}: crawl and "
                          "`agora build` first (or set AGORA_HOME)", highlight=False)
        sys.exit(1)
    if not port_free(host, port):
        err_console.print(f"[bold red]error:[/] {host}:{port} is already in use; choose "
                          "another with --port", highlight=False)
        sys.exit(1)
    serve(host, port, workers=workers, threads=threads, access_log=access_log,
          config={"AGORA_CATALOG": str(catalog)},
          on_ready=lambda url: console.print(f"Agora is served at [bold]{url}/[/] "
                                             f"(catalog {describe_location(catalog)}); "
                                             "Ctrl-C to stop.",
                                             highlight=False))
