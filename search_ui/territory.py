"""The territory of a request: which one this app serves, its texts, the chooser page.

An app serves one territory (``AGORA_TERRITORY``, mounted under ``/t/<key>`` by
``search_ui.site``) or the whole catalog. Inside a territory's app,
``get_backend()`` hands out a ``context.TerritoryBackend``: every search keeps to the
territory's documents (their ``territories`` field, a shop being in the territory of
its address) and every completion too; the place finder learns only that
territory's places (``in_scope``); the pages show its texts (``texts``, from
``config/territories.yaml``) and the platforms of its ``sources``; ``territory=`` in
the API takes ``allowed_keys()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
