"""One instance, one or several territories: the site that mounts an app per territory.

``create_site(config)`` is what ``agora serve`` runs: a small WSGI dispatcher in
front of one Flask app per served territory, mounted under ``/t/<key>`` (the app
sees ``SCRIPT_NAME=/t/<key>``, so ``url_for`` writes every link below it and
today's URLs keep working there), and one app for the whole catalog that answers
everything else: ``/`` (the chooser when several territories are served; a
redirect to the only one otherwise; with a query, a search of the whole catalog),
the JSON API (``territory=`` chooses among the served ones) and the static files.

Inside a territory's app, ``get_backend()`` hands out a ``TerritoryBackend``: every
search keeps to the territory's documents (their ``territories`` field, a shop
being in the territory of its address) and every completion too; the place
finder learns only that territory's places; the pages show its texts
(``config/territories.yaml``, ``texts:``).

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
from dataclasses import replace
from typing import Any

from flask import Flask, current_app, redirect, render_template, request
from werkzeug.wrappers import Response

from catalog.backends.base import (
    IndexReport,
    SearchBackend,
    SearchQuery,
    SearchResults,
    Suggestion,
)
from normalizer.territories import Territories, TerritoryConfig

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
PREFIX = "/t/"
#: What the pages say when they are not those of one territory.
GENERIC_TEXTS = {
    "title": "Agora, les commerces locaux",
    "tagline": "commerces locaux",
    "landing": "Toutes les boutiques locales, quelle que soit leur plateforme",
    "description": "Une seule recherche sur les plateformes de commerce local.",
    "platforms": "",
    "place_examples": "ex. une commune, un code postal, une adresse",
}


class TerritoryBackend(SearchBackend):
    """A search backend seen from one territory: its searches and completions keep to it."""

    def __init__(self, backend: SearchBackend, key: str) -> None:
        self.backend, self.key = backend, key
        self.name = backend.name

    def index_build(self, documents: Iterable[dict[str, Any]], build_id: int) -> IndexReport:
        return self.backend.index_build(documents, build_id)

    def search(self, query: SearchQuery) -> SearchResults:
        filters = tuple((k, v) for k, v in query.filters if k != "territory")
        return self.backend.search(replace(query, filters=(*filters,
                                                             ("territory", (self.key,)))))

    def suggest(self, prefix: str, limit: int = 8, territory: str | None = None
                ) -> list[Suggestion]:
        return self.backend.suggest(prefix, limit, self.key)

    def get(self, entity_id: str) -> dict[str, Any] | None:
        return self.backend.get(entity_id)


# --------------------------------------------------------------------------- in a request
def served() -> Territories:
    """The territories this instance serves."""
    return current_app.config["AGORA_TERRITORIES"]  # type: ignore[no-any-return]


def current() -> TerritoryConfig | None:
    """The territory of this app (None: the whole catalog)."""
    key = current_app.config.get("AGORA_TERRITORY")
    return served()[key] if key else None


def allowed_keys() -> tuple[str, ...]:
    """The values ``territory=`` may take here: this app's territory, else the served ones."""
    here = current()
    return (here.key,) if here else served().keys


def in_scope(postcode: str | None, lat: float | None, lon: float | None) -> bool:
    """Whether an address is in this app's territory (always, for the whole catalog)."""
    here = current()
    return here is None or here.key in served().all_of(postcode, lat, lon)


def texts() -> dict[str, str]:
    """The pages' texts: the app's territory's, the only one's, else generic ones; the
    platforms are those of the territory's ``sources``, by the names the catalog knows."""
    here = current()
    if here is None and len(served()) == 1:
        here = next(iter(served()))
    if here is None:
        out = dict(GENERIC_TEXTS)
        keys = [key for t in served() for key in t.sources]
    else:
        out = {key: here.texts.get(key) or (GENERIC_TEXTS[key] if key == "place_examples"
                                            else here.name) for key in GENERIC_TEXTS}
        keys = list(here.sources)
    out["platforms"] = platform_names(keys)
    return out


def platform_names(keys: Iterable[str]) -> str:
    """'Tout Toulouse, Click'n Co, …': the platforms' names, in the catalog's order."""
    from search_ui.context import platform  # noqa: PLC0415 - context imports this module

    found = sorted({platform(key) for key in keys}, key=lambda p: (p.rank, p.key))
    return ", ".join(p.name for p in found)


def template_context() -> dict[str, Any]:
    """What every template may read: ``site`` (the texts), ``territory``, ``territories``."""
    return {"site": texts(), "territory": current(), "territories": list(served())}


def register(app: Flask) -> None:
    """The territory's template context (the chooser is ``search.territories``)."""
    app.context_processor(template_context)


def chooser() -> str | Response:
    """The served territories, each with a link to its search (straight there if one)."""
    keys = served().keys
    if len(keys) == 1:
        return redirect(f"{request.script_root}{PREFIX}{keys[0]}/")  # type: ignore[return-value]
    return render_template("territories.html", choices=[
        {"key": t.key, "name": t.name, "tagline": t.text("tagline"),
         "platforms": platform_names(t.sources),
         "href": f"{request.script_root}{PREFIX}{t.key}/"} for t in served()])


# --------------------------------------------------------------------------- the site
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
                return app(environ, start_response)  # type: ignore[no-any-return]
        elif path == "/" and not environ.get("QUERY_STRING"):
            environ = dict(environ, PATH_INFO="/territoires")
        return self.root(environ, start_response)  # type: ignore[no-any-return]


def create_site(config: Mapping[str, Any] | None = None) -> TerritorySite:
    """The site of the territories ``AGORA_TERRITORIES`` names (default: Agora's settings).

    Args:
        config: as for ``search_ui.app.create_app``, shared by every territory's app.
    """
    from search_ui.app import create_app  # noqa: PLC0415

    root = create_app({**(config or {}), "AGORA_TERRITORY": None})
    territories: Territories = root.config["AGORA_TERRITORIES"]
    apps = {t.key: create_app({**(config or {}), "AGORA_TERRITORIES": territories,
                               "AGORA_TERRITORY": t.key}) for t in territories}
    return TerritorySite(root, apps)
