"""Serving the app under gunicorn, from Python (``agora serve``, ``agora demo``, the benchmark).

``serve`` runs gunicorn's arbiter in this process until SIGINT or SIGTERM:
``workers`` processes of ``threads`` threads each (the gthread worker), the app
built once before forking (``create_app`` opens nothing; each worker opens its
own catalog and search connections on first use). Request lines, header counts
and sizes are bounded, and a request taking more than ``timeout`` seconds gets
its worker restarted. ``on_ready(url)`` is called once the socket listens.

Each worker holds its own rate-limit buckets (see ``search_ui.ratelimit``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

from gunicorn.app.base import BaseApplication


def default_workers() -> int:
    """2 × CPUs + 1, at most 8: SQLite reads scale with processes, not threads."""
    return max(2, min(8, (os.cpu_count() or 1) * 2 + 1))


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                       socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str, preferred: int, tries: int = 50) -> int:
    """``preferred`` when free, else the next free one above it, else any free port."""
    for port in range(preferred, preferred + tries):
        if port_free(host, port):
            return port
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class AgoraGunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn with the options given in Python rather than on its command line."""

    def __init__(self, app_factory: Callable[[], Any], options: Mapping[str, Any]) -> None:
        self.app_factory = app_factory
        self.options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self.app_factory()


def serve(host: str = "127.0.0.1", port: int = 8000, *, workers: int | None = None,
          threads: int = 4, config: Mapping[str, Any] | None = None, access_log: bool = False,
          timeout: int = 30, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve Agora on host:port with gunicorn until interrupted.

    Args:
        host, port: where to listen.
        workers: worker processes (default ``default_workers()``).
        threads: threads per worker.
        config: passed to ``create_app`` (e.g. ``{"AGORA_CATALOG": path}``).
        access_log: log every request on stderr.
        timeout: seconds a request may take before its worker is restarted.
        on_ready: called with the base URL once listening.
    """
    from search_ui.app import create_app  # noqa: PLC0415

    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    def when_ready(_server: Any) -> None:
        if on_ready:
            on_ready(url)

    options = {
        "bind": f"{'[' + host + ']' if ':' in host else host}:{port}",
        "workers": workers or default_workers(),
        "worker_class": "gthread",
        "threads": threads,
        "timeout": timeout,
        "graceful_timeout": 10,
        "keepalive": 5,
        "preload_app": True,
        "limit_request_line": 4094,
        "limit_request_fields": 60,
        "limit_request_field_size": 8190,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "agora-web",
        "when_ready": when_ready,
    }
    AgoraGunicorn(lambda: create_app(config), options).run()
