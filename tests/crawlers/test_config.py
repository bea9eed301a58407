"""Loading sources.yaml: every error names the file, the line, the source and the key."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from crawlers import registry
from crawlers.config import load_sources, parse_sources, reads_environment
from crawlers.declarative.schema import ApiSpec, GeoSpec, HtmlSpec, SitemapSpec, compile_spec
from crawlers.errors import SourceConfigError

ROOT = Path(__file__).resolve().parents[2]

HTML_SOURCE = """\
sources:
  demo:
    name: Demo
    connector: html
    base_url: http://demo.test
    extract:
      start: [/list]
      pages:
        list:
          items:
            - kind: shop
              select: "article.shop"
              fields:
                source_id: ":scope::attr(data-id)"
                name: "h2"
                categories: {css: ".tags li", transform: [strip]}
          follow:
            - {css: "a.more::attr(href)", page: detail}
          next: "a[rel=next]::attr(href)"
        detail:
          format: json
          items:
            - kind: product
              select: items
              fields:
                source_id: id
                title: {path: name, transform: [{regex: '^(.*?) -'}]}
"""


def parse(text: str) -> dict:
    return parse_sources(textwrap.dedent(text), "sources.yaml")


def error_of(text: str) -> str:
    with pytest.raises(SourceConfigError) as info:
        parse(text)
    assert info.value.source == "demo"
    return str(info.value)


def mutate(old: str, new: str, text: str = HTML_SOURCE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_repository_file_loads_and_its_declarative_entries_compile() -> None:
    sources = load_sources(ROOT / "config" / "sources.yaml")
    assert "mavillemonshopping" in sources
    spec = compile_spec(sources["mavillemonshopping"])
    assert isinstance(spec, HtmlSpec) and set(spec.pages) == {"boutiques", "catalogue"}
    for config in sources.values():  # declarative entries, and only they, extract
        assert (config.extract is None) == (not registry.resolve(config).declarative)
    post = compile_spec(sources["achetezlocal"]).endpoints[0]
    assert post.shape.method == "POST" and post.pagination.param is None
    graphql = compile_spec(sources["panier_toulousain"]).endpoints[1]
    assert graphql.shape.graphql and graphql.pagination.style == "graphql"


def test_a_valid_declarative_entry_compiles() -> None:
    config = parse(HTML_SOURCE)["demo"]
    spec = compile_spec(config)
    assert isinstance(spec, HtmlSpec)
    assert spec.start == (("/list", "list"),)
    assert spec.pages["list"].follow[0].page == "detail"
    assert spec.pages["detail"].items[0].fields["title"].lang == "path"
    assert spec.pages["list"].items[0].fields["categories"].all  # list fields: every match


@pytest.mark.parametrize(("old", "new", "needle", "pattern"), [
    # unknown keys, at every level
    ("      start: [/list]", "      start: [/list]\n      speed: 3", "speed:",
     r"extract\.speed: unknown key 'speed'"),
    ("          follow:", "          folow: []\n          follow:", "folow:",
     r"extract\.pages\.list\.folow: unknown key"),
    ("              select: \"article.shop\"", "              select: \"article.shop\"\n"
     "              selekt: x", "selekt", r"extract\.pages\.list\.items\[0\]\.selekt: unknown"),
    ('                name: "h2"', '                name: {css: h2, text: true}', "text: true",
     r"fields\.name\.text: unknown key 'text'"),
    # wrong types
    ("      start: [/list]", "      start: [/list]\n      repage_rounds: many",
     "repage_rounds", r"extract\.repage_rounds: must be an integer"),
    ('                name: "h2"', "                name: 12", "name: 12",
     r"fields\.name: must be a selector"),
    # selectors that do not compile
    ('                name: "h2"', '                name: "h2[class="', "h2[class=",
     r"fields\.name\.css: CSS selector 'h2\[class=' does not compile"),
    ('                name: "h2"', '                name: {xpath: "//h2["}', "//h2[",
     r"fields\.name\.xpath: XPath '//h2\[' does not compile"),
    ("                source_id: id", "                source_id: \"id[\"", "source_id: \"id[",
     r"items\[0\]\.fields\.source_id\.path: JMESPath 'id\[' does not compile"),
    ("'^(.*?) -'", "'^(.*? -'", "regex", r"fields\.title\.transform\[0\]: regex .* does not "
     "compile"),
    # transforms
    ("transform: [strip]", "transform: [strip, shout]", "shout",
     r"fields\.categories\.transform\[1\]: unknown transform 'shout' \(known: .*join"),
    ("transform: [strip]", "transform: [{join: ', ', sep: 2}]", "join",
     r"transform\[0\]: a transform is a name or a one-key mapping"),
    ("transform: [strip]", "transform: [join]", "transform: [join]",
     r"transform\[0\]: join needs an argument"),
    # field mapping
    ('                name: "h2"', '                titel: "h2"', "titel",
     r"fields\.titel: unknown field 'titel' for a shop \(contract fields: "),
    ('                source_id: ":scope::attr(data-id)"\n', "", "fields:",
     r"items\[0\]\.fields: missing field mapping for 'source_id'"),
    ("            - kind: shop", "            - kind: shoe", "kind: shoe",
     r"items\[0\]\.kind: kind must be shop or product"),
    # page rules and pagination
    ("page: detail}", "page: details}", "page: details",
     r"follow\[0\]\.page: unknown page rule 'details' \(rules: list, detail\)"),
    ("          format: json", "          format: xml", "format: xml",
     r"pages\.detail\.format: format must be html or json"),
    ('                title: {path: name', '                title: {css: name', "title:",
     r"fields\.title\.css: css selectors are not used here"),
])
def test_errors_name_the_source_the_key_and_the_line(old: str, new: str, needle: str,
                                                     pattern: str) -> None:
    text = mutate(old, new)
    message = error_of(text)
    assert re.search(pattern, message), message
    assert message.startswith(f"sources.yaml:{line_of(text, needle)}: source 'demo': "), message


API_SOURCE = """\
sources:
  demo:
    name: Demo
    connector: json_api
    base_url: http://demo.test
    extract:
      endpoints:
        - kind: shop
          path: /api/shops
          items: data
          pagination: {style: cursor, param: cursor, next: next_cursor}
          fields: {source_id: id, name: name}
        - kind: product
          path: "/api/shops/{value}/products"
          for_each: {endpoint: shop, value: id}
          items: data
          fields: {source_id: id, title: name, shop_source_id: shop_id}
