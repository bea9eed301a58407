"""Request shaping (issue 12): every key that validates has an effect, and what cannot be
honoured is refused at load with its file, line and key.

The headers of an entry and of its rules reach the platform on every declarative type
(and never another host); a POST body carries the walk's variables, JSON or form; a
GraphQL answer's ``errors[]`` are recorded as ``api_error``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from crawlers import registry
from crawlers.config import parse_sources
from crawlers.declarative.json_api import DeclarativeApiConnector
from crawlers.declarative.shaping import fill
from crawlers.errors import SourceConfigError
from crawlers.http import Fetcher
from crawlers.preview import Preview, PreviewSink
from crawlers.redaction import Redactor
from replicas.platforms.base import Platform
from tests.crawlers.conftest import config_of, crawl_once, expected, live, repository_config
from tests.crawlers.hostile import HostilePair
from tests.crawlers.test_declarative import DANS_MA_ZONE, GEOLOCAL31

HostileReplica = Callable[..., tuple[Platform, HostilePair]]
SECRET = "a-header-secret-4711"


def with_headers(config: Any, *, entry: dict[str, str], rule: dict[str, str] | None = None
                 ) -> Any:
    """The config with entry headers and, on every rule/endpoint, ``rule`` headers."""
    extract = json.loads(json.dumps(config.extract))
    if rule:
        if "pages" in extract and isinstance(extract["pages"], dict):
            for page in extract["pages"].values():
                page["headers"] = rule
        for endpoint in extract.get("endpoints", []):
            endpoint["headers"] = rule
        if "endpoint" in extract:
            extract["headers"] = rule
    return dataclasses.replace(config, headers=entry, extract=extract, retries=1)


def test_fill_puts_values_whole_or_in_text_and_drops_unset_keys() -> None:
    body = {"from": "{offset}", "q": "p{page}-{size}", "after": "{cursor}", "n": [1, "{value}"],
            "keep": None, "other": "{not_ours}"}
    assert fill(body, {"offset": 20, "page": 3, "size": 5, "cursor": None, "value": "x"}) == {
        "from": 20, "q": "p3-5", "n": [1, "x"], "keep": None, "other": "{not_ours}"}
    assert fill({"after": "{cursor}"}, {"cursor": ["k", 2]}) == {"after": ["k", 2]}


@pytest.mark.parametrize(("case", "key", "config"), [
    ("html", "mavillemonshopping", lambda url: repository_config("mavillemonshopping", url)),
    ("sitemap_jsonld", "dansmazone",
     lambda url: dataclasses.replace(config_of(DANS_MA_ZONE, "dansmazone"), base_url=url)),
], ids=["html", "sitemap_jsonld"])
def test_spider_types_send_the_entry_and_rule_headers_to_the_platform_only(
        case: str, key: str, config: Callable[[str], Any], hostile_replica: HostileReplica,
        tmp_path: Path) -> None:
    platform, pair = hostile_replica(key, shops=20)
    shaped = with_headers(config(pair.platform.url), entry={"X-Entry": SECRET},
                          rule={"X-Rule": "rule-value"} if case == "html" else None)
    report = crawl_once(shaped, tmp_path / "home", full=True)
    assert report.run.status == "complete", report.run.message
    assert live(tmp_path / "home", key).keys() == expected(platform).keys()
    pages = [s for s in pair.platform.seen if s.target != "/robots.txt"]
    assert pages and all(s.headers.get("X-Entry") == SECRET for s in pages)
    if case == "html":
        assert all(s.headers.get("X-Rule") == "rule-value" for s in pages)
        catalogue = [s for s in pages if s.target.startswith("/api/catalogue")]
        assert catalogue and all(s.headers["Accept"] == "application/json" for s in catalogue)
        lists = [s for s in pages if s.target.startswith("/boutiques")]
        assert lists and all("text/html" in s.headers["Accept"] for s in lists)
    assert pair.elsewhere.seen == []
    log = (tmp_path / "home").rglob("*.log")
    assert not any(SECRET in p.read_text(encoding="utf-8", errors="replace") for p in log)


@pytest.mark.parametrize(("key", "config"), [
    ("geolocal31", lambda url: dataclasses.replace(config_of(GEOLOCAL31, "geolocal31"),
                                                   base_url=url)),
    ("achetezlocal", lambda url: repository_config("achetezlocal", url)),
    ("panier_toulousain", lambda url: repository_config("panier_toulousain", url)),
], ids=["geojson", "json_api_post", "json_api_graphql"])
def test_api_types_send_the_entry_and_rule_headers(
        key: str, config: Callable[[str], Any], hostile_replica: HostileReplica) -> None:
    platform, pair = hostile_replica(key, shops=40, **({"cap": 8} if key == "geolocal31"
                                                       else {}))
    base = config(pair.platform.url)
    entry = {**(base.headers or {}), "X-Entry": SECRET}
    shaped = with_headers(base, entry=entry, rule={"X-Rule": "r"})
    preview = Preview(shaped.key, shaped.connector)
    outcome = registry.resolve(shaped).load().run(shaped, PreviewSink(preview))
    assert outcome.fatal is None and not preview.errors, preview.errors
    assert {x["source_id"]: x for x in preview.listings} == expected(platform)
    seen = [s for s in pair.platform.seen]
    assert seen and all(s.headers.get("X-Entry") == SECRET and s.headers.get("X-Rule") == "r"
                        and s.headers.get("Accept") == "application/json" for s in seen)
    assert SECRET in Redactor.of(shaped).secrets
    assert "application/json" not in Redactor.of(shaped).secrets  # public: not masked


def test_a_missing_header_is_what_the_platform_refuses(hostile_replica: HostileReplica
                                                       ) -> None:
    _, pair = hostile_replica("achetezlocal", shops=20)
    config = dataclasses.replace(repository_config("achetezlocal", pair.platform.url),
                                 headers=None, retries=0)
    preview = Preview(config.key, config.connector)
    outcome = registry.resolve(config).load().run(config, PreviewSink(preview))
    assert outcome.fatal and "401" in outcome.fatal  # a refused key stops the run


def _api(text: str) -> tuple[DeclarativeApiConnector, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = request.content.decode()
        if "graphql" in request.url.path:
            return httpx.Response(200, json={"data": None, "errors": [
                {"message": "Cannot query field 'nam'", "path": ["shops"]}]})
        page = int(re.search(r"page=(\d+)", body).group(1))  # type: ignore[union-attr]
        return httpx.Response(200, json={"items": [{"id": page}] if page < 3 else []})

    config = config_of(text)
    client = httpx.Client(base_url=config.base_url, transport=httpx.MockTransport(answer))
    return DeclarativeApiConnector(config, client, fetcher=Fetcher(
        config, client, sleep=lambda s: None)), seen


def test_a_form_body_carries_the_page_and_a_graphql_error_is_recorded() -> None:
    connector, seen = _api("""
        sources:
          demo:
            name: Demo
            connector: json_api
            base_url: http://api.test
            extract:
              endpoints:
                - kind: shop
                  path: /search
                  method: POST
                  body_format: form
                  body: {page: "{page}", q: "tout"}
                  items: items
                  pagination: {style: page}
                  fields: {source_id: id, name: id}
    """)
    results = list(connector.pages())
    assert [r.listings[0]["source_id"] for r in results if r.listings] == ["1", "2"]
    assert [(r.method, r.content) for r in seen] == [
        ("POST", f"page={n}&q=tout".encode()) for n in (1, 2, 3)]
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"
    connector, seen = _api("""
        sources:
          demo:
            name: Demo
            connector: json_api
            base_url: http://api.test
            extract:
              endpoints:
                - kind: shop
                  path: /graphql
                  graphql: {query: "query($a: String) { shops(after: $a) { nam } }",
                            variables: {a: "{cursor}"}}
                  items: data.shops.nodes
                  pagination: {style: graphql, page_info: data.shops.pageInfo}
                  fields: {source_id: id, name: nam}
    """)
    [result] = list(connector.pages())
    assert result.failed
    assert [e.kind for e in result.errors] == ["api_error", "abandoned"]
    assert "Cannot query field 'nam' (at shops)" in result.errors[0].reason
    assert json.loads(seen[0].content) == {
        "query": "query($a: String) { shops(after: $a) { nam } }", "variables": {}}


ENDPOINT = """
sources:
  demo:
    name: Demo
    connector: json_api
    base_url: http://api.test
    headers: HEADERS
    extract:
      endpoints:
        - kind: shop
          path: /search
          items: items
          fields: {source_id: id}
