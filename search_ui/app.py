"""The Flask application factory: shopper search, entity pages, JSON API, overlap, operators.

``create_app(config)`` builds the app from Agora's settings (``agora.settings``)
overridden by ``config``, registers the blueprints (search, entities, api,
overlap, operator), the security headers (a Content-Security-Policy without
inline script, nosniff, no framing), and the error handlers: every error of
the library and every unexpected exception becomes a status code and a short
page (HTML, or JSON under ``/api/``) without a stack trace. Debug is always off.

App configuration read (besides Flask's own):

- ``AGORA_CATALOG``: the catalog file (default ``settings.catalog_path()``).
- ``AGORA_OPERATOR_TOKEN``: the operator pages' token (see ``search_ui.operator``).
- ``AGORA_RATE_LIMIT``, ``AGORA_RATE_LIMIT_PAGES``, ``_OVERLAP``, ``_OPERATOR``,
  ``_LOGIN_FAILURES`` and ``AGORA_RATE_LIMIT_STORAGE``: requests per client and route
  class, and where they are counted (see ``search_ui.ratelimit``).
- ``AGORA_TERRITORIES``: the territories the instance serves (a
  ``normalizer.territories.Territories``; default ``settings.territories()``), and
  ``AGORA_TERRITORY``: the one this app serves (None: the whole catalog; see
  ``search_ui.territory``, whose ``create_site`` mounts one app per territory).
- ``AGORA_BACKEND``: a ``SearchBackend`` to use instead of ``open_backend(catalog)``
  (tests pass an in-memory one); it is shared and never closed by the app.
- ``AGORA_TRUST_PROXY``: how many reverse proxies in front are trusted (werkzeug's
  ``ProxyFix``): the client address is then the one they put in ``X-Forwarded-For``
  and the scheme theirs in ``X-Forwarded-Proto`` (default 0: the socket's address;
  each proxy hop not trusted would let a client choose its address, and its bucket).
- ``AGORA_SECRET_KEY``: signs the operator session and CSRF tokens; default a random
  key per start (sessions end at a restart; several machines must share one key).
- ``AGORA_ELASTICSEARCH_URL``, ``AGORA_ELASTICSEARCH_INDEX``: the search server and
  alias ``open_backend`` uses (default: Agora's settings; no URL: the embedded index).

Run it with ``agora serve`` (gunicorn), or ``flask --app search_ui.app run`` locally.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask, Request, Response, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from agora import settings
from catalog.backends import BackendSettings
from catalog.errors import CatalogError
from search_ui import context, present, territory
from search_ui.api import api_bp
from search_ui.entities import entities_bp
from search_ui.errors import ERROR_MESSAGES, error_response, wants_json
from search_ui.operator import COOKIE, SESSION_LIFETIME, operator_bp
from search_ui.overlap import overlap_bp
from search_ui.params import BadParameter
from search_ui.ratelimit import init_limiter
from search_ui.search import search_bp

log = logging.getLogger(__name__)

#: Scripts and styles come from our own static files only; nothing inline runs.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
#: The operator pages (search_ui.operator, written with a <style> block) need inline
#: styles; still no inline script there either.
CSP_OPERATOR = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
#: Sent with every answer, the app's and gunicorn's own error pages alike.
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: Settings the app reads (``agora.settings``), overridable by ``create_app(config)``.
SETTINGS = ("AGORA_OPERATOR_TOKEN", "AGORA_RATE_LIMIT", "AGORA_RATE_LIMIT_PAGES",
            "AGORA_RATE_LIMIT_OVERLAP", "AGORA_RATE_LIMIT_OPERATOR",
            "AGORA_RATE_LIMIT_LOGIN_FAILURES", "AGORA_RATE_LIMIT_STORAGE", "AGORA_TRUST_PROXY",
            "AGORA_SECRET_KEY", "AGORA_ELASTICSEARCH_URL", "AGORA_ELASTICSEARCH_INDEX")
MAX_TRUSTED_PROXIES = 5


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
    app.config.from_mapping({name: settings.get(name) for name in SETTINGS})
    app.config.from_mapping(
        AGORA_CATALOG=None,
        AGORA_BACKEND=None,
        AGORA_TERRITORIES=None,
        AGORA_TERRITORY=None,
        MAX_CONTENT_LENGTH=64 * 1024,
        JSON_SORT_KEYS=False,
        TEMPLATES_AUTO_RELOAD=False,
    )
    if config:
        app.config.update(config)
    if not app.config["AGORA_CATALOG"]:
        app.config["AGORA_CATALOG"] = str(settings.catalog_path())
    if app.config["AGORA_TERRITORIES"] is None:
        app.config["AGORA_TERRITORIES"] = settings.territories()
    key = app.config["AGORA_TERRITORY"]
    if key and key not in app.config["AGORA_TERRITORIES"]:
        raise ValueError(f"AGORA_TERRITORY={key!r} is not one of the territories served "
                         f"({', '.join(app.config['AGORA_TERRITORIES'].keys)})")
    if app.config["AGORA_BACKEND"] is None:
        # a search setting that cannot be honoured stops the start, not the first search
        BackendSettings.from_mapping(app.config)
    _session_config(app)
    # Scraped data is shown here: never the interactive debugger, whatever the config says.
    app.debug = False
    app.config["DEBUG"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.jinja_env.autoescape = True
    app.json.sort_keys = False  # type: ignore[attr-defined]
    trusted = trusted_proxies(app.config["AGORA_TRUST_PROXY"])
    if trusted:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted,  # type: ignore[method-assign]
                                x_proto=trusted)


    app.register_blueprint(search_bp)
    app.register_blueprint(entities_bp)
    app.register_blueprint(api_bp, url_prefix="/api")
    app.register_blueprint(overlap_bp)
    app.register_blueprint(operator_bp)
    init_limiter(app, app.config)
    present.register_filters(app)
    territory.register(app)
    app.teardown_appcontext(context.close_resources)
    app.after_request(_security_headers)
    _register_errors(app)
    return app


def trusted_proxies(value: object) -> int:
    """``AGORA_TRUST_PROXY`` as a number of hops.

    Raises:
        ValueError: not a whole number from 0 to ``MAX_TRUSTED_PROXIES``.
    """
    text = str(value if value is not None else 0).strip()
    if not re.fullmatch(r"\d{1,2}", text) or int(text) > MAX_TRUSTED_PROXIES:
        raise ValueError(f"AGORA_TRUST_PROXY={value!r}: expected the number of reverse "
                         f"proxies in front, 0 to {MAX_TRUSTED_PROXIES}")
    return int(text)


class _SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the request came over HTTPS."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()  # no cookie to check: no signer built (most requests)
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(super().get_cookie_secure(app)
                    or (has_request_context() and request.is_secure))


def _session_config(app: Flask) -> None:
    """The operator session's cookie (see ``search_ui.operator``): signed, strict, short."""
    secret = app.config.get("AGORA_SECRET_KEY") or app.config.get("SECRET_KEY")
    if not secret:
        secret = secrets.token_hex(32)
        log.info("AGORA_SECRET_KEY not set: operator sessions last until the server restarts")
    app.config.update(SECRET_KEY=secret, SESSION_COOKIE_NAME=COOKIE,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
                      SESSION_REFRESH_EACH_REQUEST=False)
    app.session_interface = _SessionCookies()


def _security_headers(response: Response) -> Response:
    """The same protective headers on every answer."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.blueprint == "operator":
        response.headers["Content-Security-Policy"] = CSP_OPERATOR
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

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded) -> Response:
        limit = exc.limit.limit
        if wants_json():
            message = f"too many requests: at most {limit} per client; retry later"
        else:
            message = ("Trop de requêtes venues de votre adresse en peu de temps : "
                       "patientez un instant avant de réessayer.")
        return error_response(429, "rate_limited", message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = ERROR_MESSAGES.get(status) if status != 400 else None
        response = error_response(status, (exc.name or "error").lower().replace(" ", "_"),
                                  message or exc.description or "Erreur.")
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error",
                              "Une erreur inattendue s’est produite ; elle a été consignée.")
