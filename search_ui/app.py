"""The Flask application factory: shopper search, entity pages, JSON API, overlap, operators.

``create_app(config)`` builds the app from Agora's settings (``agora.settings``)
overridden by ``config``, registers the blueprints (search, entities, api,
overlap, operator), the security headers (a Content-Security-Policy without
inline script, nosniff, no framing), and the error handlers: every error of
the library and every unexpected exception becomes a status code and a short
page (HTML, or JSON under ``/api/``) without a stack trace. Debug is always off.

App configuration read (besides Flask's own):

- ``AGORA_CATALOG``: the catalog file (default ``settings.catalog_path()``).
- ``AGORA_SOURCES``: the sources file, for the platforms' names and order.
- ``AGORA_OPERATOR_TOKEN``: the operator pages' token (see ``search_ui.operator``).
- ``AGORA_RATE_LIMIT``: API requests per client, e.g. ``"120/minute"``; ``"off"``.
- ``AGORA_BACKEND``: a ``SearchBackend`` to use instead of ``open_backend(catalog)``
  (tests pass an in-memory one); it is shared and never closed by the app.
- ``AGORA_ELASTICSEARCH_URL``, ``AGORA_ELASTICSEARCH_INDEX``: the search server and
  alias ``open_backend`` uses (default: Agora's settings; no URL: the embedded index).
- ``AGORA_TRUST_PROXY``: number of proxies in front whose ``X-Forwarded-For`` is
  trusted for the client address (default 0: the socket's address).

Run it with ``agora serve`` (gunicorn), or ``flask --app search_ui.app run`` locally.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from agora import settings
from catalog.errors import CatalogError
from search_ui.params import BadParameter

log = logging.getLogger(__name__)

#: Scripts and styles come from our own static files only; nothing inline runs.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
#: The operator pages (search_ui.operator, written with a <style> block) need inline
#: styles; still no inline script there either.
CSP_OPERATOR = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

ERROR_TITLES = {400: "Requête invalide", 401: "Accès refusé", 403: "Accès interdit",
                404: "Page introuvable", 405: "Méthode non autorisée",
                413: "Requête trop grande", 414: "Adresse trop longue",
                429: "Trop de requêtes", 500: "Erreur interne",
                503: "Service indisponible"}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Agora web app.

    Args:
        config: values overriding the defaults read from Agora's settings.

    Returns:
        The Flask app (debug off, whatever the configuration says).

    Example:
        >>> app = create_app({"AGORA_CATALOG": ":memory:", "AGORA_RATE_LIMIT": "off"})
        >>> app.url_map.bind("").build("search.index")
        '/'
    """
    app = Flask(__name__)
    app.config.from_mapping(
        AGORA_CATALOG=None,
        AGORA_SOURCES=None,
        AGORA_OPERATOR_TOKEN=settings.get("AGORA_OPERATOR_TOKEN"),
        AGORA_RATE_LIMIT=settings.get("AGORA_RATE_LIMIT"),
        AGORA_BACKEND=None,
        AGORA_ELASTICSEARCH_URL=settings.get("AGORA_ELASTICSEARCH_URL"),
        AGORA_ELASTICSEARCH_INDEX=settings.get("AGORA_ELASTICSEARCH_INDEX"),
        AGORA_TRUST_PROXY=0,
        MAX_CONTENT_LENGTH=64 * 1024,
        JSON_SORT_KEYS=False,
        TEMPLATES_AUTO_RELOAD=False,
    )
    if config:
        app.config.update(config)
    if not app.config["AGORA_CATALOG"]:
        app.config["AGORA_CATALOG"] = str(settings.catalog_path())
    if not app.config["AGORA_SOURCES"]:
        app.config["AGORA_SOURCES"] = str(settings.sources_file())
    # Scraped data is shown here: never the interactive debugger, whatever the config says.
    app.debug = False
    app.config["DEBUG"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.jinja_env.autoescape = True
    app.json.sort_keys = False  # type: ignore[attr-defined]
    trusted = int(app.config["AGORA_TRUST_PROXY"] or 0)
    if trusted:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted)  # type: ignore[method-assign]

    from search_ui import context, present  # noqa: PLC0415
    from search_ui.api import api_bp  # noqa: PLC0415
    from search_ui.entities import entities_bp  # noqa: PLC0415
    from search_ui.operator import operator_bp  # noqa: PLC0415
    from search_ui.overlap import overlap_bp  # noqa: PLC0415
    from search_ui.ratelimit import RateLimiter  # noqa: PLC0415
    from search_ui.search import search_bp  # noqa: PLC0415

    app.extensions["agora_rate_limiter"] = RateLimiter.parse(app.config["AGORA_RATE_LIMIT"])
    app.register_blueprint(search_bp)
    app.register_blueprint(entities_bp)
    app.register_blueprint(api_bp, url_prefix="/api")
    app.register_blueprint(overlap_bp)
    app.register_blueprint(operator_bp)
    present.register_filters(app)
    app.teardown_appcontext(context.close_resources)
    app.after_request(_security_headers)
    _register_errors(app)
    return app


def _security_headers(response: Response) -> Response:
    """The same protective headers on every answer."""
    operator = request.blueprint == "operator"
    response.headers.setdefault("Content-Security-Policy", CSP_OPERATOR if operator else CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy",
                                "geolocation=(self), camera=(), microphone=()")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def wants_json() -> bool:
    """Whether the error answer should be JSON (the API, or a client asking for it)."""
    return (request.path.startswith("/api/") or request.path.endswith(".json")
            or request.accept_mimetypes.best == "application/json")


def error_response(status: int, error: str, message: str, **extra: Any) -> Response:
    """A short error answer, JSON for the API, else the HTML error page."""
    if wants_json():
        response = jsonify(error=error, message=message, **extra)
    else:
        response = Response(render_template(
            "errors/error.html", status=status, title=ERROR_TITLES.get(status, "Erreur"),
            message=message), mimetype="text/html")
    response.status_code = status
    return response


def _register_errors(app: Flask) -> None:
    """Every error mapped to a status code in one place; no stack trace leaves the server."""

    @app.errorhandler(BadParameter)
    def bad_parameter(exc: BadParameter) -> Response:
        message = str(exc) if wants_json() else exc.french()
        return error_response(400, "bad_parameter", message, parameter=exc.parameter,
                              reason=exc.reason)

    @app.errorhandler(CatalogError)
    def catalog_error(exc: CatalogError) -> Response:
        log.error("catalog or search backend unavailable: %s", exc)
        response = error_response(503, "unavailable",
                                  "Le catalogue ou l’index de recherche est indisponible : "
                                  "réessayez dans un instant.")
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        messages = {404: "Cette page n’existe pas, ou plus.",
                    405: "Cette méthode n’est pas acceptée ici.",
                    413: "La requête est trop grande.",
                    414: "L’adresse demandée est trop longue."}
        response = error_response(status, (exc.name or "error").lower().replace(" ", "_"),
                                  messages.get(status, exc.description or "Erreur."))
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error",
                              "Une erreur inattendue s’est produite ; elle a été consignée.")
