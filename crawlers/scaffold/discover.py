"""What a scaffold finds on a site: schema.org objects, lists of them, JSON endpoints.

``discover(probe)`` samples the site within the probe's budget:

- the sitemaps' pages, grouped by their first path segment; a sample of each
  group read for a schema.org shop (``LocalBusiness`` and subtypes) or
  ``Product`` object, JSON-LD or microdata (``SitemapRule``);
- the pages linked from the home page, breadth first: a page holding several
  microdata shop or product items is a list (``CardList``: the item's CSS, the
  attribute carrying a unique id, the ``rel=next`` link, an attribute naming a
  JSON endpoint per item);
- a GraphQL endpoint a page names, read by introspection (``scaffold.graphql``);
- a script's ``fetch(url, {method: 'POST', headers, body})`` (``scaffold.scripts``),
  its unknown body values tried from the pages' ``data-*`` attributes;
- JSON endpoints the pages name: ``data-*`` attributes, ``fetch(`` and XHR
  ``open(`` URLs in inline and linked scripts, ``<link rel=alternate
  type=application/json>``; each is tried and, when it answers a list of
  records, kept (``JsonEndpoint``: the path to the list, a next link, the
  parent object).

What it met and could not use goes into ``notes``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from crawlers.errors import CrawlError
from crawlers.parsing.schema_org import find_object, schema_objects
from crawlers.parsing.schema_types import family, short_type, types_of
from crawlers.scaffold.graphql import GraphqlApi, graphql_api, is_graphql_url
from crawlers.scaffold.probe import Page, Probe
from crawlers.scaffold.scripts import ScriptCall, Unknown, script_calls

SHOP_TYPES = family("LocalBusiness") | {"Store", "LocalBusiness"}
PRODUCT_TYPES = family("Product") | {"Product"}
SAMPLES_PER_GROUP = 2
MAX_GROUPS = 8
MIN_CARDS = 3
_SCRIPT_URL = re.compile(r"""(?:fetch\(\s*|\.open\(\s*['"](?:GET|POST)['"]\s*,\s*)"""
                         r"""['"`]([^'"`\s]+)['"`]""")
_BBOX = re.compile(r"(/[\w./-]+)\?(\w*bbox\w*)=\S*", re.I)
#: metropolitan France and Corsica, where Agora's platforms are (minLon, minLat, maxLon, maxLat)
FRANCE = (-5.5, 41.0, 10.0, 51.5)
_NOT_ENDPOINT = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|css|js|ico|pdf)(?:\?|$)", re.I)


@dataclass
class SitemapRule:
    segment: str  # the first path segment of its URLs
    kind: str
    sample: dict[str, Any]  # the schema.org object read on a sample page
    id_regex: str  # reads an id from the URL
    count: int  # URLs of the sitemaps in the group


@dataclass
class JsonEndpoint:
    url: str  # as found (path and query)
    list_path: str  # JMESPath to the records
    records: list[dict[str, Any]]
    next_key: str | None = None  # a key holding the next page's link
    parent_key: str | None = None  # a key holding the object the records belong to
    cursor_key: str | None = None  # a key holding the next page's cursor
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None  # a template: {size}, {cursor}
    size: int | None = None
    source: str = ""  # where it was named


@dataclass
class CardList:
    start: str  # the first list page
    kind: str
    css: str  # one node per item
    cards: list[str]  # the HTML of a few items
    id_attr: str | None
    next_css: str | None
    endpoint_attr: str | None = None  # an item attribute naming its JSON endpoint
    endpoint: JsonEndpoint | None = None


@dataclass
class Findings:
    sitemap_rules: list[SitemapRule] = field(default_factory=list)
    card_list: CardList | None = None
    endpoints: list[JsonEndpoint] = field(default_factory=list)
    graphql: GraphqlApi | None = None
    geojson: JsonEndpoint | None = None  # url: the path; list_path: the bbox parameter
    types: Counter[str] = field(default_factory=Counter)  # schema.org types met
    notes: list[str] = field(default_factory=list)
    pages: int = 0  # fetched


def kind_of(types: set[str]) -> str | None:
    if types & SHOP_TYPES:
        return "shop"
    if types & PRODUCT_TYPES:
        return "product"
    return None


def discover(probe: Probe) -> Findings:
    """Everything found on the site within the probe's budget (see the module docs)."""
    found = Findings()
    _sitemaps(probe, found)
    home = probe.get("/")
    if home is None:
        found.notes.append("the home page could not be fetched")
    else:
        _pages(probe, home, found)
    found.pages = probe.fetched
    if probe.skipped:
        found.notes.append(f"{len(probe.skipped)} URL(s) skipped: robots.txt disallows them")
    if probe.exhausted:
        found.notes.append(f"the budget ran out ({probe.fetched} fetches): the sample is "
                           "partial")
    return found


# ---------------------------------------------------------------------- sitemaps
def _sitemaps(probe: Probe, found: Findings) -> None:
    groups: dict[str, list[str]] = {}
    for url in probe.sitemap_pages():
        segment = urlsplit(url).path.strip("/").split("/", 1)[0]
        if segment:
            groups.setdefault(segment, []).append(url)
    for segment, urls in sorted(groups.items(), key=lambda g: -len(g[1]))[:MAX_GROUPS]:
        for url in urls[:SAMPLES_PER_GROUP]:
            page = probe.get(url)
            if page is None:
                continue
            try:
                objects = schema_objects(page.text, page.url)
            except CrawlError:
                continue
            # the page's own object: a top-level one first (a product page nests its seller)
            top = next((o for o in objects if kind_of(types_of(o))), None)
            top_kind = kind_of(types_of(top)) if top is not None else None
            order = [top_kind] if top_kind else ["shop", "product"]
            for kind in order:
                types = SHOP_TYPES if kind == "shop" else PRODUCT_TYPES
                obj = find_object(objects, frozenset(types))
                if obj is not None and not any(r.segment == segment for r in found.sitemap_rules):
                    found.types[str(obj.get("@type"))] += 1
                    tail = urlsplit(url).path.split("/", 2)[2] if url.count("/") > 3 else ""
                    regex = rf"/{re.escape(segment)}/(\d+)" if re.match(r"\d", tail) else (
                        rf"/{re.escape(segment)}/([^/?#]+)")
                    found.sitemap_rules.append(SitemapRule(segment, kind, obj, regex,
                                                           len(urls)))
                    break
            if any(r.segment == segment for r in found.sitemap_rules):
                break
        else:
            found.notes.append(f"sitemap pages under /{segment}/ ({len(urls)}): no schema.org "
                               "shop or product object on the pages sampled")


# ---------------------------------------------------------------------- pages
def _pages(probe: Probe, home: Page, found: Findings) -> None:
    queue, seen = [home.url], {home.url}
    scripts: set[str] = set()
    data: dict[str, set[str]] = {}  # data-* attributes met: what a script may read
    calls: list[ScriptCall] = []
    while queue and not probe.exhausted:
        url = queue.pop(0)
        page = home if url == home.url else probe.get(url)
        if page is None or "html" not in page.content_type:
            continue
        sel = Selector(text=page.text)
        if found.card_list is None:
            found.card_list = _cards(probe, page, sel)
        for link in sel.css("link[rel=alternate][type='application/json']::attr(href)").getall():
            _try_endpoint(probe, urljoin(page.url, link), f"link rel=alternate on {page.url}",
                          found)
        for text in sel.css("code::text").getall():  # an API documented on the page
            if found.geojson is None and (box := _BBOX.fullmatch(text.strip())):
                found.geojson = geojson_endpoint(probe, box.group(1), box.group(2))
            if re.fullmatch(r"/[\w./-]+", text.strip()):
                _try_endpoint(probe, urljoin(page.url, text.strip()), f"<code> on {page.url}",
                              found)
        for node in sel.xpath("//*[@*[starts-with(name(), 'data-')]]")[:200]:
            for name, value in node.attrib.items():
                if name.startswith("data-") and re.fullmatch(r"[\w-]{1,40}", value):
                    data.setdefault(name[5:], set()).add(value)
        for name, value in _data_urls(sel):
            _try_endpoint(probe, urljoin(page.url, value), f"{name} on {page.url}", found)
        for text in sel.css("script:not([src])::text").getall():
            calls += script_calls(text)
            for value in _SCRIPT_URL.findall(text):
                _try_endpoint(probe, urljoin(page.url, value), f"a script of {page.url}",
                              found)
        for src in sel.css("script[src]::attr(src)").getall():
            src = urljoin(page.url, src)
            if src in scripts:
                continue
            scripts.add(src)
            script = probe.get(src)
            calls += script_calls(script.text if script else "")
            for value in _SCRIPT_URL.findall(script.text if script else ""):
                _try_endpoint(probe, urljoin(page.url, value), f"script {src}", found)
        for link in sel.css("a::attr(href)").getall():
            link = urljoin(page.url, link).split("#", 1)[0]
            if link not in seen and probe.config.hosts.is_home(link):
                seen.add(link)
                queue.append(link)
    for call in calls:
        if call.method == "POST" and call.body is not None:
            _try_post(probe, urljoin(home.url, call.url), call, data, found)


#: body keys a walk moves (left out of the first request) and keys carrying a page size
_MOVED = re.compile(r"after|cursor|offset|page|from|start", re.I)
_SIZE = re.compile(r"size|limit|first|count|per_?page", re.I)


def _try_post(probe: Probe, url: str, call: ScriptCall, data: dict[str, set[str]],
              found: Findings) -> None:
    """A script's POST, its unknown values tried from the page's data-* attributes."""
    headers = {k: v for k, v in call.headers.items()
               if isinstance(v, str) and k.lower() != "content-type"}
    base: dict[str, Any] = {}
    moved = size_key = None
    choices: list[tuple[str, str]] = []
    for key, value in call.body.items():  # type: ignore[union-attr]
        if _MOVED.search(key):
            moved = key
        elif not isinstance(value, Unknown):
            base[key] = value
            if _SIZE.search(key) and isinstance(value, int):
                size_key = key
        elif key in data or value.name in data:
            choices += [(key, v) for v in sorted(data.get(key) or data[value.name])]
        else:
            found.notes.append(f"POST {url}: the script's {key!r} comes from {value.name!r}, "
                               "which no page shows")
            return
    for key, value in choices or [("", "")]:
        body = {**base, **({key: value} if key else {})}
        try:
            answer = probe.post_json(url, body, headers=headers)
        except CrawlError as exc:
            found.notes.append(f"POST {url} {body}: {exc}")
            continue
        path, records = _largest_list(answer)
        if not records:
            continue
        template = dict(body)
        endpoint = JsonEndpoint(urlsplit(url).path, path, records, source="a script's POST",
                                method="POST", headers=headers, body=template)
        if size_key:
            endpoint.size, template[size_key] = int(base[size_key]), "{size}"
        if moved and isinstance(records[-1].get("sort"), list):  # search_after keys
            template[moved] = "{cursor}"
            endpoint.cursor_key = f"{path}[-1].sort"
        found.endpoints.append(endpoint)


def _data_urls(sel: Selector) -> list[tuple[str, str]]:
    """(attribute, value) of data-* attributes naming a same-site path or URL."""
    out = []
    for node in sel.xpath("//*[@*[starts-with(name(), 'data-')]]")[:200]:
        for name, value in node.attrib.items():
            if name.startswith("data-") and re.match(r"(?:/|https?://)\S+$", value) and (
                    not _NOT_ENDPOINT.search(value)):
                out.append((name, value))
    return list(dict.fromkeys(out))[:20]


def _try_endpoint(probe: Probe, url: str, source: str, found: Findings) -> None:
    if _NOT_ENDPOINT.search(url) or any(e.url == url for e in found.endpoints):
        return
    if is_graphql_url(url):
        if found.graphql is None:
            found.graphql = graphql_api(probe, url)
            if found.graphql is None:
                found.notes.append(f"{url} ({source}): a GraphQL endpoint without a "
                                   "connection of shops found by introspection")
        return
    endpoint = json_endpoint(probe, url, source)
    if endpoint is not None:
        found.endpoints.append(endpoint)


def geojson_endpoint(probe: Probe, path: str, param: str) -> JsonEndpoint | None:
    """A GeoJSON endpoint answering a bounding box, asked for ``FRANCE``."""
    page = probe.get(f"{path}?{param}={','.join(f'{v:g}' for v in FRANCE)}",
                     accept="application/geo+json, application/json")
    try:
        data = json.loads(page.text) if page else None
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not (
            data.get("features")):
        return None
    return JsonEndpoint(path, param, [f for f in data["features"] if isinstance(f, dict)],
                        source="an API documented on the page")


def json_endpoint(probe: Probe, url: str, source: str) -> JsonEndpoint | None:
    """The endpoint at ``url`` if it answers JSON holding a list of records."""
    page = probe.get(url, accept="application/json")
    if page is None:
        return None
    try:
        data = json.loads(page.text)
    except ValueError:
        return None
    path, records = _largest_list(data)
    if not records:
        return None
    endpoint = JsonEndpoint(urlsplit(url).path + ("?" + urlsplit(url).query
                                                  if urlsplit(url).query else ""),
                            path, records, source=source)
    if isinstance(data, dict):
        base = urlsplit(url).path
        for key, value in data.items():
            if isinstance(value, str) and urlsplit(value).path == base and value != url:
                endpoint.next_key = key
            elif "cursor" in key.lower() and (value is None or isinstance(value, str)):
                endpoint.cursor_key = key
            elif isinstance(value, dict) and "id" in value and key != path:
                endpoint.parent_key = key
    return endpoint


def _largest_list(data: Any, path: str = "", depth: int = 0
                  ) -> tuple[str, list[dict[str, Any]]]:
    """(JMESPath, records) of the largest list of objects in ``data``."""
    best: tuple[str, list[dict[str, Any]]] = ("", [])
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        return path or "@", data
    if isinstance(data, dict) and depth < 3:
        for key, value in data.items():
            if not re.fullmatch(r"[A-Za-z_]\w*", str(key)):
                continue
            sub = _largest_list(value, f"{path}.{key}" if path else key, depth + 1)
            if len(sub[1]) > len(best[1]):
                best = sub
    return best


# ---------------------------------------------------------------------- lists of cards
def _cards(probe: Probe, page: Page, sel: Selector) -> CardList | None:
    """A list page: several microdata shop or product items, not nested in one another."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for node in sel.xpath("//*[@itemscope][@itemtype][not(ancestor::*[@itemscope])]"):
        kind = kind_of({short_type(node.attrib["itemtype"]) or ""})
        if kind is None:
            continue
        classes = node.attrib.get("class", "").split()
        css = node.root.tag + (f".{classes[0]}" if classes else
                               f"[itemtype='{node.attrib['itemtype']}']")
        groups.setdefault((kind, css), []).append(node)
    if not groups:
        return None
    (kind, css), nodes = max(groups.items(), key=lambda g: len(g[1]))
    if len(nodes) < MIN_CARDS:
        return None
    id_attr = endpoint_attr = None
    for name in nodes[0].attrib:
        if name in ("class", "itemscope", "itemtype", "itemprop", "style"):
            continue
        values = [n.attrib.get(name) for n in nodes]
        if None in values or len(set(values)) != len(values):
            continue
        if re.match(r"(?:/|https?://)", values[0]):
            endpoint_attr = endpoint_attr or name
        elif id_attr is None:
            id_attr = name
    next_css = "a[rel=next]::attr(href)" if sel.css("a[rel=next]") else None
    cards = CardList(urlsplit(page.url).path + ("?" + urlsplit(page.url).query
                                                if urlsplit(page.url).query else ""),
                     kind, css, [n.get() for n in nodes[:5]], id_attr, next_css)
    if endpoint_attr:
        cards.endpoint_attr = endpoint_attr
        cards.endpoint = json_endpoint(probe, urljoin(page.url, nodes[0].attrib[endpoint_attr]),
                                       f"{endpoint_attr} of each item")
    return cards
