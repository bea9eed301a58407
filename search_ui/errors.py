"""The web app's error answers: a short page, or JSON for the API, never a stack trace.

``error_response`` is what every error handler (``search_ui.app``) and every view
that refuses a request (``search_ui.api``) returns; ``error_page`` renders the
HTML page outside any request (gunicorn's own errors, ``search_ui.server``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request

ERROR_TITLES = {400: "Requête invalide", 401: "Accès refusé", 403: "Accès interdit",
                404: "Page introuvable", 405: "Méthode non autorisée",
                413: "Requête trop grande", 414: "Adresse trop longue",
                417: "Attente non satisfaite", 429: "Trop de requêtes",
                431: "En-têtes trop grands", 500: "Erreur interne",
                501: "Non pris en charge", 503: "Service indisponible"}
#: The sentence of an error page when the error says nothing more useful.
ERROR_MESSAGES = {400: "La requête est mal formée.",
                  403: "Cette requête n’est pas permise.",
                  404: "Cette page n’existe pas, ou plus.",
                  405: "Cette méthode n’est pas acceptée ici.",
                  413: "La requête est trop grande.",
                  414: "L’adresse demandée est trop longue.",
                  431: "Les en-têtes de la requête sont trop grands.",
                  500: "Une erreur inattendue s’est produite ; elle a été consignée.",
                  501: "Cette forme de requête n’est pas prise en charge."}


def error_page(app: Flask, status: int) -> bytes:
    """The HTML error page of ``status`` outside any request (gunicorn's own errors)."""
    with app.test_request_context("/"):
        return render_template("errors/error.html", status=status,
                               title=ERROR_TITLES.get(status, "Erreur"),
                               message=ERROR_MESSAGES.get(status, "Erreur.")).encode()


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
