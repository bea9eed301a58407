"""Request headers an entry sets (``headers:``): which are allowed, which may be secret.

A source entry, and a declarative rule, may set request headers
(``crawlers.declarative.shaping``). ``check_headers`` refuses at load what is
not a header or belongs to the crawler (``RESERVED_HEADERS``);
``secret_header_values`` says which values are masked in logs and stored text
like a token (all but the ``PUBLIC_HEADERS``, whose values are never secret).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: headers the crawler owns: the transport, or another key of the entry (user_agent)
RESERVED_HEADERS = {"host": "set from the URL", "content-length": "set from the body",
                    "transfer-encoding": "set by the transport",
                    "connection": "set by the transport", "user-agent": "use user_agent"}
#: headers whose values are never secret (not masked in logs)
PUBLIC_HEADERS = frozenset({"accept", "accept-language", "content-type", "origin", "referer",
                            "x-requested-with"})
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def check_headers(value: Any) -> None:
    """A ``headers`` mapping: header names to one-line text; ValueError says what is wrong."""
    if not isinstance(value, dict):
        raise ValueError(f"headers must be a mapping of name: value, got {value!r}")
    for name, text in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a header name")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"header {name} cannot be set ({RESERVED_HEADERS[name.lower()]})")
        if not isinstance(text, str) or "\n" in text or "\r" in text:
            raise ValueError(f"header {name}: a one-line text value, got {text!r}")


def secret_header_values(headers: Mapping[str, str] | None) -> list[str]:
    """The values of ``headers`` that may be secret (all but ``PUBLIC_HEADERS``)."""
    return [v for k, v in (headers or {}).items() if k.lower() not in PUBLIC_HEADERS]
