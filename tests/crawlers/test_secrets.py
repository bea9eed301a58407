"""A source's secrets never reach the disk (issue 16, item 6, the crawl side).

A ``json_api`` source authenticates with ``auth: {type: query}`` on a platform that
echoes the token in its next links, one of which answers 503: the worst case, where
the token is in URLs the crawl records. After the crawl, no file under AGORA_HOME
(the catalog, its journal, the logs) holds the token, the error's URL shows the
parameter masked, and no configuration file was written.
"""

from __future__ import annotations

import io
import json
import logging
import textwrap
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from catalog.store import Catalog
from crawlers.config import parse_sources
from crawlers.errors import PageError
from crawlers.redaction import RedactingFilter, Redactor
from tests.crawlers.conftest import crawl_once
from tests.crawlers.hostile import HostilePair

SECRET = "Zq8-very-secret-query-token"
SOURCE = """\
sources:
  echo:
    name: Echo
    connector: json_api
    base_url: {url}
    retries: 1
    auth: {{type: query, name: k, token: "${{AGORA_TEST_QUERY_TOKEN}}"}}
    extract:
      endpoints:
        - kind: shop
          path: /shops
          items: data
          pagination: {{style: next_link, next: next}}
          fields: {{source_id: id, name: name}}
"""


def echoing_api(environ: dict[str, Any], start_response: Any) -> Any:
    """Three shops a page; the next link carries the token; the third page is down."""
    request = Request(environ)
    if request.args.get("k") != SECRET:
        return Response("no", status=401)(environ, start_response)
    start = int(request.args.get("from", 0))
    if start == 6:
        return Response("down", status=503)(environ, start_response)
    shops = [{"id": f"s{i}", "name": f"Shop {i}"} for i in range(start, start + 3)]
    body = {"data": shops, "next": f"/shops?from={start + 3}&k={SECRET}"}
    return Response(json.dumps(body), mimetype="application/json")(environ, start_response)


def files_holding(root: Path, needle: str) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()
            and needle.encode() in path.read_bytes()]


def test_a_token_echoed_in_urls_is_masked_everywhere_a_crawl_writes(
        agora_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_TEST_QUERY_TOKEN", SECRET)
    logs = agora_home / "logs"
    logs.mkdir()
    stale = logs / "config-echo.json"  # what an older version left there
    stale.write_text(f'{{"token": "{SECRET}"}}')
    with HostilePair(echoing_api) as pair:
        config = parse_sources(textwrap.dedent(SOURCE.format(url=pair.platform.url)))["echo"]
        assert config.auth == {"type": "query", "name": "k", "token": SECRET}
        report = crawl_once(config, agora_home)
        assert any(SECRET in s.target for s in pair.platform.seen)  # the platform got it
    assert report.run.status == "partial", report.run.message
    with Catalog.in_home(agora_home) as catalog:
        [lost] = [e for e in catalog.errors(report.run.id) if e["kind"] == "http_503"]
        assert len(list(catalog.listings(source="echo"))) == 6
    assert lost["url"].endswith("/shops?from=6&k=***")
    assert files_holding(agora_home, SECRET) == []
    assert not list(logs.glob("config-*.json"))
    assert "k=***" in (logs / "crawl-echo.log").read_text()


def test_log_lines_and_tracebacks_are_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(Redactor([SECRET])))
    logger = logging.getLogger("tests.secrets")
    logger.addHandler(handler)
    try:
        logger.warning("GET %s failed", f"http://api.test/x?k={SECRET}&page=2")
        try:
            raise ValueError(f"bad answer for Bearer {SECRET}")
        except ValueError:
            logger.exception("crashed on %s", "http://u:pw1234@api.test/?api_key=abcdef")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert SECRET not in out and "pw1234" not in out and "abcdef" not in out
    assert "k=***&page=2" in out and "ValueError: bad answer for Bearer ***" in out


def test_a_redactor_masks_encoded_forms_and_leaves_short_values() -> None:
    redactor = Redactor(["a b/c+d=secret", "ab"])
    assert redactor.text("x?q=a%20b%2Fc%2Bd%3Dsecret y") == "x?q=*** y"
    assert redactor.value({"url": "http://s/?q=a+b%2Fc%2Bd%3Dsecret", "n": 1}) == {
        "url": "http://s/?q=***", "n": 1}
    assert redactor.text("ab cab") == "ab cab"  # too short to mask by value
    assert redactor.error(PageError("http://s/?token=xyz123", "fetch", "t")).url == \
        "http://s/?token=***"
