"""Secrets out of anything written or shown: URLs, error messages, log lines, JSON payloads.

Scraped URLs and error messages may carry a credential: a platform's token passed
as ``?token=…`` or ``?api_key=…`` (``auth: {type: query}``), ``user:password@`` in
a base URL, ``Authorization: Bearer …`` echoed in an error. Every place that
stores, logs or displays such text runs it through here first: the crawl side
before writing ``crawl_errors`` and its logs, the web app when it shows
``/sources`` (defence in depth) and in its access log. It lives in the catalog,
the lowest package both sides import, beside ``catalog.sources.public_url``
(which drops query and user info altogether for the sources' public URLs).

A query or fragment parameter is secret when its name says so (token, key,
secret, password, auth, signature, session, jwt, credential…); its value becomes
``***``, its name stays (an operator still sees which parameter was sent). The
whole user info of a URL becomes ``***`` (a token is often the user name).
Redaction is one-way and idempotent.

Example:
    >>> redact_url("https://bob:hunter2@api.example/v1/shops?page=2&api_key=s3cr3t")
    'https://***@api.example/v1/shops?page=2&api_key=***'
    >>> redact_text("GET /sources?token=abc failed: Authorization: Bearer xyz")
    'GET /sources?token=*** failed: Authorization: Bearer ***'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

MASK = "***"

#: Parameter names that carry a credential; matched on the lower-cased name with
#: '-' read as '_'. "auth" but not "author(ity)"; any name ending in "key" (key, apikey,
#: x_api_key, subscription_key).
_SECRET_NAME = re.compile(
    r"token|secret|passw|pwd|api_?key|access_?key|private_?key|auth(?!or(?!iz))|signature|"
    r"session|jwt|credential|key$|^sig$|^pass$")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>\"'`]*[^\s<>\"'`.,;:!?)]")
_PARAM = re.compile(r"(?P<lead>(?:^|[?&;#\s,(]))(?P<name>[A-Za-z0-9_.\-\[\]]+)=(?P<value>[^&;#\s\"'<>,)]*)")
_SCHEME_TOKEN = re.compile(r"\b(?P<scheme>Bearer|Basic|Token|Digest)\s+(?P<value>[A-Za-z0-9._~+/=-]+)",
                           re.IGNORECASE)
_SCHEMES = ("bearer", "basic", "token", "digest")
_HEADER = re.compile(r"(?P<name>\b[A-Za-z][A-Za-z0-9-]*)(?P<sep>\s*:\s*)(?P<value>[^\s,;\"']+)")
_USERINFO = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/?#@]*)@")


def is_secret_name(name: str) -> bool:
    """Whether a parameter or header of that name carries a credential."""
    normal = unquote_plus(name).strip().lower().replace("-", "_")
    return bool(normal) and _SECRET_NAME.search(normal) is not None


def _params(text: str) -> str:
    """``name=value`` pairs with a secret name get ``name=***``."""
    def mask(match: re.Match[str]) -> str:
        if not is_secret_name(match["name"]) or not match["value"] or match["value"].startswith(MASK):
            return match.group(0)
        return f"{match['lead']}{match['name']}={MASK}"

    return _PARAM.sub(mask, text)


def redact_url(url: str) -> str:
    """The URL with its user info and secret query/fragment values masked."""
    if not url:
        return url
    out = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", url, count=1)
    head, sep, rest = out.partition("?")
    if not sep:
        head, sep, rest = out.partition("#")
    return head + sep + _params(sep + rest)[len(sep):] if sep else out


def redact_text(text: str) -> str:
    """Free text (an error message, a log line) with every secret in it masked: URLs,
    ``name=value`` pairs, ``Bearer …`` and ``Api-Key: …`` values."""
    if not text:
        return text
    out = _URL.sub(lambda m: redact_url(m.group(0)), text)
    out = _params(out)
    out = _SCHEME_TOKEN.sub(lambda m: f"{m['scheme']} {MASK}", out)

    def header(match: re.Match[str]) -> str:
        if match["value"] == MASK or match["sep"].strip() != ":" or not is_secret_name(
                match["name"]) or match["value"].startswith("//"):
            return match.group(0)
        if match["value"].lower() in _SCHEMES:  # "Bearer ***": the value is already masked
            return match.group(0)
        return f"{match['name']}{match['sep']}{MASK}"

    return _HEADER.sub(header, out)


def redact(value: Any) -> Any:
    """Every string in a JSON-like value (dicts, lists, tuples) through ``redact_text``."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value
