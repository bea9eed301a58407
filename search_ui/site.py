"""One instance, one or several territories: the site that mounts an app per territory.

``create_site(config)`` is what ``agora serve`` runs: a small WSGI dispatcher in
front of one Flask app per served territory, mounted under ``/t/<key>`` (the app
sees ``SCRIPT_NAME=/t/<key>``, so ``url_for`` writes every link below it and
today's URLs keep working there), and one app for the whole catalog that answers
everything else: ``/`` (the chooser when several territories are served; a
redirect to the only one otherwise; with a query, a search of the whole catalog),
the JSON API (``territory=`` chooses among the served ones) and the static files.
What a territory's app keeps to is ``search_ui.territory``'s.

Example:
    >>> from normalizer.territories import parse_territories
    >>> two = parse_territories('''
    ... territories:
    ...   a: {name: A, departments: ["31"], sources: [x]}
    ...   b: {name: B, departments: ["54"], sources: [x]}
    ... ''')
    >>> site = create_site({"AGORA_CATALOG": ":memory:", "AGORA_RATE_LIMIT": "off",
    ...                     "AGORA_TERRITORIES": two})
    >>> sorted(site.apps)
    ['a', 'b']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask
from werkzeug.wrappers import Response

from normalizer.territories import Territories
from search_ui.app import create_app
from search_ui.territory import PREFIX

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]


class TerritorySite:
    """The WSGI dispatcher: ``/t/<key>/...`` to that territory's app, the rest to ``root``."""

    def __init__(self, root: Flask, apps: Mapping[str, Flask]) -> None:
        self.root, self.apps = root, dict(apps)

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path.startswith(PREFIX):
            key, slash, rest = path[len(PREFIX):].partition("/")
            app = self.apps.get(key)
            if app is not None:
                if not slash:  # /t/key -> /t/key/
                    script = environ.get("SCRIPT_NAME", "")
                    query = environ.get("QUERY_STRING")
                    location = f"{script}{PREFIX}{key}/" + (f"?{query}" if query else "")
                    return Response(status=308, headers={"Location": location})(
                        environ, start_response)
                environ = dict(environ, SCRIPT_NAME=environ.get("SCRIPT_NAME", "")
                               + PREFIX + key, PATH_INFO="/" + rest)
                return app(environ, start_response)
        elif path == "/" and not environ.get("QUERY_STRING"):
            environ = dict(environ, PATH_INFO="/territoires")
        return self.root(environ, start_response)


def create_site(config: Mapping[str, Any] | None = None) -> TerritorySite:
    """The site of the territories ``AGORA_TERRITORIES`` names (default: Agora's settings).

    Args:
        config: as for ``search_ui.app.create_app``, shared by every territory's app.
    """
    root = create_app({**(config or {}), "AGORA_TERRITORY": None})
    territories: Territories = root.config["AGORA_TERRITORIES"]
    apps = {t.key: create_app({**(config or {}), "AGORA_TERRITORIES": territories,
                               "AGORA_TERRITORY": t.key}) for t in territories}
    return TerritorySite(root, apps)
