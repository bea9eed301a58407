"""Operator pages: ``/sources`` (HTML, in French) and ``/sources.json``, and their login.

Per source: state, last and next run, pages, listings, errors by kind, duration,
fill rates (those that fell against the last good run marked), and the last
errors with their URLs, as ``agora sources status`` shows them
(``catalog.status.source_statuses``: the sources registered in the catalog by
the crawl side, and any other source with runs). Every string shown goes through
``catalog.redact`` first: an error URL or message carrying a token, a key or
``user:password@`` shows ``***`` instead (the crawl side redacts before storing;
this is the second line).

Every page requires the operator token, ``AGORA_OPERATOR_TOKEN`` (``app.config``
first, else the environment), in one of two ways:

- ``Authorization: Bearer <token>`` on each request (scripts, monitoring);
- the login form (``/sources/connexion``, a POST with a CSRF token), which opens a
  session: Flask's signed session cookie (``COOKIE``: HttpOnly, SameSite=Strict,
  Secure over HTTPS, signed with the app's ``SECRET_KEY``) holding a fingerprint of
  the token keyed by that secret and the login time. It ends after
  ``SESSION_LIFETIME``, on logout (``/sources/deconnexion``, POST), and when the
  token changes (the fingerprint no longer matches).

A token in the URL (``?token=``) is never accepted. Without a configured token,
or with a wrong one, every page answers 401 (JSON for ``.json``, else the login
form) and never the data; a wrong token sets ``g.agora_operator_token_refused`` so
the app's limiter counts it (``search_ui.ratelimit``: failed logins per client).

App configuration read:
    AGORA_CATALOG: path of the catalog file (default: ``settings.catalog_path()``).
    AGORA_OPERATOR_TOKEN: overrides the environment variable of the same name.
    SECRET_KEY: Flask's, for the session cookie and the CSRF tokens.

Register with ``app.register_blueprint(operator_bp)`` (any ``url_prefix``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.wrappers import Response as BaseResponse
from wtforms import ValidationError

from agora import settings
from catalog.redact import redact
from catalog.status import scheduler_status, source_statuses
from catalog.store import Catalog
from search_ui.ratelimit import FAILED_LOGIN_FLAG

log = logging.getLogger(__name__)

operator_bp = Blueprint("operator", __name__, template_folder="templates")

COOKIE = "agora_operator"
SESSION_LIFETIME = timedelta(hours=8)
_SESSION_KEY = "operator"
_OPEN = ("operator.login_form", "operator.login")
STATE_LABELS = {"ok": "OK", "partial": "partielle", "degraded": "dégradée",
                "failing": "en échec", "interrupted": "interrompue", "running": "en cours",
                "never run": "jamais lancée"}
KIND_LABELS = {"shop": "boutiques", "product": "produits"}
RUN_LABELS = {"complete": "complète", "partial": "partielle", "degraded": "dégradée",
              "failed": "échouée", "running": "en cours"}


# --------------------------------------------------------------------------- auth
def _token() -> str | None:
    token = current_app.config.get("AGORA_OPERATOR_TOKEN") or settings.get("AGORA_OPERATOR_TOKEN")
    return token or None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _fingerprint(token: str) -> str:
    """What the session keeps of the token: keyed by the app's secret, so the cookie (signed,
    not encrypted) says nothing of the token, and a new token ends every session."""
    secret = current_app.secret_key
    if not secret:
        raise RuntimeError("the operator session needs the app's SECRET_KEY")
    key = secret if isinstance(secret, bytes) else str(secret).encode()
    return hmac.new(key, b"agora-operator:" + token.encode(), hashlib.sha256).hexdigest()


def _session_valid(token: str) -> bool:
    """Whether the session cookie opens the pages; a stale one is emptied."""
    held = session.get(_SESSION_KEY)
    if not held:
        return False
    since = session.get("since")
    fresh = isinstance(since, int | float) and 0 <= time.time() - since <= (
        SESSION_LIFETIME.total_seconds())
    if fresh and _same(str(held), _fingerprint(token)):
        return True
    session.clear()  # expired, or the token changed
    return False


def _refused() -> Response:
    setattr(g, FAILED_LOGIN_FLAG, True)
    return _unauthorized(message="Jeton incorrect.")


@operator_bp.before_request
def require_token() -> Response | None:
    """401 unless the request carries the operator token (header) or a valid session."""
    if request.endpoint in _OPEN:
        return None
    token = _token()
    if token is None:
        log.warning("operator pages asked for but AGORA_OPERATOR_TOKEN is not set: 401")
        return _unauthorized()
    if "token" in request.args:  # never honoured: URLs end up in logs, history and Referer
        return _unauthorized(message="Le jeton ne se passe plus dans l’adresse : "
                                     "connectez-vous avec le formulaire.")
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and given.strip() and _same(given.strip(), token):
            return None
        return _refused()
    if _session_valid(token):
        return None
    return _unauthorized()


def _unauthorized(message: str | None = None, status: int = 401) -> Response:
    if request.path.endswith(".json") or request.accept_mimetypes.best == "application/json":
        response = jsonify(error="unauthorized",
                           message="operator token missing or wrong (Authorization: Bearer …)")
    else:
        response = current_app.make_response(_login_page(message))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="agora-operator"'
    return response


def _login_page(message: str | None = None) -> str:
    target = request.form.get("next") if request.method == "POST" else request.full_path
    return render_template("operator/login.html", csrf_token=generate_csrf(),
                           next=_safe_next(target), message=message,
                           configured=_token() is not None)


def _safe_next(target: str | None) -> str:
    """Where to go after logging in: an operator page of this site, else ``/sources``."""
    home = url_for("operator.sources_page")
    parts = urlsplit(target or "")
    forms = (url_for("operator.login_form"), url_for("operator.logout"))
    if parts.scheme or parts.netloc or not parts.path.startswith(home) or parts.path in forms:
        return home
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("token="))
    return parts.path + (f"?{query}" if query else "")


def _csrf_ok() -> bool:
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError as exc:
        log.info("operator form refused: %s", exc)
        return False
    return True


@operator_bp.get("/sources/connexion")
def login_form() -> BaseResponse | str:
    """The login form (or the sources page, for an operator already in)."""
    token = _token()
    if token is not None and _session_valid(token):
        return redirect(url_for("operator.sources_page"), code=303)
    return _login_page()


@operator_bp.post("/sources/connexion")
def login() -> BaseResponse:
    """Check the token sent by the form and open the session."""
    if not _csrf_ok():
        return _unauthorized("Le formulaire a expiré : rechargez la page et recommencez.",
                             status=400)
    token = _token()
    given = request.form.get("token", "")
    if token is None or not given or not _same(given, token):
        return _refused()
    target = _safe_next(request.form.get("next"))
    session.clear()
    session[_SESSION_KEY] = _fingerprint(token)
    session["since"] = time.time()
    session.permanent = True
    return redirect(target, code=303)


@operator_bp.post("/sources/deconnexion")
def logout() -> BaseResponse:
    """End the session."""
    if not _csrf_ok():
        return _unauthorized("Le formulaire a expiré : rechargez la page et recommencez.",
                             status=400)
    session.clear()
    return redirect(url_for("operator.login_form"), code=303)


@operator_bp.after_request
def no_store(response: Response) -> Response:
    """Operator pages are never cached, and say so."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.vary.update(("Authorization", "Cookie"))
    return response