"""


@pytest.mark.parametrize(("headers", "extra", "message"), [
    ("{Host: x}", {}, "header Host cannot be set"),
    ("{User-Agent: x}", {}, "use user_agent"),
    ("{X-A: [1]}", {}, "one-line text value"),
    ("{}", {"body": "{q: x}"}, "a body needs method: POST"),
    ("{}", {"method": "PUT"}, "method must be GET or POST"),
    ("{}", {"method": "POST", "body": "{p: '{page}'}", "pagination": "{style: offset, size: 5}"},
     "{page} is set by the pagination style page only"),
    ("{}", {"method": "POST", "body": "{q: x}", "pagination": "{style: page}"},
     "pagination style page moves {page}: put it in the body"),
    ("{}", {"method": "POST", "body": "{q: '{pgae}'}"}, "unknown variable(s) pgae"),
    ("{}", {"method": "POST", "body": "{q: '{size}'}"}, "{size} needs pagination.size"),
    ("{}", {"method": "GET", "graphql": "{query: q}"}, "GraphQL is sent by POST"),
    ("{}", {"pagination": "{style: graphql, page_info: p}"},
     "the graphql style needs a graphql block"),
    ("{}", {"graphql": "{query: q, variables: {a: '{cursor}'}}",
            "pagination": "{style: graphql}"}, "pagination style graphql needs 'page_info'"),
    ("{}", {"method": "POST", "body_format": "xml", "body": "{q: x}"},
     "body_format must be json or form"),
    ("{}", {"method": "POST", "body_format": "form", "body": "{q: [1]}"},
     "a form body is flat"),
    ("{}", {"method": "POST", "body": "{q: '{value}'}"},
     "{value} in the path or body needs a for_each"),
])
def test_what_cannot_be_honoured_is_refused_at_load_with_line_and_key(
        headers: str, extra: dict[str, str], message: str) -> None:
    text = ENDPOINT.replace("HEADERS", headers) + "".join(
        f"          {key}: {value}\n" for key, value in extra.items())
    with pytest.raises(SourceConfigError) as info:
        parse_sources(text, "sources.yaml")
    assert message in str(info.value), str(info.value)
    assert re.search(r"sources\.yaml:\d+: source 'demo'", str(info.value))
