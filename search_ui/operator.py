"""Operator pages: ``/sources`` (HTML, in French) and ``/sources.json``.

Per source: state, last and next run, pages, listings, errors by kind, duration,
fill rates (those that fell against the last good run marked), and the last
errors with their URLs, as ``agora sources status`` shows them
(``catalog.status.source_statuses``: the sources registered in the catalog by
the crawl side, and any other source with runs).

Every page of the blueprint requires the operator token, ``AGORA_OPERATOR_TOKEN``
(``app.config`` first, else the environment): sent as ``Authorization: Bearer
<token>``, or once as ``?token=<token>`` from a browser, which then gets an
HttpOnly, SameSite=Strict cookie (derived from the token, never the token
itself) and is redirected to the same URL without it. Without a configured token,
or with a wrong one, every page answers 401 (JSON for ``.json``, else a short
HTML page) and never the data.

App configuration read:
    AGORA_CATALOG: path of the catalog file (default: ``settings.catalog_path()``).
    AGORA_OPERATOR_TOKEN: overrides the environment variable of the same name.

Register with ``app.register_blueprint(operator_bp)`` (any ``url_prefix``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
)

from agora import settings
from catalog.status import scheduler_status, source_statuses
from catalog.store import Catalog

log = logging.getLogger(__name__)

operator_bp = Blueprint("operator", __name__, template_folder="templates")

COOKIE = "agora_operator"
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


def _cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"agora-operator-session", hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


@operator_bp.before_request
def require_token() -> Response | None:
    """401 unless the request carries the operator token (header, cookie or ?token=)."""
    token = _token()
    if token is None:
        log.warning("operator pages asked for but AGORA_OPERATOR_TOKEN is not set: 401")
        return _unauthorized()
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and given and _same(given.strip(), token):
        return None
    cookie = request.cookies.get(COOKIE)
    if cookie and _same(cookie, _cookie_value(token)):
        return None
    given = request.args.get("token")
    if given is not None and _same(given, token):
        rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
        target = request.script_root + request.path
        response = redirect(target + (f"?{urlencode(rest)}" if rest else ""), code=303)
        response.set_cookie(COOKIE, _cookie_value(token), httponly=True, samesite="Strict",
                            secure=request.is_secure, path=request.script_root or "/")
        return response
    return _unauthorized()


def _unauthorized() -> Response:
    if request.path.endswith(".json") or request.accept_mimetypes.best == "application/json":
        response = jsonify(error="unauthorized",
                           message="operator token missing or wrong (Authorization: Bearer …)")
    else:
        response = current_app.make_response(render_template("operator/unauthorized.html"))
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="agora-operator"'
    return response


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
    return {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "scheduler": scheduler, "sources": [s.to_dict() for s in statuses]}


# --------------------------------------------------------------------------- views
@operator_bp.get("/sources")
def sources_page() -> str:
    """The sources' health, one block per source."""
    return render_template("operator/sources.html", data=_statuses(), states=STATE_LABELS,
                           runs=RUN_LABELS, kinds=KIND_LABELS)


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
