"""Field mapping: selectors that find a value, and item rules that turn a record into a listing.

A ``Pick`` is one compiled selector (CSS, XPath, JMESPath, a regex on the
page URL, or a constant) with its transforms; an ``ItemRule`` maps contract
fields to picks for one kind of listing. ``read_items`` applies a rule to the
records of a page and sorts what comes out into listings, errors (a record
without an id, or without a required field) and ids kept live. Every
declarative type reads its records through these; the format is documented in
``docs/connectors.md``.

Example:
    >>> from crawlers.validation import Problems, Where
    >>> rule = compile_item(Where(Problems(), "demo"), ("items", 0),
    ...                     {"kind": "shop", "fields": {"source_id": "id", "name": "nom"}},
    ...                     ("path",), ITEM_KEYS)[0]
    >>> rule.listing({"id": 7, "nom": " Au Pain "}, None, "http://x/")
    {'kind': 'shop', 'source_id': '7', 'name': 'Au Pain'}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import jmespath
from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from crawlers.errors import ErrorKind, PageError
from crawlers.listing import FIELDS, LIST_FIELDS, PageResult
from crawlers.parsing.records import fingerprint
from crawlers.transforms import Transform, TransformError, apply_transforms, compile_transforms
from crawlers.validation import Key, Path, RecordedProblem, Where

LANGUAGES = ("css", "xpath", "path", "from_url", "const")
HTML_LANGUAGES = ("css", "xpath", "from_url", "const")
JSON_LANGUAGES = ("path", "from_url", "const")

# a selector written as a mapping (a plain string is the first language of its place)
SELECTOR_KEYS: dict[str, Key] = {
    "css": Key((str,), "a CSS selector (parsel: `::text`, `::attr(name)`, `:scope`)"),
    "xpath": Key((str,), "an XPath expression"),
    "path": Key((str,), "a JMESPath expression"),
    "from_url": Key((str,), "a regex on the page (or API) URL: its first group"),
    "const": Key((str, int, float, bool, list), "a constant value"),
    "all": Key((bool,), "every match as a list (default for categories and services)"),
    "scope": Key((str,), "item (default) or page: where the selector is evaluated"),
    "transform": Key((list, str, dict), "transforms applied in order"),
}
# an item rule: which kind of listing, and its fields
ITEM_KEYS: dict[str, Key] = {
    "kind": Key((str,), "shop or product", required=True),
    "fields": Key((dict,), "contract field -> selector; source_id is required", required=True),
    "required": Key((list,), "fields without which a record is an invalid record"),
}

_TRANSLATOR = HTMLTranslator()
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Pick:
    """One compiled selector: where a value is, and the transforms it goes through."""

    lang: str  # css | xpath | path | from_url | const
    expr: Any
    compiled: Any = None
    all: bool = False
    scope: str = "item"  # item | page
    transforms: tuple[Transform, ...] = ()

    def raw(self, node: Any, page: Any, url: str) -> Any:
        """The value before transforms."""
        target = page if self.scope == "page" else node
        if self.lang == "const":
            return self.expr
        if self.lang == "from_url":
            match = self.compiled.search(url)
            if not match:
                return None
            return match.group(1) if self.compiled.groups else match.group(0)
        if self.lang == "path":
            if target is None:
                return None
            return self.compiled.search(target)
        values = [_node_value(s) for s in target.xpath(self.compiled)]
        values = [v for v in values if v]
        if self.all:
            return values
        return values[0] if values else None

    def value(self, node: Any, page: Any, url: str) -> Any:
        return apply_transforms(list(self.transforms), self.raw(node, page, url), url)


def _node_value(sel: Selector) -> str:
    """Text or attribute value as is; an element's whole visible text, collapsed."""
    root = sel.root
    if isinstance(root, str):
        return _SPACES.sub(" ", root).strip()
    if isinstance(root, etree._Element):  # lxml's public element type
        return _SPACES.sub(" ", " ".join(sel.xpath(".//text()").getall())).strip()
    return _SPACES.sub(" ", str(sel.get() or "")).strip()