# --------------------------------------------------------------------------- data
def _statuses() -> dict[str, Any]:
    path = current_app.config.get("AGORA_CATALOG") or settings.catalog_path()
    with Catalog.open_read_only(path) as catalog:
        statuses = source_statuses(catalog)
        scheduler = scheduler_status(catalog)
    data = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "scheduler": scheduler, "sources": [s.to_dict() for s in statuses]}
    return redact(data)


# --------------------------------------------------------------------------- views
@operator_bp.get("/sources")
def sources_page() -> str:
    """The sources' health, one block per source."""
    return render_template("operator/sources.html", data=_statuses(), states=STATE_LABELS,
                           runs=RUN_LABELS, kinds=KIND_LABELS,
                           in_session=_SESSION_KEY in session,
                           csrf_token=generate_csrf() if _SESSION_KEY in session else None)


@operator_bp.get("/sources.json")
def sources_json() -> Response:
    """The same figures as JSON."""
    return jsonify(_statuses())


# --------------------------------------------------------------------------- filters
@operator_bp.app_template_filter("operator_when")
def operator_when(value: str | None) -> str:
    """'01/03/2025 12:07 UTC' from an ISO time; '—' for none."""
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%d/%m/%Y %H:%M UTC")


@operator_bp.app_template_filter("operator_pct")
def operator_pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


@operator_bp.app_template_filter("operator_seconds")
def operator_seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} s".replace(".", ",") if value < 120 else f"{value / 60:.0f} min"


@operator_bp.app_template_filter("operator_href")
def operator_href(url: str | None) -> str | None:
    """The URL when it is http(s), else None: a scraped URL is never a javascript: link."""
    if not url:
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None
