"""The API calls a page's scripts make: ``fetch(url, {method, headers, body})`` read as text.

Front ends often reach their data by a script: ``fetch('/api/search', {method:
'POST', headers: {'X-Api-Key': KEY}, body: JSON.stringify({index: 'shops',
size: 20})})``. ``script_calls(text)`` finds such calls without running the
script: the URL, the method, the headers and the JSON body's keys, each value a
literal, a constant the script defines (``const KEY = '...'``), or unknown (the
name of the variable it comes from, ``Unknown``), the body's values flat (a nested
object is not understood). Nothing more is: a call built otherwise is left to the
operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_CALL = re.compile(r"""fetch\(\s*['"`]([^'"`\s]+)['"`]\s*,\s*\{""")
_CONST = re.compile(r"""(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(['"])([^'"]*)\2""")
_PAIR = re.compile(r"""['"]?([\w$-]+)['"]?\s*:\s*(?:(['"])([^'"]*)\2|(-?\d+(?:\.\d+)?)|"""
                   r"""(true|false|null)|([A-Za-z_$][\w$.]*))""")


@dataclass(frozen=True)
class Unknown:
    """A value the script computes: the name of what it comes from."""

    name: str


@dataclass
class ScriptCall:
    url: str
    method: str = "GET"
    headers: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None


def _braced(text: str, start: int) -> str:
    """The text of the ``{...}`` opening at ``start`` (nesting counted, strings ignored)."""
    depth, quote = 0, ""
    for i in range(start, min(len(text), start + 5000)):
        ch = text[i]
        if quote:
            quote = "" if ch == quote and text[i - 1] != "\\" else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    return ""


def _pairs(text: str, constants: dict[str, str]) -> dict[str, Any]:
    """The ``key: value`` pairs of an object literal's text, one level."""
    out: dict[str, Any] = {}
    for match in _PAIR.finditer(text):
        key, _, literal, number, word, name = match.groups()
        if literal is not None:
            out[key] = literal
        elif number is not None:
            out[key] = float(number) if "." in number else int(number)
        elif word is not None:
            out[key] = {"true": True, "false": False, "null": None}[word]
        elif name in constants:
            out[key] = constants[name]
        else:
            out[key] = Unknown(name)
    return out


def script_calls(text: str) -> list[ScriptCall]:
    """Every ``fetch(url, {...})`` of a script, read as far as literals go."""
    constants = {name: value for name, _, value in _CONST.findall(text)}
    calls = []
    for match in _CALL.finditer(text):
        options = _braced(text, match.end() - 1)
        call = ScriptCall(match.group(1))
        method = re.search(r"""method\s*:\s*['"](\w+)['"]""", options)
        if method:
            call.method = method.group(1).upper()
        headers = re.search(r"headers\s*:\s*\{", options)
        if headers:
            call.headers = _pairs(_braced(options, headers.end() - 1), constants)
        body = re.search(r"body\s*:\s*JSON\.stringify\(\s*\{", options)
        if body:
            call.body = _pairs(_braced(options, body.end() - 1), constants)
        calls.append(call)
    return calls