def _compile_expr(w: Where, path: Path, lang: str, expr: Any) -> Any:
    """The compiled form of an expression; a problem recorded when it does not compile."""
    if lang == "css":
        try:
            return _TRANSLATOR.css_to_xpath(expr)
        except Exception as exc:  # cssselect raises SelectorError or ExpressionError
            raise w.error(path, f"CSS selector {expr!r} does not compile: {exc}") from None
    if lang == "xpath":
        try:
            etree.XPath(expr)
        except etree.XPathError as exc:
            raise w.error(path, f"XPath {expr!r} does not compile: {exc}") from None
        return expr
    if lang == "path":
        try:
            return jmespath.compile(expr)
        except jmespath.exceptions.JMESPathError as exc:
            message = str(exc).replace("\n", " ")
            raise w.error(path, f"JMESPath {expr!r} does not compile: {message}") from None
    if lang == "from_url":
        try:
            return re.compile(expr)
        except re.error as exc:
            raise w.error(path, f"regex {expr!r} does not compile: {exc}") from None
    return None


def compile_pick(w: Where, path: Path, raw: Any, langs: tuple[str, ...], *,
                 default_all: bool = False, extra: Mapping[str, Key] | None = None) -> Pick:
    """A selector from its shorthand (text) or mapping form, compiled to catch errors now."""
    if isinstance(raw, str):
        raw = {langs[0]: raw}
    if not isinstance(raw, dict):
        raise w.error(path, f"must be a selector (text, or a mapping with one of "
                      f"{', '.join(langs)}), got {raw!r}")
    given = raw
    raw = w.mapping(path, {k: v for k, v in raw.items() if k not in (extra or {})},
                    SELECTOR_KEYS)
    chosen = [k for k in LANGUAGES if k in raw]
    if any(k in given and k not in raw for k in LANGUAGES):
        raise RecordedProblem("a selector of the wrong type", source=w.source)  # recorded
    if len(chosen) != 1:
        raise w.error(path, f"needs exactly one of {', '.join(langs)}, got "
                      f"{', '.join(chosen) or 'none'}")
    lang = chosen[0]
    if lang not in langs:
        raise w.error((*path, lang), f"{lang} selectors are not used here (use one of "
                      f"{', '.join(langs)})")
    compiled = _compile_expr(w, (*path, lang), lang, raw[lang])
    scope = raw.get("scope", "item")
    if scope not in ("item", "page"):
        raise w.error((*path, "scope"), f"scope must be item or page, got {scope!r}")
    try:
        transforms = compile_transforms(raw.get("transform"))
    except TransformError as exc:
        tpath = (*path, "transform") + ((exc.index,) if exc.index is not None
                                        and isinstance(raw.get("transform"), list) else ())
        raise w.error(tpath, str(exc)) from None
    return Pick(lang, raw[lang], compiled, bool(raw.get("all", default_all)), scope,
                tuple(transforms))


@dataclass(frozen=True)
class ItemRule:
    """How to turn a record (an HTML node, a JSON object) into a listing of one kind."""

    kind: str
    fields: dict[str, Pick]
    required: tuple[str, ...] = ()
    select: Pick | None = None
    allow_empty: bool = False

    def listing(self, node: Any, page: Any, url: str) -> dict[str, Any]:
        """The listing (contract keys; empty values dropped), ``url`` made absolute."""
        out: dict[str, Any] = {"kind": self.kind}
        for name, pick in self.fields.items():
            value = pick.value(node, page, url)
            if name in ("source_id", "url") and isinstance(value, list):
                value = next((v for v in value if v not in (None, "")), None)
            if name == "source_id" and value is not None and not isinstance(value, str):
                value = str(int(value)) if isinstance(value, float) and value.is_integer() \
                    else str(value)
            if isinstance(value, str):
                value = value.strip()
            if value in (None, "", []):
                continue
            out[name] = value
        link = out.get("url")
        if isinstance(link, str):
            out["url"] = urljoin(url, link)
        return out

    def id_from_url(self, url: str) -> str | None:
        """The source id when the rule reads it from the URL alone (``from_url``): what a
        page whose record is unreadable still tells; None otherwise."""
        pick = self.fields.get("source_id")
        if pick is None or pick.lang != "from_url":
            return None
        return ItemRule(self.kind, {"source_id": pick}).listing(None, None, url).get("source_id")

    def problem(self, listing: dict[str, Any]) -> str | None:
        """Why the listing is unusable (a required field came out empty), or None."""
        missing = [name for name in self.required if name not in listing]
        if missing:
            return f"{self.kind} without {', '.join(missing)}"
        return None


