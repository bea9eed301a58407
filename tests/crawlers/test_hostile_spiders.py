"""The Scrapy spiders against a hostile platform (issue 16, items 1 to 5 and 11): every spider type.

Each built-in spider (Toulouse Boutiques, Dans Ma Zone) and each declarative one
(``html``, ``sitemap_jsonld``) crawls a replica served behind traps
(``tests.crawlers.hostile``) through the orchestrator and a worker process, as
``agora crawl`` does. A first crawl is clean and complete; in the second, each of
a few pages holding listings answers with a trap: a redirect to another host, to
an internal address, to itself, to a page already requested, in a loop, a 200 MB
body (announced, or sent chunked), a gzip bomb. Every trapped page must be
recorded under its kind, the run must end partial, nothing may be marked gone,
and the other host must never receive a request.
"""

from __future__ import annotations

import dataclasses
import gzip
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from catalog.store import Catalog
from crawlers.source import SourceConfig
from replicas.platforms.base import Platform
from tests.crawlers.conftest import crawl_once, declarative_at, live, repository_at
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
)
from tests.crawlers.test_declarative import DANS_MA_ZONE

TOKEN = "hostile-spider-secret-token"
HostileReplica = Callable[..., tuple[Platform, HostilePair]]


@dataclass(frozen=True)
class SpiderCase:
    """A spider, its replica, the pages with listings to trap, a page every run asks first."""

    name: str
    platform: str
    config: Callable[[str], SourceConfig]  # base URL -> the source's configuration
    leaves: str  # regex on path?query of pages holding listings
    early: str  # a page each run requests before those (a redirect to it is a duplicate)
    shops: int = 30  # in the world


AUTH = {"type": "header", "name": "X-Api-Key", "token": TOKEN}


def _repository(key: str) -> Callable[[str], SourceConfig]:
    return repository_at(key, retries=1, auth=AUTH)


def _declarative(text: str, key: str) -> Callable[[str], SourceConfig]:
    return declarative_at(text, key, retries=1, auth=AUTH)


CASES = [
    SpiderCase("toulouse_boutiques", "toulouse_boutiques", _repository("toulouse_boutiques"),
               r"/produit/\d+[^?]*", "/"),
    SpiderCase("dansmazone", "dansmazone", _repository("dansmazone"), r"/produit/\d+[^?]*",
               "/sitemap_index.xml"),
    SpiderCase("html", "mavillemonshopping", _repository("mavillemonshopping"),
               r"/api/catalogue\?boutique=\d+", "/boutiques?page=1", shops=120),
    SpiderCase("sitemap_jsonld", "dansmazone", _declarative(DANS_MA_ZONE, "dansmazone"),
               r"/produit/\d+[^?]*", "/sitemap_index.xml"),
]

# trap -> (its answer, the error kind the page is recorded under)
TRAPS: dict[str, tuple[Callable[[HostilePair, SpiderCase], WSGIApp], str]] = {
    "to another host": (lambda pair, case: redirect(pair.elsewhere.url + "/"), "offsite"),
    "to an internal address": (lambda pair, case: redirect("http://169.254.169.254/latest/"),
                               "offsite"),
    "to itself": (lambda pair, case: redirect_to_itself(), "redirect"),
    "to a page already requested": (lambda pair, case: redirect(case.early), "redirect"),
    "in a loop": (lambda pair, case: redirect_loop(), "redirect"),
    "200 MB announced": (lambda pair, case: huge(200 * MB, kind="html", declare_length=True),
                         "too_large"),
    "200 MB chunked": (lambda pair, case: huge(200 * MB, kind="html"), "too_large"),
    "gzip bomb": (lambda pair, case: gzip_bomb(200 * MB, kind="html"), "too_large"),
}


def errors_of(home: Path, run_id: int) -> list[dict[str, Any]]:
    with Catalog.in_home(home) as catalog:
        return catalog.errors(run_id, limit=1000)


