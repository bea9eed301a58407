"""A hostile platform for the crawler tests: two hosts on loopback, traps, every request logged.

``HostilePair`` starts two servers: ``platform`` on 127.0.0.1 (what a crawler is
pointed at) and ``elsewhere`` on 127.0.0.2 (another host: another address and
another port; on Linux the whole 127.0.0.0/8 routes to loopback). Each serves a
``Traps`` app: a replica platform (or nothing), with traps set by the test on
paths matched by a regex: redirects (to the other host, to itself, to a page
already fetched, in a loop), a 200 MB JSON or HTML body and a gzip bomb (both
generated while they are sent, never held in memory), a page rewritten on the
fly (an off-host link or sitemap entry slipped in). Every request each host
receives is logged with its headers, so a test can say that a token never
reached the other host.

Example::

    with HostilePair(platform.wsgi()) as pair:
        pair.platform.on(r"/api/v1/products\\?.*", redirect(pair.elsewhere.url + "/steal"))
        ...
        assert pair.elsewhere.seen == []
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
MB = 1024 * 1024
CHUNK = 256 * 1024


@dataclass(frozen=True)
class Seen:
    """One request as a host received it."""

    target: str  # path?query
    headers: dict[str, str]


@dataclass
class Trap:
    pattern: re.Pattern[str]
    answer: WSGIApp
    after: int = 0  # matching requests let through before the trap springs
    times: int | None = None  # how many times it springs (None: always)
    matched: int = 0


@dataclass
class Rewrite:
    pattern: re.Pattern[str]
    change: Callable[[bytes], bytes]
    times: int | None = None  # how many answers it changes (None: all)
    done: int = 0


class Traps:
    """WSGI app: traps first, then the wrapped app (404 without one); logs every request."""

    def __init__(self, app: WSGIApp | None = None) -> None:
        self.app = app
        self.url = ""  # set by the server
        self.traps: list[Trap] = []
        self.rewrites: list[Rewrite] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    def on(self, pattern: str, answer: WSGIApp, *, after: int = 0,
           times: int | None = None) -> None:
        """Answer requests whose ``path?query`` fully matches ``pattern`` with ``answer``
        (the first ``after`` of them pass through; it springs ``times`` times at most)."""
        self.traps.append(Trap(re.compile(pattern), answer, after, times))

    def rewrite(self, pattern: str, change: Callable[[bytes], bytes], *,
                times: int | None = None) -> None:
        """Pass the body of matching pages through ``change`` (a link slipped in), for the
        first ``times`` of them (all when None)."""
        self.rewrites.append(Rewrite(re.compile(pattern), change, times))

    def targets(self) -> list[str]:
        with self._lock:
            return [s.target for s in self.seen]

    def headers_seen(self) -> list[dict[str, str]]:
        with self._lock:
            return [s.headers for s in self.seen]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        target = environ.get("PATH_INFO", "/") + ("?" + query if query else "")
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        with self._lock:
            self.seen.append(Seen(target, headers))
            trap = None
            for candidate in self.traps:
                if candidate.pattern.fullmatch(target):
                    candidate.matched += 1
                    sprung = candidate.matched - candidate.after
                    if sprung > 0 and (candidate.times is None or sprung <= candidate.times):
                        trap = candidate
                        break
            rewrite = None if trap is not None else next(
                (r for r in self.rewrites if r.pattern.fullmatch(target)
                 and (r.times is None or r.done < r.times)), None)
            if rewrite is not None:
                rewrite.done += 1
        if trap is not None:
            return trap.answer(environ, start_response)
        if self.app is None:
            return Response("not here", status=404)(environ, start_response)
        if rewrite is None:
            return self.app(environ, start_response)
        return _rewritten(self.app, rewrite.change, environ, start_response)


def _rewritten(app: WSGIApp, change: Callable[[bytes], bytes], environ: dict[str, Any],
               start_response: Callable[..., Any]) -> Iterable[bytes]:
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    body = b"".join(app(environ, capture))
    if captured["status"].startswith("200"):
        body = change(body)
    headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
    start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
    return [body]


# ---------------------------------------------------------------------- answers
def redirect(location: str, status: int = 302) -> WSGIApp:
    """A redirect to ``location`` (absolute, or a path on the same host)."""
    def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response(f"{status} Redirect", [("Location", location), ("Content-Length", "0")])
        return [b""]
    return answer


def _target(environ: dict[str, Any]) -> str:
    query = environ.get("QUERY_STRING", "")
    return environ.get("PATH_INFO", "/") + ("?" + query if query else "")


def redirect_to_itself(status: int = 302) -> WSGIApp:
    """A redirect to the very URL asked for."""
    def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return redirect(_target(environ), status)(environ, start_response)
    return answer


def redirect_to_seen(traps: Traps, index: int = 0) -> WSGIApp:
    """A redirect to the ``index``-th URL this host served (one the crawler already has)."""
    def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return redirect(traps.targets()[index])(environ, start_response)
    return answer


LOOP_PATH = "/hop"


def redirect_loop() -> WSGIApp:
    """A redirect to ``/hop?back=<the URL asked for>``; with ``bounce_back`` on ``/hop``,
    a loop A -> /hop -> A."""
    def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        back = quote(_target(environ), safe="")
        return redirect(f"{LOOP_PATH}?back={back}")(environ, start_response)
    return answer


def bounce_back() -> WSGIApp:
    """On ``/hop?back=URL``: a redirect to URL."""
    def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        back = parse_qs(environ.get("QUERY_STRING", "")).get("back", ["/"])[0]
        return redirect(back)(environ, start_response)
    return answer


def json_answer(data: Any, status: int = 200) -> WSGIApp:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def html_answer(text: str, status: int = 200) -> WSGIApp:
    return Response(text, status=status, mimetype="text/html")


def _padding(size: int, head: bytes, record: bytes) -> Iterator[bytes]:
    """``head`` then ``record`` repeated up to ``size`` bytes, in chunks."""
    yield head
    sent = len(head)
    block = record * max(1, CHUNK // len(record))
    while sent < size:
        piece = block[:size - sent]
        sent += len(piece)
        yield piece


def huge(size: int = 200 * MB, *, kind: str = "json", declare_length: bool = False) -> WSGIApp:
    """A ``size``-byte answer (JSON records or HTML), generated while it is sent;
    ``declare_length``: say the size in Content-Length (else it comes chunked)."""
    if kind == "json":
        head, record, mimetype = b'{"items": [', b'{"id": 1, "nom": "x"}, ', "application/json"
    else:
        head, record, mimetype = b"<html><body>", b"<p>boutique</p>\n", "text/html"

    def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = [("Content-Type", mimetype)]
        if declare_length:
            headers.append(("Content-Length", str(size)))
        start_response("200 OK", headers)
        return _padding(size, head, record)
    return answer


def gzip_bomb(size: int = 200 * MB, *, kind: str = "json") -> WSGIApp:
    """An answer of ``size`` bytes once inflated (``Content-Encoding: gzip``), a few
    hundred KB on the wire, compressed while it is sent."""
    mimetype = "application/json" if kind == "json" else "text/html"
    head = b'{"items": [' if kind == "json" else b"<html><body>"

    def chunks() -> Iterator[bytes]:
        squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
        for piece in _padding(size, head, b" "):
            out = squeeze.compress(piece)
            if out:
                yield out
        yield squeeze.flush()

    def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", mimetype), ("Content-Encoding", "gzip")])
        return chunks()
    return answer


def sitemap_answer(urls: list[str], *, index: bool = False, gz: bool = False) -> WSGIApp:
    tag, child = ("sitemapindex", "sitemap") if index else ("urlset", "url")
    body = ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<{tag} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(f"<{child}><loc>{u}</loc></{child}>" for u in urls)
            + f"</{tag}>").encode()
    return Response(gzip.compress(body) if gz else body,
                    mimetype="application/gzip" if gz else "application/xml")


# ---------------------------------------------------------------------- servers
class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None

    def log_error(self, *args: Any) -> None:  # a client hanging up on a bomb: expected
        return None


@dataclass
class Host:
    """One server: its app (``Traps``) and where it listens."""

    address: str
    traps: Traps
    server: BaseWSGIServer | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.traps.url

    @property
    def seen(self) -> list[Seen]:
        return list(self.traps.seen)

    def on(self, pattern: str, answer: WSGIApp, *, after: int = 0,
           times: int | None = None) -> None:
        self.traps.on(pattern, answer, after=after, times=times)

    def rewrite(self, pattern: str, change: Callable[[bytes], bytes], *,
                times: int | None = None) -> None:
        self.traps.rewrite(pattern, change, times=times)

    def start(self) -> Host:
        self.server = make_server(self.address, 0, self.traps, threaded=True,
                                  request_handler=_Quiet)
        self.server.daemon_threads = True
        self.traps.url = f"http://{self.address}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)


@dataclass
class HostilePair:
    """The platform (127.0.0.1) and somewhere else (127.0.0.2), both logging requests.

    ``elsewhere`` serves ``elsewhere_app`` (by default the same app as the
    platform: what a crawler takes from it would look like the platform's).
    """

    app: WSGIApp | None = None
    elsewhere_app: WSGIApp | None = None
    platform: Host = field(init=False)
    elsewhere: Host = field(init=False)

    def __post_init__(self) -> None:
        self.platform = Host("127.0.0.1", Traps(self.app))
        self.elsewhere = Host("127.0.0.2", Traps(self.elsewhere_app or self.app))

    def __enter__(self) -> HostilePair:
        self.platform.start()
        self.elsewhere.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.platform.stop()
        self.elsewhere.stop()

    @property
    def elsewhere_host(self) -> str:
        """``127.0.0.2:PORT``, as ``allowed_hosts`` names it."""
        return self.elsewhere.url.removeprefix("http://")