def compile_fields(w: Where, path: Path, raw: Any, kind: str, langs: tuple[str, ...],
                   *, need: tuple[str, ...] = ("source_id",)) -> dict[str, Pick]:
    """Contract field -> Pick; every field's problem recorded, not only the first."""
    if not isinstance(raw, dict) or not raw:
        raise w.error(path, "must be a mapping of contract fields to selectors")
    allowed = [f for f in FIELDS[kind] if f not in ("kind", "source")]
    out: dict[str, Pick] = {}
    for name, spec in raw.items():
        with w.guard():
            if name not in allowed:
                raise w.error((*path, name), f"unknown field {name!r} for a {kind} (contract "
                              f"fields: {', '.join(allowed)})")
            out[name] = compile_pick(w, (*path, name), spec, langs,
                                     default_all=name in LIST_FIELDS)
    for name in need:
        if name not in raw:
            w.add(path, f"missing field mapping for {name!r}")
    return out


def compile_item(w: Where, path: Path, raw: Any, langs: tuple[str, ...],
                 keys: Mapping[str, Key], *, kinds: tuple[str, ...] = ("shop", "product"),
                 ) -> tuple[ItemRule, dict[str, Any]]:
    """An item rule from a block with ``keys`` (``ITEM_KEYS`` and the type's own)."""
    raw = w.mapping(path, raw, keys)
    kind = raw["kind"]
    if kind not in kinds:
        raise w.error((*path, "kind"), f"kind must be {' or '.join(kinds)}, got {kind!r}")
    fields = compile_fields(w, (*path, "fields"), raw["fields"], kind, langs)
    required = raw.get("required", [])
    for i, name in enumerate(required):
        if name not in FIELDS[kind] or name in ("kind", "source"):
            w.add((*path, "required", i), f"{name!r} is not a {kind} field")
        elif name not in raw["fields"] and name != "url":
            w.add((*path, "required", i), f"{name!r} is required but not mapped")
    return ItemRule(kind, fields, tuple(required)), raw


def read_items(rule: ItemRule, nodes: list[Any], page: Any, url: str, result: PageResult, *,
               seen: set[tuple[str, str]] | None = None, null_rows: set[str] | None = None,
               ids: set[str] | None = None, page_url_default: bool = False) -> None:
    """Turn the records of a page into listings, errors and touched ids on ``result``.

    ``seen`` ((kind, source id) already passed on in this crawl) drops repeats;
    ``ids`` collects every id met (for drift checks); ``null_rows`` collects
    fingerprints of id-less records (reported once each); ``page_url_default``
    gives listings without a ``url`` the page's.
    """
    for node in nodes:
        try:
            listing = rule.listing(node, page, url)
        except (TypeError, ValueError, jmespath.exceptions.JMESPathError) as exc:
            result.errors.append(PageError(url, ErrorKind.INVALID_RECORD, f"{rule.kind}: {exc}"))
            continue
        sid = listing.get("source_id")
        if sid is None:
            key = fingerprint(node if not isinstance(node, Selector) else node.get())
            if null_rows is not None:
                if key in null_rows:
                    continue
                null_rows.add(key)
            result.errors.append(PageError(url, ErrorKind.INVALID_RECORD,
                                           f"{rule.kind} without source_id"))
            continue
        if ids is not None:
            ids.add(sid)
        if seen is not None:
            if (rule.kind, sid) in seen:
                continue
            seen.add((rule.kind, sid))
        if page_url_default:
            listing.setdefault("url", url)
        problem = rule.problem(listing)
        if problem:
            result.errors.append(PageError(listing.get("url", url), ErrorKind.INVALID_RECORD,
                                           f"{sid}: {problem}"))
            result.touched.append(sid)
            continue
        result.listings.append(listing)


def select_nodes(pick: Pick | None, root: Any, url: str) -> list[Any] | None:
    """The item nodes a ``select`` finds (None: a JSON path that found no list)."""
    if pick is None:
        return [root]
    if pick.lang == "path":
        found = pick.compiled.search(root)
        if found is None or not isinstance(found, list):
            return None
        return found
    return list(root.xpath(pick.compiled))


def links_of(pick: Pick, node: Any, url: str) -> list[str]:
    """The absolute links a selector finds."""
    value = pick.value(node, node, url)
    values = value if isinstance(value, list) else [value]
    return [urljoin(url, v.strip()) for v in values if isinstance(v, str) and v.strip()]


def first_value(pick: Pick, node: Any, url: str) -> Any:
    """The first non-empty value a selector finds."""
    value = pick.value(node, node, url)
    if isinstance(value, list):
        value = next((v for v in value if v not in (None, "")), None)
    return value


def total_of(pick: Pick, node: Any, url: str) -> int | None:
    """An announced count ('1 234 boutiques', 1234) as an integer, or None."""
    value = first_value(pick, node, url)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    digits = re.sub(r"[\s\u202f\u00a0.]", "", str(value))
    match = re.search(r"\d+", digits)
    return int(match.group(0)) if match else None
