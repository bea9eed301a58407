"""A source's secrets kept out of everything a crawl writes: the catalog, logs, previews.

A crawl knows its source's secrets (the ``auth`` token, a password in the base
URL), and a platform may echo them back (an API's next link carrying
``?key=…``). ``Redactor`` masks those exact values wherever they appear, then
runs the text through ``catalog.redact`` (the project's one redaction function,
which masks what *looks* like a secret: ``token=``, ``api_key=``, ``Bearer …``,
``user:password@``). The sink redacts every URL and reason it stores, and the
known values out of listings and checkpoints; ``RedactingFilter``, installed on
the log handlers of a crawl (``install_log_redaction``), redacts every log line
and traceback.

Values shorter than ``MIN_SECRET`` characters are not masked literally (masking
every "ab" would garble the text); name-based redaction still applies to them.

Example:
    >>> redactor = Redactor(["s3cr3t-token"])
    >>> redactor.text("GET http://api.test/shops?k=s3cr3t-token&page=2 failed")
    'GET http://api.test/shops?k=***&page=2 failed'
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from catalog.redact import MASK, redact_text
from crawlers.errors import PageError
from crawlers.headers import secret_header_values
from crawlers.source import SourceConfig

MIN_SECRET = 6


def secrets_of(config: SourceConfig) -> list[str]:
    """The values of a source's configuration that are secret: its token, its headers'
    values (but the ``PUBLIC_HEADERS``), the password of its base URL."""
    found = []
    token = (config.auth or {}).get("token")
    if isinstance(token, str):
        found.append(token)
    found += secret_header_values(config.headers)
    for headers in _headers_under(config.extract):  # a declarative rule's own headers
        found += secret_header_values(headers)
    password = urlsplit(config.base_url).password
    if password:
        found.append(password)
    return found


def _headers_under(value: Any) -> list[dict[str, str]]:
    """Every ``headers`` mapping in a declarative ``extract`` block."""
    found: list[dict[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "headers" and isinstance(item, dict):
                found.append(item)
            else:
                found += _headers_under(item)
    elif isinstance(value, list):
        for item in value:
            found += _headers_under(item)
    return found


class Redactor:
    """Masks given secret values (and their URL-encoded forms), then what looks secret."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) >= MIN_SECRET:
                forms |= {secret, quote(secret, safe=""), quote_plus(secret)}
        self.secrets = sorted(forms, key=len, reverse=True)  # longest first

    @classmethod
    def of(cls, config: SourceConfig) -> Redactor:
        return cls(secrets_of(config))

    def literal(self, text: str) -> str:
        """``text`` with every known secret value masked."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def text(self, text: str | None) -> str | None:
        """Free text or a URL, every secret in it masked."""
        if not text:
            return text
        return redact_text(self.literal(text))

    def value(self, value: Any) -> Any:
        """Every string in a JSON-like value (a listing, a checkpoint) with the known secret
        values masked; nothing else is changed (scraped text stays as the platform wrote it)."""
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.literal(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

    def error(self, error: PageError) -> PageError:
        return PageError(self.text(error.url), error.kind, self.text(error.reason) or "")


class RedactingFilter(logging.Filter):
    """A log handler's filter: the message (arguments merged) and any traceback redacted."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: leave it to the handler
            return True
        cleaned = self.redactor.text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        return True


def install_log_redaction(redactor: Redactor) -> None:
    """Put a ``RedactingFilter`` on every handler of the root logger (once each)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))