"""


def test_a_json_api_entry_compiles() -> None:
    spec = compile_spec(parse(API_SOURCE)["demo"])
    assert isinstance(spec, ApiSpec) and [e.name for e in spec.endpoints] == ["shop", "product"]
    assert spec.endpoints[0].pagination.style == "cursor"
    assert spec.endpoints[1].for_each is not None and spec.parents() == {"shop"}


@pytest.mark.parametrize(("old", "new", "needle", "pattern"), [
    ("style: cursor,", "style: scroll,", "scroll",
     r"endpoints\[0\]\.pagination\.style: unknown pagination style 'scroll' \(known: page, "
     r"offset, cursor, next_link, graphql, none\)"),
    ("pagination: {style: cursor, param: cursor, next: next_cursor}",
     "pagination: {style: cursor}", "style: cursor",
     r"endpoints\[0\]\.pagination: pagination style cursor needs 'next'"),
    ("pagination: {style: cursor, param: cursor, next: next_cursor}",
     "pagination: {style: offset}", "style: offset",
     r"pagination style offset needs 'size'"),
    ("          items: data\n          pagination", "          items: \"data[?\"\n"
     "          pagination", "data[?", r"endpoints\[0\]\.items\.path: JMESPath"),
    ("for_each: {endpoint: shop, value: id}", "for_each: {endpoint: shops, value: id}",
     "for_each", r"for_each\.endpoint: no endpoint named 'shops' before this one"),
    ("          path: /api/shops\n", "", "- kind: shop",
     r"endpoints\[0\]: missing required key 'path'"),
    ("fields: {source_id: id, name: name}", "fields: {source_id: id, name: [name]}",
     "fields: {source_id", r"endpoints\[0\]\.fields\.name: must be a selector"),
])
def test_json_api_errors(old: str, new: str, needle: str, pattern: str) -> None:
    text = mutate(old, new, API_SOURCE)
    message = error_of(text)
    assert re.search(pattern, message), message
    assert message.startswith(f"sources.yaml:{line_of(text, needle)}: source 'demo': "), message


def test_geojson_and_sitemap_entries() -> None:
    geo = parse("""\
        sources:
          demo:
            name: Demo
            connector: geojson
            base_url: http://demo.test
            extract:
              endpoint: /api/commerces
              bbox: [1.0, 43.0, 2.0, 44.0]
              fields: {name: properties.nom, categories: "[properties.activite]"}
        """)["demo"]
    spec = compile_spec(geo)
    assert isinstance(spec, GeoSpec) and spec.bbox == (1.0, 43.0, 2.0, 44.0)
    assert "source_id" in spec.item.fields  # id || properties.id by default
    message = error_of("""\
        sources:
          demo:
            name: Demo
            connector: geojson
            base_url: http://demo.test
            extract:
              endpoint: /api/commerces
              bbox: [2.0, 43.0, 1.0, 44.0]
              fields: {name: properties.nom}
        """)
    assert re.search(r"sources.yaml:8: .*extract\.bbox: bbox must have min < max", message)
    site = parse("""\
        sources:
          demo:
            name: Demo
            connector: sitemap_jsonld
            base_url: http://demo.test
            extract:
              pages:
                - match: "^/commerce/"
                  kind: shop
                  fields: {source_id: {from_url: '/commerce/(\\d+)'}, name: name}
        """)["demo"]
    spec = compile_spec(site)
    assert isinstance(spec, SitemapSpec) and "Bakery" in spec.pages[0].types
    message = error_of("""\
        sources:
          demo:
            name: Demo
            connector: sitemap_jsonld
            base_url: http://demo.test
            extract:
              syntaxes: [json-ld, rdfa]
              pages: []
        """)
    assert re.search(r"sources.yaml:7: .*extract\.syntaxes\[1\]: unknown syntax 'rdfa'", message)


def test_the_connector_and_the_extract_block_must_agree() -> None:
    base = "sources:\n  demo:\n    name: Demo\n    base_url: http://demo.test\n"
    message = error_of(base + "    connector: scrapy_magic\n")
    assert message.startswith("sources.yaml:5: source 'demo': key 'connector': unknown "
                              "connector 'scrapy_magic'"), message
    message = error_of(base + "    connector: html\n")
    assert re.search(r"sources.yaml:2: source 'demo': connector 'html' needs an 'extract'",
                     message), message
    message = error_of(base + "    connector: clickandco\n    extract: {start: [/]}\n")
    assert re.search(r"sources.yaml:6: source 'demo': extract: 'extract' is only for "
                     "declarative connectors", message), message
    message = error_of(base + "    connector: html\n    extract: [1, 2]\n")
    assert "key 'extract' must be a mapping" in message


def test_top_level_keys_still_name_their_line() -> None:
    message = error_of(HTML_SOURCE.replace("    base_url:", "    concurency: 3\n    base_url:"))
    assert message.startswith("sources.yaml:5: source 'demo': unknown key 'concurency'")
    message = error_of(HTML_SOURCE.replace("    base_url:", "    enabled: sometimes\n"
                                           "    base_url:"))
    assert "key 'enabled' must be true/false" in message


def test_every_problem_is_listed_in_one_error() -> None:
    text = textwrap.dedent("""\
        sources:
          demo:
            name: Demo
            connector: html
            base_url: http://demo.test
            concurency: 3
            extract:
              start: [/list]
              pages:
                list:
                  items:
                    - kind: shop
                      select: "article.shop"
                      fields:
                        source_id: ":scope::attr(data-id)"
                        titel: "h2"
                        name: "h2[class="
                  follow:
                    - {css: "a::attr(href)", page: detial}
          other:
            name: Other
            connector: clickandco
            base_url: http://other.test
            options: {page_size: 500}
            health: {min_listing_ratio: 2}
          third:
            connector: scrapy_magic
        """)
    with pytest.raises(SourceConfigError) as info:
        parse(text)
    problems = info.value.problems
    assert [(p.line, p.source) for p in problems] == [
        (6, "demo"), (16, "demo"), (17, "demo"), (19, "demo"), (24, "other"), (25, "other"),
        (26, "third"), (26, "third"), (27, "third")]
    assert [p.key for p in problems][:4] == [
        "concurency", "extract.pages.list.items[0].fields.titel",
        "extract.pages.list.items[0].fields.name.css",
        "extract.pages.list.follow[0].page"]
    message = str(info.value)
    assert message.splitlines()[0] == "9 problems in sources.yaml:"
    assert "  sources.yaml:27: source 'third': key 'connector': unknown connector " \
        "'scrapy_magic'" in message
    assert "sources.yaml:26: source 'third': missing required key 'name'" in message
    assert "sources.yaml:25: source 'other': health: key 'min_listing_ratio' must be " \
        "between 0 and 1" in message
    assert info.value.source is None  # several sources


def test_an_environment_variable_that_is_not_set_is_a_problem_on_its_line() -> None:
    message = error_of(HTML_SOURCE.replace("http://demo.test", "${AGORA_TEST_UNSET_URL}"))
    assert message == ("sources.yaml:5: source 'demo': key 'base_url': environment variable "
                       "AGORA_TEST_UNSET_URL is not set")


def test_a_schedule_that_cannot_be_read_is_refused_at_load() -> None:
    message = error_of(HTML_SOURCE.replace("    base_url: http://demo.test\n",
                                           "    base_url: http://demo.test\n"
                                           "    schedule: {interval: 6 hours, jitter: 5m}\n"))
    assert message == ("sources.yaml:6: source 'demo': schedule: key 'interval': bad duration "
                       "'6 hours' (expected e.g. 90s, 5m, 6h, 1d)")


# ---------------------------------------------------------------------- hosts and sizes
def test_allowed_hosts_and_max_body_are_read_and_checked() -> None:
    config = parse(mutate("    base_url: http://demo.test\n", "    base_url: http://demo.test\n"
                          "    allowed_hosts: [cdn.demo.test, '127.0.0.2:8080']\n"
                          "    max_body: 2MB\n"))["demo"]
    assert config.allowed_hosts == ("cdn.demo.test", "127.0.0.2:8080")
    assert config.max_body == 2 * 1024 * 1024
    assert config.hosts.allows("http://cdn.demo.test/p.html")
    assert not config.hosts.is_home("http://cdn.demo.test/p.html")
    assert parse(HTML_SOURCE)["demo"].max_body == 8 * 1024 * 1024
    message = error_of(mutate("    base_url: http://demo.test\n",
                              "    base_url: http://demo.test\n"
                              "    allowed_hosts: ['https://cdn.demo.test/x']\n"))
    assert re.search(r"sources.yaml:6: .*allowed_hosts.*not a host or host:port", message)
    message = error_of(mutate("    base_url: http://demo.test\n",
                              "    base_url: http://demo.test\n    max_body: 8\n"))
    assert re.search(r"sources.yaml:6: .*max_body.*under 1 KB", message)


def test_a_query_token_is_refused_for_spiders() -> None:
    message = error_of(mutate("    base_url: http://demo.test\n", "    base_url: http://demo.test\n"
                              "    auth: {type: query, token: abcdef}\n"))
    assert re.search(r"sources.yaml:6: .*auth type 'query' cannot be honoured by a spider",
                     message)
    header = parse(mutate("    base_url: http://demo.test\n", "    base_url: http://demo.test\n"
                          "    auth: {type: header, name: X-Key, token: abcdef}\n"))["demo"]
    assert header.auth == {"type": "header", "name": "X-Key", "token": "abcdef"}


# ---------------------------------------------------------------------- the environment
def test_the_environment_is_read_only_in_base_url_auth_token_and_headers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party sources file cannot publish ${AGORA_OPERATOR_TOKEN} as a name."""
    monkeypatch.setenv("AGORA_OPERATOR_TOKEN", "operator-secret")
    monkeypatch.setenv("AGORA_TEST_URL", "http://env.test")
    message = error_of(mutate("    name: Demo\n", '    name: "Demo ${AGORA_OPERATOR_TOKEN}"\n'))
    assert re.search(r"sources.yaml:3: source 'demo': name: \$\{AGORA_OPERATOR_TOKEN\} is read "
                     r"from the environment only in base_url, auth.token and headers", message)
    message = error_of(mutate('name: "h2"', 'name: {const: "${AGORA_OPERATOR_TOKEN}"}'))
    assert re.search(r"sources.yaml:15: .*extract.pages.list.items\[0\].fields.name.const: "
                     r"\$\{AGORA_OPERATOR_TOKEN\} is read from the environment only", message)
    message = error_of(mutate("    name: Demo\n", "    name: Demo\n"
                              '    user_agent: "${AGORA_OPERATOR_TOKEN:-bot}"\n'))
    assert re.search(r"sources.yaml:4: .*user_agent: \$\{AGORA_OPERATOR_TOKEN:-bot\}", message)
    assert "operator-secret" not in message
    config = parse(mutate("    base_url: http://demo.test\n", '    base_url: "${AGORA_TEST_URL}"\n'
                          '    auth: {type: header, token: "${AGORA_OPERATOR_TOKEN}"}\n'))["demo"]
    assert config.base_url == "http://env.test" and config.auth["token"] == "operator-secret"
    defaults = "defaults:\n  user_agent: ${AGORA_OPERATOR_TOKEN}\n" + HTML_SOURCE
    with pytest.raises(SourceConfigError, match=r"sources.yaml:2: source 'defaults': user_agent"):
        parse(defaults)


@pytest.mark.parametrize(("path", "expands"), [
    (("base_url",), True), (("auth", "token"), True), (("headers", "X-Key"), True),
    (("extract", "endpoints", 0, "headers", "Authorization"), True),
    (("auth", "name"), False), (("name",), False), (("headers",), False),
    (("extract", "pages", "list", "items", 0, "fields", "name"), False),
])
def test_which_keys_read_the_environment(path: tuple[str | int, ...], expands: bool) -> None:
    assert reads_environment(path) is expands
