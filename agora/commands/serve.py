"""``agora serve``: the search site and its JSON API under gunicorn.

Reads the catalog of ``AGORA_HOME`` (and its search index: run ``agora build``
first), listens on ``--host``/``--port`` and prints the address. Rate limits
(``AGORA_RATE_LIMIT*``) are counted per client and route class in the catalog,
shared by every worker (``search_ui.ratelimit``). Behind reverse proxies,
``--trust-proxy N`` (or ``AGORA_TRUST_PROXY``) trusts the last N hops'
``X-Forwarded-For``/``-Proto``, so each client has its own budget instead of all
sharing the proxy's. A setting the app cannot honour stops the command with one
line naming it. The command is ``serve_cmd``; ``agora/cli.py`` names it in
``COMMANDS``.
"""

from __future__ import annotations

from pathlib import Path

import click

from agora import settings
from agora.commands.common import cli_errors, console, fail
from catalog.store import describe_location
from search_ui.server import port_free, serve


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Worker processes (default: 2 x CPUs + 1, at most 8).")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Threads per worker.")
@click.option("--trust-proxy", "trust_proxy", default=None,
              type=click.IntRange(min=0),
              help="Reverse proxies in front whose X-Forwarded-For/-Proto are trusted "
                   "(default: AGORA_TRUST_PROXY, else 0).")
@click.option("--access-log", is_flag=True, help="Log every request on stderr (secrets masked).")
@cli_errors
def serve_cmd(host: str, port: int, workers: int | None, threads: int, trust_proxy: int | None,
              access_log: bool) -> None:
    """Serve the search pages and the JSON API (gunicorn) until Ctrl-C."""
    catalog = settings.catalog_path()
    if isinstance(catalog, Path) and not catalog.exists():
        fail(f"no catalog at {catalog}: crawl and `agora build` first (or set AGORA_HOME)")
    if not port_free(host, port):
        fail(f"{host}:{port} is already in use; choose another with --port")
    config: dict[str, object] = {"AGORA_CATALOG": str(catalog)}
    if trust_proxy is not None:
        config["AGORA_TRUST_PROXY"] = trust_proxy
    serve(host, port, workers=workers, threads=threads, access_log=access_log, config=config,
          on_ready=lambda url: console.print(f"Agora is served at {url}/ (catalog "
                                             f"{describe_location(catalog)}); Ctrl-C to stop.",
                                             highlight=False, markup=False))