def slip_a_link_elsewhere(case: SpiderCase, pair: HostilePair) -> None:
    """One page of the platform's gets a link (or sitemap entries) to the other host."""
    if case.platform == "dansmazone":
        pair.platform.rewrite(r"/sitemaps/produits-1\.xml\.gz", move_entries(
            pair.platform.url, pair.elsewhere.url, count=2), times=1)
    elif case.platform == "toulouse_boutiques":
        pair.platform.rewrite(r"/categorie/.*", lambda body: body.replace(
            b'<ul class="boutiques">',
            f'<ul class="boutiques"><li class="boutique"><a href="{pair.elsewhere.url}'
            '/boutique/intruse">Intruse</a></li>'.encode(), 1), times=1)
    else:
        pair.platform.rewrite(r"/boutiques\?page=1", lambda body: body.replace(
            b'data-catalogue="', f'data-catalogue="{pair.elsewhere.url}'.encode(), 1),
            times=1)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_trapped_page_is_lost_recorded_and_nothing_marked_gone(
        case: SpiderCase, hostile_replica: HostileReplica, agora_home: Path) -> None:
    platform, pair = hostile_replica(case.platform, shops=case.shops)
    config = case.config(pair.platform.url)
    slip_a_link_elsewhere(case, pair)
    first = crawl_once(config, agora_home)
    # a few links elsewhere: counted per host and reported, the run still complete
    assert first.run.status == "complete", first.run.message
    skipped = first.run.stats["offsite"]["skipped"]
    assert list(skipped) == [pair.elsewhere_host] and skipped[pair.elsewhere_host] >= 1
    [counted] = [e for e in errors_of(agora_home, first.run.id)
                 if e["kind"] == "offsite_skipped"]
    assert counted["url"].startswith(pair.elsewhere.url)
    assert pair.elsewhere_host in counted["reason"]
    before = live(agora_home, config.key)
    leaves = sorted({t for t in pair.platform.traps.targets() if re.fullmatch(case.leaves, t)})
    assert len(leaves) >= len(TRAPS)
    trapped = dict(zip(TRAPS, leaves[:len(TRAPS)], strict=False))
    for trap, target in trapped.items():
        answer, _ = TRAPS[trap]
        pair.platform.on(re.escape(target), answer(pair, case))
    pair.platform.on(rf"{re.escape(LOOP_PATH)}\?.*", bounce_back())

    second = crawl_once(config, agora_home)
    assert second.run.status == "partial", second.run.message
    errors = errors_of(agora_home, second.run.id)
    for trap, target in trapped.items():
        kind = TRAPS[trap][1]
        assert any(e["kind"] == kind and e["url"] == pair.platform.url + target
                   for e in errors), (trap, target, errors)
    assert before.keys() <= live(agora_home, config.key).keys()  # nothing marked gone
    assert pair.elsewhere.seen == []  # never asked, so no token ever went there
    assert all(s.headers.get("X-Api-Key") == TOKEN for s in pair.platform.seen)


# ---------------------------------------------------------------------- other hosts (item 11)
def move_entries(frm: str, to: str, *, count: int | None = None) -> Callable[[bytes], bytes]:
    """A sitemap rewritten: its entries on ``frm`` moved to ``to`` (the first ``count`` of
    them; all when None), gzip or not."""
    def change(body: bytes) -> bytes:
        packed = body[:2] == b"\x1f\x8b"
        text = (gzip.decompress(body) if packed else body).decode()
        head, *rest = text.split(f"<loc>{frm}")
        moved = [(f"<loc>{to}" if count is None or i < count else f"<loc>{frm}") + part
                 for i, part in enumerate(rest)]
        out = (head + "".join(moved)).encode()
        return gzip.compress(out) if packed else out
    return change


def test_sitemap_entries_on_another_host_degrade_the_run_until_allowed(
        hostile_replica: HostileReplica, agora_home: Path) -> None:
    case = next(c for c in CASES if c.name == "sitemap_jsonld")
    platform, pair = hostile_replica(case.platform, shops=case.shops)
    config = case.config(pair.platform.url)
    assert crawl_once(config, agora_home).run.status == "complete"
    before = live(agora_home, config.key)
    # the platform moved its pages to a second host, sitemaps and all
    pair.platform.rewrite(r"/sitemaps/.*", move_entries(pair.platform.url, pair.elsewhere.url))

    skipped = crawl_once(config, agora_home)
    assert skipped.run.status == "degraded", skipped.run.message
    assert "on other hosts" in (skipped.run.message or "")
    counts = skipped.run.stats["offsite"]["skipped"]
    assert list(counts) == [pair.elsewhere_host] and counts[pair.elsewhere_host] >= len(before)
    errors = errors_of(agora_home, skipped.run.id)
    [counted] = [e for e in errors if e["kind"] == "offsite_skipped"]
    assert counted["url"].startswith(pair.elsewhere.url)
    assert f"{counts[pair.elsewhere_host]} link(s) or sitemap entries on " \
           f"{pair.elsewhere_host}" in counted["reason"]
    assert any(e["kind"] == "degraded" for e in errors)
    assert live(agora_home, config.key) == before  # nothing gone, nothing changed
    assert pair.elsewhere.seen == []

    allowed = dataclasses.replace(config, allowed_hosts=(pair.elsewhere_host,))
    moved = crawl_once(allowed, agora_home)
    assert moved.run.status == "complete", moved.run.message
    assert live(agora_home, config.key).keys() == before.keys()
    assert len(pair.elsewhere.seen) >= len(before)
    assert all("X-Api-Key" not in s.headers and TOKEN not in str(s.headers)
               for s in pair.elsewhere.seen)  # followed, but never with the token
