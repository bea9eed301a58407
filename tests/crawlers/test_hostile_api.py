"""The API connectors against a hostile platform (issue 16, items 1, 4, 5): every httpx type.

Each built-in connector (Tout Toulouse, Click'n Co, Géo'local31) and each
declarative one (``json_api``, ``geojson``) crawls a replica served behind traps
(``tests.crawlers.hostile``), in this process, into a preview. One page answers
with a trap: a redirect to another host (somewhere else on loopback, or a
link-local metadata address), to itself, to a page already fetched, in a loop,
a 200 MB body, a gzip bomb. Whatever the trap, the run goes on (no fatal error),
the trapped page is lost and recorded under its kind, the run is partial, and
the other host never receives a request, let alone the source's token.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from crawlers import registry
from crawlers.preview import Preview, PreviewSink
from crawlers.runs import RunOutcome
from crawlers.source import SourceConfig
from replicas.platforms.base import Platform
from tests.crawlers.conftest import declarative_at, repository_at
from tests.crawlers.hostile import (
    LOOP_PATH,
    MB,
    HostilePair,
    WSGIApp,
    bounce_back,
    gzip_bomb,
    huge,
    redirect,
    redirect_loop,
    redirect_to_itself,
    redirect_to_seen,
)
from tests.crawlers.test_declarative import GEOLOCAL31, TOUT_TOULOUSE

TOKEN = "hostile-test-secret-token"
HostileReplica = Callable[..., tuple[Platform, HostilePair]]


@dataclass(frozen=True)
class ApiCase:
    """A connector, its replica, and which of its requests the trap answers."""

    name: str
    platform: str
    config: Callable[[str], SourceConfig]  # base URL -> the source's configuration
    page: str  # regex on path?query of the pages trapped
    after: int = 0  # matching requests let through first
    setup: dict[str, Any] = field(default_factory=dict)  # replica attributes


def _repository(key: str, **changes: Any) -> Callable[[str], SourceConfig]:
    return repository_at(key, retries=1, **changes)


def _declarative(text: str, key: str) -> Callable[[str], SourceConfig]:
    return declarative_at(text, key, retries=1)


CASES = [
    ApiCase("tout_toulouse", "tout_toulouse", _repository("tout_toulouse"),
            r"/api/v1/products\?.*"),
    ApiCase("clickandco", "clickandco",
            _repository("clickandco", auth={"type": "header", "token": TOKEN}),
            r"/api/shops/[^/?]+/products.*", after=1),
    ApiCase("geolocal31", "geolocal31", _repository("geolocal31"), r"/api/commerces\?.*",
            after=1, setup={"cap": 8}),
    ApiCase("json_api", "tout_toulouse", _declarative(TOUT_TOULOUSE, "tout_toulouse"),
            r"/api/v1/products\?.*", after=1),
    ApiCase("geojson", "geolocal31", _declarative(GEOLOCAL31, "geolocal31"),
            r"/api/commerces\?.*", after=1, setup={"cap": 8}),
]

# trap -> (its answer, the error kind the lost page is recorded under)
TRAPS: dict[str, tuple[Callable[[HostilePair], WSGIApp], str]] = {
    "to another host": (lambda pair: redirect(pair.elsewhere.url + "/api/v1/shops"),
                        "offsite"),
    "to an internal address": (lambda pair: redirect("http://169.254.169.254/latest/"),
                               "offsite"),
    "to itself": (lambda pair: redirect_to_itself(), "redirect"),
    "to a page already fetched": (lambda pair: redirect_to_seen(pair.platform.traps, 0),
                                  "redirect"),
    "in a loop": (lambda pair: redirect_loop(), "redirect"),
    "200 MB": (lambda pair: huge(200 * MB), "too_large"),
    "gzip bomb": (lambda pair: gzip_bomb(200 * MB), "too_large"),
}


def crawl(config: SourceConfig) -> tuple[Preview, RunOutcome]:
    preview = Preview(config.key, config.connector)
    outcome = registry.resolve(config).load().run(config, PreviewSink(preview))
    return preview, outcome


@pytest.fixture(autouse=True)
def _tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_TEST_TT_TOKEN", "replica-demo-token")


@pytest.mark.parametrize("trap", list(TRAPS))
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_trapped_page_is_lost_and_recorded_the_run_goes_on(
        case: ApiCase, trap: str, hostile_replica: HostileReplica) -> None:
    platform, pair = hostile_replica(case.platform, **case.setup)
    answer, kind = TRAPS[trap]
    pair.platform.on(case.page, answer(pair), after=case.after, times=1)
    pair.platform.on(rf"{LOOP_PATH}\?.*", bounce_back())
    preview, outcome = crawl(case.config(pair.platform.url))
    assert outcome.fatal is None, outcome.fatal
    lost = [e for e in preview.errors if e.kind == kind]
    assert lost, preview.errors
    assert all(e.url and e.url.startswith(pair.platform.url) for e in lost)  # the page lost
    assert preview.failed_pages >= 1  # the run would end partial: nothing marked gone
    assert preview.listings  # the other pages were read
    assert pair.elsewhere.seen == []  # nothing asked from the other host, no token sent


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_credentials_go_to_the_platform_only_even_to_an_allowed_host(
        case: ApiCase, hostile_replica: HostileReplica) -> None:
    """``allowed_hosts`` lets a redirect to a second host be followed, without the token."""
    platform, pair = hostile_replica(case.platform, **case.setup)
    pair.platform.on(case.page, redirect_to_elsewhere(pair), after=case.after, times=1)
    config = dataclasses.replace(case.config(pair.platform.url),
                                 allowed_hosts=(pair.elsewhere_host,))
    preview, outcome = crawl(config)
    assert outcome.fatal is None and preview.failed_pages == 0, preview.errors
    assert len(pair.elsewhere.seen) == 1  # the redirect was followed
    secret = credential(config)
    if secret is not None:
        assert any(secret in str(h) or secret in s.target for s in pair.platform.seen
                   for h in s.headers.values())  # the platform got it...
    for seen in pair.elsewhere.seen:  # ...the other host never
        assert "Authorization" not in seen.headers and "X-Api-Key" not in seen.headers
        assert secret is None or (secret not in str(seen.headers) and secret not in seen.target)


def redirect_to_elsewhere(pair: HostilePair) -> WSGIApp:
    """A redirect to the same path and query on the other host (which serves the same app)."""
    def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        query = environ.get("QUERY_STRING", "")
        target = pair.elsewhere.url + environ["PATH_INFO"] + ("?" + query if query else "")
        return redirect(target)(environ, start_response)
    return answer


def credential(config: SourceConfig) -> str | None:
    return (config.auth or {}).get("token")
