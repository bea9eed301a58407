"""The territory of a request: which one this app serves, its texts, the chooser page.

An app serves one territory (``AGORA_TERRITORY``, mounted under ``/t/<key>`` by
``search_ui.site``) or the whole catalog. Inside a territory's app,
``get_backend()`` hands out a ``context.TerritoryBackend``: every search keeps to the
territory's documents (their ``territories`` field, a shop being in the territory of
its address) and every completion too; the place finder learns only that
territory's places (``in_scope``); the pages show its texts (``texts``, from
``config/territories.yaml``) and the platforms of its ``sources``; ``territory=`` in
the API takes ``allowed_keys()``.

An entity page is a territory's when the entity is in it (``holders``: its document's
``territories``, the ones search filters on). Under another territory its URL answers
with a redirect to the same page under the served territory that holds it
(``elsewhere``): a shared link or an old bookmark still lands on the shop, and the
shopper then browses the shop's own territory; only an entity no served territory
holds answers 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask, current_app, redirect, render_template, request
from werkzeug.wrappers import Response

from normalizer.territories import Territories, TerritoryConfig
from search_ui.context import platform

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


# --------------------------------------------------------------------------- in a request
def served() -> Territories:
    """The territories this instance serves."""
    return current_app.config["AGORA_TERRITORIES"]


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


def holders(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """The served territories an entity is in, in the file's order: its document's
    ``territories`` (a shop's by its address, an offer's its shop's, a product's its
    shops'), else, without that field, those of its own address."""
    keys = doc.get("territories")
    if keys is None:
        keys = served().all_of(doc.get("postcode"), doc.get("lat"), doc.get("lon"))
    return tuple(k for k in served().keys if k in keys)


def is_here(keys: Iterable[str]) -> bool:
    """Whether this app shows what ``keys`` hold (always, for the whole catalog)."""
    here = current()
    return here is None or here.key in keys


def elsewhere(keys: Iterable[str]) -> str | None:
    """This request's URL under the first served territory of ``keys`` other than this
    app's (None: none is served, or this app is the whole catalog's)."""
    here = current()
    wanted = set(keys)
    other = next((k for k in served().keys if k in wanted and here and k != here.key), None)
    return None if other is None else url_in(other)


def url_in(key: str, path: str | None = None) -> str:
    """``path`` (default: this request's path and query) under the served territory
    ``key``."""
    here = current()
    root = request.script_root
    if here is not None:
        root = root.removesuffix(PREFIX + here.key)
    if path is None:
        query = request.query_string.decode("latin-1")
        path = request.path + (f"?{query}" if query else "")
    return f"{root}{PREFIX}{key}{path}"


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
    """The platforms' names, in the catalog's order ("Click’n Co, Dans Ma Zone")."""
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
        return redirect(f"{request.script_root}{PREFIX}{keys[0]}/")
    return render_template("territories.html", choices=[
        {"key": t.key, "name": t.name, "tagline": t.text("tagline"),
         "platforms": platform_names(t.sources),
         "href": f"{request.script_root}{PREFIX}{t.key}/"} for t in served()])
