"""What every replica platform is: records built from the world, and a web app.

A platform turns the world into ``Record`` objects, one per listing it serves,
each carrying the listing exactly as a perfect crawler would extract it
(``fields``, in the listing contract) and the truth (``entity_id``). Its web app
renders those records in the platform's own format. Tests compare what the
crawlers got with ``expected_listings``; the truth CSV comes from ``truth``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from replicas.faults import (
    FaultInjector,
    FaultProfile,
    WSGIApp,
    fault_middleware,
    request_body_digest,
)
from replicas.world import World

#: what a crawler leaves out of a listing: no value, empty text, empty list
EMPTY: tuple[Any, ...] = (None, "", [])


def present(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields as a crawler stores them: those whose value is not in ``EMPTY``."""
    return {k: v for k, v in fields.items() if v not in EMPTY}


@dataclass
class Record:
    """One listing a platform serves: contract fields, truth, and rendering extras."""

    kind: str  # shop | product
    source_id: str
    entity_id: str
    fields: dict[str, Any]  # contract fields except kind/source/source_id; url is a path
    native: dict[str, Any] = field(default_factory=dict)


class Platform(ABC):
    """A replica platform: a seeded view of the world served over HTTP."""

    key: ClassVar[str]
    title: ClassVar[str]
    default_port: ClassVar[int]

    def __init__(self, world: World, *, faults: FaultProfile | None = None) -> None:
        self.faults = faults or FaultProfile()
        self.injector = FaultInjector(self.faults, world.seed, self.key)
        self.base_url = f"http://127.0.0.1:{self.default_port}"
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._app: WSGIApp | None = None
        self.set_world(world)

    # ---------------------------------------------------------------- data
    def set_world(self, world: World) -> None:
        """Serve another epoch of the world from now on (ports and faults unchanged)."""
        records = self.build_records(world)
        with self._lock:
            self.world = world
            self.records = records
            self.on_records_changed()

    def on_records_changed(self) -> None:
        """Hook for platforms that index their records (called under the lock)."""
        return None

    @abstractmethod
    def build_records(self, world: World) -> list[Record]:
        """Every listing this platform serves for the world, in a stable order."""

    def truth(self) -> Iterator[tuple[str, str, str, str]]:
        """(kind, source, source_id, entity_id) for every listing served."""
        for r in self.records:
            yield r.kind, self.key, r.source_id, r.entity_id

    def expected_listings(self) -> Iterator[dict[str, Any]]:
        """Every listing in the contract, as a perfect crawler would store it."""
        for r in self.records:
            item = {"kind": r.kind, "source": self.key, "source_id": r.source_id}
            item.update(r.fields)
            if isinstance(item.get("url"), str) and item["url"].startswith("/"):
                item["url"] = self.base_url + item["url"]
            yield item

    # ---------------------------------------------------------------- web
    @abstractmethod
    def create_app(self) -> WSGIApp:
        """The platform's web app, without faults."""

    @abstractmethod
    def classify(self, path: str) -> tuple[str, bool] | None:
        """What a path serves for fault injection: ("json"|"html", paginated?) or None."""

    def wsgi(self) -> WSGIApp:
        """The app as served: request log, then faults, then the platform."""
        if self._app is None:
            self._app = fault_middleware(self.create_app(), self.injector, self.classify)
        inner = self._app

        def logged(environ: dict, start_response: Callable) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "/")
            query = environ.get("QUERY_STRING", "")
            asked = path + ("?" + query if query else "")
            if environ.get("REQUEST_METHOD") == "POST":  # which page: the body says
                asked += "#" + request_body_digest(environ)
            with self._lock:
                self.requests.append(asked)
            return inner(environ, start_response)

        return logged
