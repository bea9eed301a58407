"""The registry of crawler types: what a source's ``connector:`` names, and what crawls it.

Every caller resolves a source's crawler here and nowhere else: the loader (is
the connector known, are its ``options:`` and ``extract:`` right), the worker
and ``agora sources test`` (which class to run, Scrapy or httpx), the
orchestrator (can it run incrementally), ``agora sources list`` (built in or
declarative). Built-in and declarative types are registered the same way, as
Datasette registers its own features through the hooks its plugins use: each
module of ``DEFAULT_TYPE_MODULES`` has a ``crawler_types()`` hook returning its
``CrawlerType`` entries, and ``Registry.register`` takes any other.

A type names its crawler class, and a declarative type the function compiling
its ``extract:`` block, by ``"module:name"``, imported when needed: Scrapy takes
seconds to import, the selector libraries a good part of one, and a worker
crawling an API, or a command loading the sources file, needs neither.

Example:
    >>> html = get("html")
    >>> html.engine, html.kind, html.declarative
    ('spider', 'declarative', True)
    >>> get("clickandco").kind
    'api'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any, Literal

from crawlers.errors import SourceConfigError
from crawlers.source import SourceConfig
from crawlers.validation import Key, Where

Engine = Literal["api", "spider"]

# modules whose crawler_types() hook registers the built-in types, in this order
DEFAULT_TYPE_MODULES = ("crawlers.connectors", "crawlers.spiders", "crawlers.declarative")


@dataclass(frozen=True)
class CrawlerType:
    """One value ``connector:`` may take.

    Attributes:
        name: the value of ``connector:``.
        engine: ``api`` (an ``ApiConnector`` run with httpx) or ``spider`` (a
            ``CatalogSpider`` run by Scrapy).
        crawler: ``"module:Class"`` of the connector or spider class.
        help: one line for the documentation and ``agora sources list``.
        options: the keys its ``options:`` accepts (anything else is refused).
        extract: for a declarative type, ``"module:function"`` validating an
            ``extract:`` block into the spec its crawler reads (problems recorded
            on a ``Where``); None for a built-in type, which takes no ``extract:``.
    """

    name: str
    engine: Engine
    crawler: str
    help: str
    options: Mapping[str, Key] = field(default_factory=dict)
    extract: str | None = None

    @property
    def declarative(self) -> bool:
        """Whether a source of this type is described by its ``extract:`` block."""
        return self.extract is not None

    def compile_extract(self) -> Callable[[Where, Any], Any] | None:
        """The function compiling this type's ``extract:`` block (None: built in)."""
        return _load_object(self.extract) if self.extract else None

    @property
    def kind(self) -> str:
        """'declarative', else the engine ('api' or 'spider')."""
        return "declarative" if self.declarative else self.engine

    def load(self) -> type[Any]:
        """The crawler class (imported on first use)."""
        crawler_class: type[Any] = _load_object(self.crawler)
        return crawler_class

    def supports_incremental(self) -> bool:
        """Whether its crawler honours an updated-since filter."""
        return self.engine == "api" and bool(getattr(self.load(), "supports_incremental",
                                                     False))


@cache
def _load_object(path: str) -> Any:
    module_name, _, name = path.partition(":")
    return getattr(importlib.import_module(module_name), name)


class Registry:
    """Crawler types by name."""

    def __init__(self) -> None:
        self._types: dict[str, CrawlerType] = {}

    def register(self, crawler_type: CrawlerType) -> None:
        if crawler_type.name in self._types:
            raise SourceConfigError(f"crawler type {crawler_type.name!r} is registered twice")
        self._types[crawler_type.name] = crawler_type

    def register_module(self, module: ModuleType) -> None:
        """Register what the module's ``crawler_types()`` hook returns."""
        for crawler_type in module.crawler_types():
            self.register(crawler_type)

    def __iter__(self) -> Iterator[CrawlerType]:
        return iter(self._types.values())

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def find(self, name: str) -> CrawlerType | None:
        return self._types.get(name)

    def unknown(self, name: str) -> str:
        """Why ``name`` is not a connector, listing the ones there are."""
        builtin = [t.name for t in self if not t.declarative]
        declarative = [t.name for t in self if t.declarative]
        return (f"unknown connector {name!r} (built in: {', '.join(builtin)}; declarative: "
                f"{', '.join(declarative)})")

    def get(self, name: str, *, source: str | None = None) -> CrawlerType:
        """The type named ``name``; SourceConfigError when there is none."""
        found = self.find(name)
        if found is None:
            raise SourceConfigError(self.unknown(name), source=source)
        return found

    def resolve(self, config: SourceConfig) -> CrawlerType:
        """The type crawling a source."""
        return self.get(config.connector, source=config.key)


@cache
def default_registry() -> Registry:
    """The registry of every built-in type (built on first use)."""
    registry = Registry()
    for name in DEFAULT_TYPE_MODULES:
        registry.register_module(importlib.import_module(name))
    return registry


def get(name: str) -> CrawlerType:
    """The built-in or declarative type named ``name``."""
    return default_registry().get(name)


def resolve(config: SourceConfig) -> CrawlerType:
    """The type crawling a source (``config.connector``)."""
    return default_registry().resolve(config)
