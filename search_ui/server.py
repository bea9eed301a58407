"""Serving the app under gunicorn, from Python (``agora serve``, ``agora demo``, the benchmark).

``serve`` builds the app (a setting it cannot honour raises ``ValueError`` before
anything listens), then runs gunicorn's arbiter in this process until SIGINT or
SIGTERM: ``workers`` processes of ``threads`` threads each (``AgoraWorker``, the
gthread worker), the app built once before forking (``create_app`` opens nothing;
each worker opens its own catalog and search connections on first use, and the
rate-limit counters are shared through the catalog, see ``search_ui.ratelimit``).
Request lines, header counts and sizes are bounded, and a request taking more
than ``timeout`` seconds gets its worker restarted. ``on_ready(url)`` is called
once the socket listens.

What gunicorn answers itself (a malformed request: 400, a request line over the
limit: 414, headers too large: 431) carries the app's security headers and its
error page (``AgoraWorker``). The access and error logs go through
``RedactingLogger``: secret-looking query parameters, Referer values and
credential headers are masked (``catalog.redact``). gunicorn never reads the
scheme from ``X-Forwarded-*`` itself: that is the app's ``ProxyFix``, which
trusts only ``AGORA_TRUST_PROXY`` hops.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker

from catalog.redact import MASK, is_secret_name, redact_text
from search_ui.app import SECURITY_HEADERS
from search_ui.errors import error_page
from search_ui.site import create_site

#: Atoms of the access log holding a URL or a query string (``%(r)s``, ``%(q)s``...).
_URL_ATOMS = frozenset({"r", "q", "U", "f", "{referer}i", "{raw_uri}e", "{query_string}e",
                        "{http_referer}e", "{path_info}e"})
_CREDENTIAL_HEADERS = frozenset({"cookie", "set-cookie", "http_cookie"})
#: gunicorn's default access line, plus the time taken and the worker's pid.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(L)ss %(p)s'


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


class _RedactingFilter(logging.Filter):
    """Masks secrets in a log record's final message (an invalid request line may hold one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class RedactingLogger(Logger):
    """gunicorn's logger, with secrets masked in the access and error logs."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, _RedactingFilter) for f in log.filters):
                log.addFilter(_RedactingFilter())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if not isinstance(value, str):
                continue
            name = key[1:-2] if key.startswith("{") else ""
            if name and (is_secret_name(name) or name in _CREDENTIAL_HEADERS):
                atoms[key] = MASK
            elif key in _URL_ATOMS:
                atoms[key] = redact_text(value)
        return atoms


class _ErrorPageSocket:
    """The client socket as gunicorn's ``write_error`` sees it: the answer it writes is
    replaced by the same status with the app's security headers and error page."""

    def __init__(self, sock: Any, page: Callable[[int], bytes]) -> None:
        self._sock = sock
        self._page = page

    def sendall(self, data: bytes) -> None:
        status_line = data.split(b"\r\n", 1)[0]
        parts = status_line.split(b" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 400
        body = self._page(status)
        head = [status_line.decode("latin-1"), "Connection: close",
                "Content-Type: text/html; charset=utf-8", f"Content-Length: {len(body)}",
                "Cache-Control: no-store",
                *(f"{name}: {value}" for name, value in SECURITY_HEADERS.items())]
        self._sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class AgoraWorker(ThreadWorker):
    """gunicorn's gthread worker whose own error answers look like the app's."""

    _pages: dict[int, bytes]

    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        super().handle_error(req, _ErrorPageSocket(client, self._error_page), addr, exc)

    def _error_page(self, status: int) -> bytes:
        pages = self.__dict__.setdefault("_pages", {})
        if status not in pages:
            app = self.wsgi
            app = getattr(app, "root", app)  # a TerritorySite: its whole-catalog app
            try:
                pages[status] = error_page(app, status) if isinstance(app, Flask) else b""
            except Exception:
                self.log.exception("error page %s could not be drawn", status)
                pages[status] = b""
            if not pages[status]:
                pages[status] = (f"<!DOCTYPE html><title>Erreur {status}</title>"
                                 f"<h1>Erreur {status}</h1>").encode()
        return pages[status]


class AgoraGunicorn(BaseApplication):
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
        config: passed to ``create_app`` for each territory served
            (``search_ui.territory.create_site``; e.g. ``{"AGORA_CATALOG": path}``).
        access_log: log every request on stderr (secrets masked).
        timeout: seconds a request may take before its worker is restarted.
        on_ready: called with the base URL once listening.

    Raises:
        ValueError: a setting the app cannot honour (it names the setting).
    """
    app = create_site(config)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    def when_ready(_server: Any) -> None:
        if on_ready:
            on_ready(url)

    options = {
        "bind": f"{'[' + host + ']' if ':' in host else host}:{port}",
        "workers": workers or default_workers(),
        "worker_class": f"{__name__}.AgoraWorker",
        "logger_class": f"{__name__}.RedactingLogger",
        "secure_scheme_headers": {},  # the scheme is ProxyFix's, from trusted hops only
        "threads": threads,
        "timeout": timeout,
        "graceful_timeout": 10,
        "keepalive": 5,
        "preload_app": True,
        "limit_request_line": 4094,
        "limit_request_fields": 60,
        "limit_request_field_size": 8190,
        "accesslog": "-" if access_log else None,
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "agora-web",
        "when_ready": when_ready,
    }
    AgoraGunicorn(lambda: app, options).run()
