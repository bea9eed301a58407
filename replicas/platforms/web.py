"""How the replica platforms answer over HTTP: JSON, HTML and text responses, page shells,
and the routing loop of the platforms built on werkzeug's ``Map``.

The replicas imitate distinct real sites, and their quirks are what the crawlers are
tested against. Where two platforms answer differently (spaces in their JSON, the header,
footer and title separator of their pages, the body of an API error), the difference is
a parameter here that the platform states, never an accident of copied code.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from replicas.faults import WSGIApp

#: a view: the request and the URL rule's arguments in, the answer out
View = Callable[..., Response]


def json_response(data: Any, status: int = 200, *, compact: bool = True) -> Response:
    """``data`` as JSON, non-ASCII characters as they are; ``compact``: no space after
    ``,`` and ``:`` (json.dumps's ``", "`` and ``": "`` otherwise)."""
    separators = (",", ":") if compact else None
    return Response(json.dumps(data, ensure_ascii=False, separators=separators),
                    status=status, mimetype="application/json")


def html_response(body: str | bytes, status: int = 200) -> Response:
    """An HTML page (``text/html; charset=utf-8``)."""
    return Response(body, status=status, mimetype="text/html")


def text_response(text: str, mimetype: str = "text/plain") -> Response:
    """A text file: robots.txt, a script."""
    return Response(text, mimetype=mimetype)


@dataclass(frozen=True)
class PageShell:
    """The HTML document a platform wraps its pages in.

    The ``<title>`` is the page's, then ``separator``, then ``site``; ``before`` and
    ``after`` frame the body inside ``<body>`` (the site's header, ``<main>``, its
    footer); ``newlines`` puts a line break after the doctype and at the very end.
    """

    site: str
    separator: str = "—"
    before: str = ""
    after: str = ""
    newlines: bool = True

    def render(self, title: str, body: str) -> str:
        """The page titled ``title`` (escaped here) around ``body`` (HTML, as is)."""
        nl = "\n" if self.newlines else ""
        return (f'<!DOCTYPE html>{nl}<html lang="fr"><head><meta charset="utf-8">'
                f"<title>{html.escape(title)} {self.separator} {self.site}</title></head>"
                f"<body>{self.before}{body}{self.after}</body></html>{nl}")

    def response(self, title: str, body: str, status: int = 200) -> Response:
        """The rendered page as an HTML answer."""
        return html_response(self.render(title, body), status)


def dispatch(request: Request, urls: Map, views: Mapping[str, View], *,
             api_error: Callable[[HTTPException], Response] | None = None) -> Response:
    """The answer of the view ``urls`` routes the request to (called with the rule's
    arguments). An HTTP error raised on the way is answered by ``api_error`` under
    ``/api/`` (the platform's own JSON error body), by werkzeug's HTML page elsewhere."""
    try:
        endpoint, args = urls.bind_to_environ(request.environ).match()
        return views[endpoint](request, **args)
    except HTTPException as exc:
        if api_error is not None and request.path.startswith("/api/"):
            return api_error(exc)
        return exc.get_response(request.environ)


def routed_app(urls: Map, views: Mapping[str, View], *,
               api_error: Callable[[HTTPException], Response] | None = None) -> WSGIApp:
    """A WSGI app answering every request with ``dispatch``."""

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        response = dispatch(Request(environ), urls, views, api_error=api_error)
        return response(environ, start_response)

    return app


def definition_rows(pairs: Iterable[tuple[str, Any]]) -> str:
    """``<dt>``/``<dd>`` rows of a definition list, escaped; pairs without a value
    (None, empty text or list) left out."""
    return "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>"
                   for k, v in pairs if v not in (None, "", []))
