"""Request shaping for the declarative types: headers, a method and a body, GraphQL.

What an entry may say about the requests its crawler sends, beyond the URL:

- ``headers``: on the source entry (every request of every crawler type, see
  ``crawlers.http``), on an ``html`` page rule, a ``json_api`` endpoint or a
  ``geojson`` block (the requests of that rule). A JSON rule sends ``Accept:
  application/json`` unless it says otherwise. Values may read the environment
  (``${VAR}``) and are masked in logs like a token (``crawlers.redaction``);
  like credentials, they are sent only to the platform's origin.
- ``method: POST`` with a ``body`` (``body_format``: ``json`` or ``form``), or a
  ``graphql`` block (``query`` and ``variables``, sent as a JSON POST). Their
  string values may carry the walk's variables (``VARIABLES``): ``{page}``,
  ``{offset}``, ``{cursor}``, ``{size}``, ``{value}``. A value that is exactly
  one variable takes the variable's own JSON value (a number, a search_after
  list); a variable with no value yet (the first page's cursor) removes its key.
- ``graphql_errors(data)``: the messages of a GraphQL answer's ``errors[]``.

Example::

    >>> fill({"from": "{offset}", "q": "shop {offset}", "after": "{cursor}"},
    ...      {"offset": 20, "cursor": None})
    {'from': 20, 'q': 'shop 20'}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from crawlers.headers import check_headers
from crawlers.validation import Key, Path, Where

#: the variables a body or GraphQL variables may carry, and what each is
VARIABLES = {
    "page": "the page number (style page)",
    "offset": "the offset (style offset)",
    "cursor": "the cursor read from the last page (styles cursor, graphql); absent at first",
    "size": "the page size (pagination size)",
    "value": "the parent value of a for_each",
}
JSON_ACCEPT = {"Accept": "application/json"}
METHODS = ("GET", "POST")
BODY_FORMATS = ("json", "form")
_VARIABLE = re.compile(r"\{([A-Za-z_]\w*)\}")


def variables_in(template: Any) -> set[str]:
    """The ``{name}`` variables a body template's strings carry (any name)."""
    if isinstance(template, str):
        return set(_VARIABLE.findall(template))
    if isinstance(template, dict):
        return set().union(*(variables_in(v) for v in template.values()))
    if isinstance(template, list):
        return set().union(*(variables_in(v) for v in template))
    return set()


def fill(template: Any, values: Mapping[str, Any]) -> Any:
    """``template`` with its variables replaced by ``values`` (see the module docs)."""
    if isinstance(template, str):
        whole = _VARIABLE.fullmatch(template)
        if whole and whole.group(1) in VARIABLES:
            return values.get(whole.group(1))
        return _VARIABLE.sub(lambda m: str(values.get(m.group(1), "")) if m.group(1) in VARIABLES
                             else m.group(0), template)
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            filled = fill(value, values)
            if filled is None and value is not None:
                continue  # a variable with no value yet: the key is left out
            out[key] = filled
        return out
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


@dataclass(frozen=True)
class Shape:
    """How a rule's requests are sent: method, headers, body template."""

    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: Any = None  # a JSON-like template, or None
    body_format: str = "json"
    graphql: str | None = None  # the query; ``body`` then holds its variables

    @property
    def content_type(self) -> str | None:
        """The Content-Type of the body (None: no body)."""
        if self.graphql is None and self.body is None:
            return None
        if self.graphql is None and self.body_format == "form":
            return "application/x-www-form-urlencoded"
        return "application/json"

    def encode(self, values: Mapping[str, Any]) -> bytes | None:
        """The body for these variable values (None: no body)."""
        if self.graphql is not None:
            payload = {"query": self.graphql, "variables": fill(self.body or {}, values)}
            return _json_bytes(payload)
        if self.body is None:
            return None
        filled = fill(self.body, values)
        if self.body_format == "form":
            form = {k: (json.dumps(v) if isinstance(v, dict | list) else v)
                    for k, v in filled.items()}
            return urlencode(form).encode("ascii")
        return _json_bytes(filled)

    def request_headers(self, *, json_rule: bool) -> dict[str, str]:
        """The rule's own headers (a JSON rule: ``Accept: application/json`` by default)."""
        own = dict(self.headers)
        if json_rule and not any(k.lower() == "accept" for k in own):
            return {**JSON_ACCEPT, **own}
        return own


def graphql_errors(data: Any) -> list[str]:
    """The messages of a GraphQL answer's ``errors[]`` (with their path when given)."""
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list):
        return []
    out = []
    for error in data["errors"]:
        if isinstance(error, dict):
            message = str(error.get("message", error))[:300]
            path = error.get("path")
            if isinstance(path, list):
                message += f" (at {'.'.join(str(p) for p in path)[:100]})"
            out.append(message)
        else:
            out.append(str(error)[:300])
    return out


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ---------------------------------------------------------------------- the keys, compiled
GRAPHQL_KEYS: dict[str, Key] = {
    "query": Key((str,), "the GraphQL query (its $variables declared)", required=True),
    "variables": Key((dict,), "its variables; string values may carry {cursor}, {size}, "
                     "{value}..."),
}


def headers_key(what: str) -> Key:
    """The ``headers`` key of a rule."""
    return Key((dict,), f"request headers of {what} (JSON: Accept: application/json by "
               "default); values may read ${VAR}", check=check_headers)


def compile_shape(w: Where, path: Path, raw: Mapping[str, Any], *, json_rule: bool,
                  bodies: bool) -> Shape:
    """The shape a rule's keys (``headers``; ``method``, ``body``, ``body_format``,
    ``graphql`` when ``bodies``) give its requests; every problem recorded."""
    headers = tuple((str(k), str(v)) for k, v in (raw.get("headers") or {}).items())
    if not bodies:
        return Shape(headers=headers)
    method = str(raw.get("method", "POST" if "graphql" in raw else "GET")).upper()
    if method not in METHODS:
        w.add((*path, "method"), f"method must be {' or '.join(METHODS)}, got {method!r}")
    body_format = raw.get("body_format", "json")
    if body_format not in BODY_FORMATS:
        w.add((*path, "body_format"), f"body_format must be json or form, got {body_format!r}")
    body, query = raw.get("body"), None
    if "graphql" in raw:
        block = w.mapping((*path, "graphql"), raw["graphql"], GRAPHQL_KEYS)
        query, body = block["query"], block.get("variables", {})
        if "body" in raw:
            w.add((*path, "body"), "a graphql endpoint's body is its query and variables")
        if method != "POST":
            w.add((*path, "method"), "GraphQL is sent by POST")
        if "body_format" in raw:
            w.add((*path, "body_format"), "a GraphQL body is JSON")
    elif body is not None:
        if method != "POST":
            w.add((*path, "body"), "a body needs method: POST")
        if body_format == "form" and any(isinstance(v, dict | list) for v in body.values()):
            w.add((*path, "body"), "a form body is flat: name: value")
    elif "body_format" in raw:
        w.add((*path, "body_format"), "body_format needs a body")
    where = (*path, "graphql", "variables") if query is not None else (*path, "body")
    unknown = variables_in(body) - set(VARIABLES)
    if unknown:
        w.add(where, f"unknown variable(s) {', '.join(sorted(unknown))} (known: "
              f"{', '.join(VARIABLES)})")
    return Shape(method, headers, body, body_format, query)
