"""The ``json_api`` type: JSON endpoints walked page by page, as an entry's ``endpoints`` say.

Each endpoint is walked in order with its pagination style (``page``,
``offset``, ``cursor``, ``next_link``, ``graphql`` or ``none``), by GET or by
POST with a body or a GraphQL query whose variables carry the position
(``crawlers.declarative.shaping``); an endpoint with a
``for_each`` is walked once per value read from the records of an earlier one
(``concurrency`` values at a time). ``page``/``offset`` walks that see fewer
records than the announced ``total`` are walked again (``rounds``), then
recorded as ``incomplete``; a lost page is recorded and the walk goes on where
it can (``abandoned`` when it cannot); a 401/403 stops the run; a next link to
another host is refused (credentials never leave the platform). A GraphQL
answer's ``errors[]`` are recorded as ``api_error`` (the page failed; without
``data`` the rest of the endpoint is out of reach). The format is documented in
``docs/connectors.md``.

How a style moves from one page to the next is ``_next_position``; the request a
position makes is ``_query`` (and ``_body``, for a POST).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import httpx

from crawlers.connectors.base import ApiConnector
from crawlers.declarative.fields import first_value, read_items, select_nodes, total_of
from crawlers.declarative.schema import ApiSpec, Endpoint, compile_spec
from crawlers.declarative.shaping import graphql_errors
from crawlers.errors import (
    CrawlError,
    ErrorKind,
    FetchError,
    PageError,
    SourceConfigError,
    SourceLayoutChanged,
)
from crawlers.http import Fetcher
from crawlers.listing import PageResult
from crawlers.source import SourceConfig

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1


class DeclarativeApiConnector(ApiConnector):
    """A JSON API walked by the endpoints of a ``json_api`` entry (see the module docs).

    The checkpoint after each page is ``{"v", "endpoint", "value_index",
    "position", "parents"}``: the endpoint under way, how many parent values
    (for_each) are done, the next page's position (page number, offset, cursor
    or link), and the parent values later endpoints still need. A resumed run
    continues from there; listings stored before the kill are stored again as
    unchanged.
    """

    def __init__(self, config: SourceConfig, client: httpx.Client, *,
                 fetcher: Fetcher | None = None) -> None:
        super().__init__(config, client, fetcher=fetcher)
        spec = compile_spec(config)
        if not isinstance(spec, ApiSpec):
            raise SourceConfigError(f"connector {config.connector!r} is not json_api",
                                    source=config.key)
        self.spec = spec
        self.stats: dict[str, int] = {"pages": 0, "rewalks": 0, "lost_pages": 0}

    def pages(self, checkpoint: Any | None = None, *,
              since: datetime | None = None) -> Iterator[PageResult]:
        start, value_index, position = 0, 0, None
        parents: dict[str, list[Any]] = {}  # child endpoint -> the values it walks
        if isinstance(checkpoint, dict) and checkpoint.get("v") == CHECKPOINT_VERSION:
            start = int(checkpoint.get("endpoint", 0))
            value_index = int(checkpoint.get("value_index", 0))
            position = checkpoint.get("position")
            parents = {k: list(v) for k, v in (checkpoint.get("parents") or {}).items()}
            log.info("%s: resuming at endpoint %d", self.source, start)
        endpoints = self.spec.endpoints
        seen: set[tuple[str, str]] = set()
        for number in range(start, len(endpoints)):
            endpoint = endpoints[number]
            children = [e for e in endpoints[number + 1:]
                        if e.for_each and e.for_each[0] == endpoint.name]
            for child in children:
                parents.setdefault(child.name, [])

            def checkpoint_of(values_done: int, position: Any, finished: bool,
                              number: int = number) -> dict[str, Any]:
                if finished:
                    number, values_done, position = number + 1, 0, None
                wanted = {e.name for e in endpoints[number:] if e.for_each}
                return {"v": CHECKPOINT_VERSION, "endpoint": number,
                        "value_index": values_done, "position": position,
                        "parents": {k: v for k, v in parents.items() if k in wanted}}

            if endpoint.for_each is None:
                for result in self._walk(endpoint, endpoint.path, dict(endpoint.params),
                                         position, seen, children, parents):
                    result.checkpoint = checkpoint_of(0, result.checkpoint,
                                                      result.checkpoint is None)
                    yield result
            else:
                yield from self._for_each(endpoint, parents.get(endpoint.name, []),
                                          value_index, seen, children, parents, checkpoint_of)
            value_index, position = 0, None

    def _for_each(self, endpoint: Endpoint, values: list[Any], first: int,
                  seen: set[tuple[str, str]], children: list[Endpoint],
                  parents: dict[str, list[Any]],
                  checkpoint_of: Callable[[int, Any, bool], dict[str, Any]]
                  ) -> Iterator[PageResult]:
        """Walk the endpoint once per parent value, ``concurrency`` values at a time."""
        workers = max(1, self.config.concurrency)

        def one(value: Any) -> list[PageResult]:
            text = str(value)
            path = endpoint.path.replace("{value}", text)
            params = {k: (v.replace("{value}", text) if isinstance(v, str) else v)
                      for k, v in endpoint.params.items()}
            return list(self._walk(endpoint, path, params, None, set(), children, parents,
                                   value))

        with ThreadPoolExecutor(max_workers=workers,
                                thread_name_prefix=f"{self.source}-each") as pool:
            index = first
            if index >= len(values):  # nothing to walk: say the endpoint is done
                yield PageResult(None, page=False, checkpoint=checkpoint_of(0, None, True))
                return
            while index < len(values):
                batch = values[index:index + workers]
                for offset, results in enumerate(pool.map(one, batch)):
                    done = index + offset + 1
                    for result in results:
                        fresh = []
                        for listing in result.listings:
                            key = (listing["kind"], listing["source_id"])
                            if key not in seen:
                                seen.add(key)
                                fresh.append(listing)
                        result.listings = fresh
                        result.checkpoint = checkpoint_of(done, None, done >= len(values))
                        yield result
                index += len(batch)

    def _query(self, endpoint: Endpoint, params: dict[str, Any], position: Any
               ) -> dict[str, Any]:
        pag = endpoint.pagination
        query = dict(params)
        if pag.size is not None and pag.size_param:
            query[pag.size_param] = pag.size
        if pag.style in ("page", "offset", "cursor") and pag.param and position is not None:
            query[pag.param] = position
        return query

    def _body(self, endpoint: Endpoint, position: Any, value: Any) -> bytes | None:
        """The POST body for this position (None: a GET)."""
        shape = endpoint.shape
        if shape.method != "POST":
            return None
        pag = endpoint.pagination
        variables = {"size": pag.size, "value": None if value is None else str(value)}
        moved = {"page": "page", "offset": "offset", "cursor": "cursor",
                 "graphql": "cursor"}.get(pag.style)
        if moved:
            variables[moved] = position
        body = shape.encode(variables)
        return body if body is not None else b""

    def _fetch(self, endpoint: Endpoint, path: str, query: dict[str, Any],
               body: bytes | None) -> tuple[str, Any, PageResult | None]:
        """(url, data, None), or (url, None, a failed PageResult) when the page is lost."""
        url = self.absolute(path)
        shown = url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
        if body:
            shown += f" (POST {body[:200].decode('utf-8', 'replace')})"
        shape = endpoint.shape
        try:
            fetched = self.fetcher.get_json(
                path, query or None, method=shape.method, content=body,
                content_type=shape.content_type,
                headers=shape.request_headers(json_rule=True))
        except FetchError as exc:
            if exc.status in (401, 403):
                raise  # nothing can be reached: the run fails with this message
            return shown, None, PageResult(shown, page=False, failed=True,
                                           errors=[PageError.of(exc, shown)])
        except CrawlError as exc:
            return shown, None, PageResult(shown, page=False, failed=True,
                                           errors=[PageError.of(exc, shown)])
        return fetched.url, fetched.data, None

    def _walk(self, endpoint: Endpoint, path: str, params: dict[str, Any], position: Any,
              seen: set[tuple[str, str]], children: list[Endpoint],
              parents: dict[str, list[Any]], value: Any = None) -> Iterator[PageResult]:
        """Every page of one endpoint, walked again while fewer than ``total`` were seen.

        Each result's ``checkpoint`` is the next page's position (None: the end).
        """
        pag = endpoint.pagination
        ids: set[str] = set()
        null_rows: set[str] = set()
        found: dict[str, dict[Any, None]] = {c.name: dict.fromkeys(parents.get(c.name, []))
                                             for c in children}
        state = {"total": None, "lost": False}
        rounds = 0
        while True:
            pending: PageResult | None = None  # held back: the last page may not be the end
            for result in self._pages_of(endpoint, path, params, position, seen, ids,
                                         null_rows, state, children, found, parents, value):
                if pending is not None:
                    yield pending
                pending = result
            position = None
            total = state["total"]
            short = (total is not None and pag.style in ("page", "offset")
                     and len(ids) + len(null_rows) < total and not state["lost"])
            if short and rounds < pag.rounds:
                rounds += 1
                self.stats["rewalks"] += 1
                log.info("%s: %s has %d of %d records, walking it again (round %d)",
                         self.source, endpoint.name, len(ids) + len(null_rows), total, rounds)
                if pending is not None:
                    pending.checkpoint = pag.start  # killed now: walk again from the start
                    yield pending
                continue
            if short:
                assert pending is not None
                url = self.absolute(path)
                pending.failed = True
                pending.errors.append(PageError(url, ErrorKind.INCOMPLETE, f"{endpoint.name}: "
                                       f"{len(ids) + len(null_rows)} of {total} records after "
                                       f"{rounds} re-walk(s)"))
            if pending is not None:
                yield pending
            return

    def _pages_of(self, endpoint: Endpoint, path: str, params: dict[str, Any], position: Any,
                  seen: set[tuple[str, str]], ids: set[str], null_rows: set[str],
                  state: dict[str, Any], children: list[Endpoint],
                  found: dict[str, dict[Any, None]], parents: dict[str, list[Any]],
                  value: Any = None) -> Iterator[PageResult]:
        """One pass over the endpoint; each result's checkpoint is the next position."""
        pag = endpoint.pagination
        if position is None and pag.style in ("page", "offset"):
            position = pag.start
        visited: set[str] = set()
        failures = largest = 0
        for _ in range(pag.max_pages):
            if pag.style == "next_link" and position:
                url_path, query = str(position), {}
            else:
                url_path, query = path, self._query(endpoint, params, position)
            body = self._body(endpoint, position, value)
            key = f"{url_path}?{sorted(query.items())}{body!r}"
            if key in visited:
                return  # the API's links loop
            visited.add(key)
            url, data, failed = self._fetch(endpoint, url_path, query, body)
            self.stats["pages"] += 1
            if failed is not None:
                self.stats["lost_pages"] += 1
                state["lost"] = True
                failures += 1
                if pag.style in ("page", "offset") and failures < 3:
                    position += 1 if pag.style == "page" else (pag.size or 1)
                    failed.checkpoint = position
                    yield failed
                    continue
                failed.errors.append(PageError(url, ErrorKind.ABANDONED, f"{endpoint.name}: "
                                               "the rest of the endpoint cannot be reached"))
                yield failed
                return
            failures = 0
            problems = graphql_errors(data) if endpoint.shape.graphql is not None else []
            if problems and not isinstance(data.get("data"), dict):
                state["lost"] = True  # nothing to read, no cursor to go on with
                yield PageResult(url, failed=True, errors=[
                    PageError(url, ErrorKind.API_ERROR, f"{endpoint.name}: {p}")
                    for p in problems] + [PageError(url, ErrorKind.ABANDONED,
                                                    f"{endpoint.name}: the rest of the "
                                                    "endpoint cannot be reached")])
                return
            records = select_nodes(endpoint.items, data, url)
            if records is None:
                exc = SourceLayoutChanged(f"{endpoint.name}: no list at "
                                          f"{endpoint.items.expr!r}", source=self.source,
                                          url=url)
                state["lost"] = True
                yield PageResult(url, failed=True, errors=[PageError.of(exc)])
                return
            result = PageResult(url)
            if problems:  # partial data: what came is read, the page counts as failed
                state["lost"] = result.failed = True
                result.errors += [PageError(url, ErrorKind.API_ERROR, f"{endpoint.name}: {p}")
                                  for p in problems]
            read_items(endpoint.item, records, data, url, result, seen=seen,
                       null_rows=null_rows, ids=ids)
            for child in children:
                if child.for_each is None:
                    continue
                values = found[child.name]
                for record in records:
                    value = child.for_each[1].value(record, data, url)
                    if value not in (None, "") and isinstance(value, str | int | float):
                        values[value] = None
                parents[child.name] = list(values)
            if pag.total is not None:
                total = total_of(pag.total, data, url)
                if total is not None:
                    state["total"] = total
            total = state["total"]
            largest = max(largest, len(records))
            nxt = self._next_position(endpoint, position, len(records), largest, total, data,
                                      url)
            if pag.style == "next_link" and nxt is not None and not self.on_platform(nxt):
                # never carry the source's credentials (or the crawl) to another host
                result.failed = state["lost"] = True
                result.errors.append(PageError(url, ErrorKind.OFFSITE, f"{endpoint.name}: the "
                                               f"next link leaves the platform: {nxt}"))
                nxt = None
            result.checkpoint = nxt
            yield result
            if nxt is None:
                return
            position = nxt



    def _next_position(self, endpoint: Endpoint, position: Any, count: int, largest: int,
                       total: int | None, data: Any, url: str) -> Any:
        """The position of the page after this one (None: this one was the last).

        ``count`` records came on this page, ``largest`` on the largest one so far;
        ``total`` is the count the API announced, if it did.
        """
        pag = endpoint.pagination
        if pag.style == "page":
            covered = (position - pag.start + 1) * largest
            last = not count or (total is not None and covered >= total) or (
                total is None and count < max(largest, pag.size or 0))
            return None if last else position + 1
        if pag.style == "offset":
            last = not count or (total is not None and position + count >= total) or (
                total is None and count < (pag.size or 1))
            return None if last else position + max(1, count - pag.overlap)
        if pag.style == "graphql" and pag.page_info is not None:
            info = first_value(pag.page_info, data, url)
            if not isinstance(info, dict) or info.get("hasNextPage") is not True:
                return None
            cursor = info.get("endCursor")
            return cursor if isinstance(cursor, str) and cursor else None
        if pag.style in ("cursor", "next_link") and pag.next is not None:
            raw = pag.next.value(data, data, url)
            if (pag.style == "cursor" and endpoint.shape.method == "POST" and count
                    and isinstance(raw, list) and raw):
                return raw  # a search_after key, put whole in the body
            value = first_value(pag.next, data, url)
            if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
                return None
            return urljoin(url, str(value)) if pag.style == "next_link" else value
        return None
