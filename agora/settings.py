"""Agora's settings, in one registry: defaults, then the environment (``AGORA_*``).

Each setting has a line of help; ``agora settings`` lists them with their
current values (secrets shown redacted). Command-line flags override them where
a command offers one. Scrapy's politeness settings stay in
``config/sources.yaml``, per source. A value that cannot be honoured is refused
when read (``SettingError``, naming the setting), not ignored.

Where the catalog is: ``AGORA_CATALOG_URL`` (PostgreSQL, for deployments) when
set, else the SQLite file ``catalog.sqlite`` in ``AGORA_HOME``. The embedded
search index always lives in ``AGORA_HOME``: beside the SQLite catalog, or, with
a server catalog, beside ``AGORA_HOME/catalog.index`` (``search_index_base``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from catalog.backends import BackendSettings, SearchBackend, open_backend
from catalog.backends.budget import DEFAULT_BUDGET_MS
from catalog.errors import BackendNotConfigured
from catalog.store import (
    CATALOG_FILE,
    CATALOG_URL_VARIABLE,
    describe_location,
    is_server_location,
)
from normalizer.territories import Territories, TerritoryConfigError, load_territories

SCHEDULE_CRAWL_MODES = ("auto", "inline", "queue")


class SettingError(ValueError):
    """A setting whose value cannot be honoured."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str
    secret: bool = False  # shown redacted by `agora settings`


SETTINGS: tuple[Setting, ...] = (
    Setting("AGORA_HOME", "./var", "folder of the catalog (catalog.sqlite), logs and builds"),
    Setting(CATALOG_URL_VARIABLE, None,
            "the catalog on PostgreSQL (postgresql://user@host/db) instead of "
            "AGORA_HOME/catalog.sqlite; read by every process, crawl workers included",
            secret=True),
    Setting("AGORA_SOURCES", "config/sources.yaml", "the sources file (one entry per platform)"),
    Setting("AGORA_MATCHING", "config/matching.yaml", "the matcher's settings file"),
    Setting("AGORA_TERRITORIES_FILE", "config/territories.yaml",
            "the territories file (where each territory lies, its sources, its texts)"),
    Setting("AGORA_TERRITORIES", None,
            "the territories this instance serves, comma-separated keys of the territories "
            "file (default: every one)"),
    Setting("AGORA_ELASTICSEARCH_URL", None,
            "use Elasticsearch (or OpenSearch) at this URL instead of the embedded index"),
    Setting("AGORA_ELASTICSEARCH_INDEX", "agora", "alias (and index prefix) in Elasticsearch"),
    Setting("AGORA_SEARCH_ENGINE", None,
            "the embedded index: tantivy (default) or fts5 (SQLite FTS5 tables in the catalog "
            "file); `agora index` after a change; refused beside AGORA_ELASTICSEARCH_URL"),
    Setting("AGORA_SEARCH_BUDGET_MS", f"{DEFAULT_BUDGET_MS:g}",
            "a search's time budget in ms: past it, facet counts are estimated (and the page "
            "says so) rather than the shopper kept waiting"),
    Setting("AGORA_OPERATOR_TOKEN", None, "token the operator pages (/sources) require",
            secret=True),
    Setting("AGORA_RATE_LIMIT", "120/minute",
            "JSON API requests per client (e.g. 120/minute); 'off' switches every limit off"),
    Setting("AGORA_RATE_LIMIT_PAGES", "120/minute", "search and entity pages per client"),
    Setting("AGORA_RATE_LIMIT_OVERLAP", "30/minute",
            "/overlap requests (page, CSV, JSON, figures) per client"),
    Setting("AGORA_RATE_LIMIT_OPERATOR", "30/minute", "operator page requests per client"),
    Setting("AGORA_RATE_LIMIT_LOGIN_FAILURES", "10/hour", "wrong operator tokens per client"),
    Setting("AGORA_RATE_LIMIT_STORAGE", "catalog",
            "where rate limits are counted: catalog, or a redis:// memcached:// memory:// URI"),
    Setting("AGORA_TRUST_PROXY", "0",
            "reverse proxies in front whose X-Forwarded-For/-Proto are trusted"),
    Setting("AGORA_SECRET_KEY", None,
            "signs operator sessions (default: random per start; share it across machines)"),
    Setting("AGORA_SCHEDULE_CRAWL", "auto",
            "how `agora schedule` crawls a due source: queue (enqueue it for `agora worker` "
            "processes), inline (crawl in its own process), auto (queue when a live worker "
            "crawls that source, else inline)"),
    Setting("AGORA_PG_BIN", None,
            "folder of pg_dump and pg_restore for `agora catalog backup|restore` (default: "
            "PATH, else the newest /usr/lib/postgresql/*/bin)"),
    Setting("AGORA_WORKER_POLL", "2",
            "seconds an idle `agora worker` waits between two looks at the queue"),
    Setting("AGORA_REQUIRE_ELASTICSEARCH", None,
            "tests: fail (instead of skip) when no search server can be started"),
    Setting("AGORA_REQUIRE_POSTGRES", None,
            "tests: fail (instead of skip) when no PostgreSQL server can be started"),
    Setting("AGORA_POSTGRES_URL", None,
            "tests and benchmarks/catalog.py: use this PostgreSQL server (a user that may "
            "create databases) instead of starting one", secret=True),
    Setting("AGORA_POSTGRES_TIMEOUT", "60",
            "tests: seconds to wait for the PostgreSQL server they start"),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str | None:
    """The setting's value from the environment, else its default."""
    return os.environ.get(name, _BY_NAME[name].default)


def display(name: str) -> str:
    """The value as `agora settings` shows it: a secret is never printed whole."""
    value = get(name)
    if value is None:
        return "None"
    if not _BY_NAME[name].secret:
        return value
    if is_server_location(value):
        return describe_location(value)
    return "(set)"


def home() -> Path:
    """AGORA_HOME as a path (created on first use)."""
    path = Path(get("AGORA_HOME") or "./var")
    path.mkdir(parents=True, exist_ok=True)
    return path


def catalog_file() -> Path:
    """The SQLite catalog's file in AGORA_HOME (the embedded default)."""
    return home() / CATALOG_FILE


def catalog_path() -> Path | str:
    """The catalog to open: ``AGORA_CATALOG_URL`` (a str) when set, else ``catalog_file()``.

    Raises:
        SettingError: AGORA_CATALOG_URL is set but is not a postgresql:// URL.
    """
    url = (get(CATALOG_URL_VARIABLE) or "").strip()
    if not url:
        return catalog_file()
    if not is_server_location(url):
        raise SettingError(CATALOG_URL_VARIABLE, f"{describe_location(url)!r} is not a "
                           "postgresql:// URL (unset it to use AGORA_HOME/catalog.sqlite)")
    return url


def search_index_base(location: Path | str | None = None) -> Path:
    """What the embedded search index is kept beside, for the catalog at ``location``
    (default: ``catalog_path()``): the SQLite catalog's own file, or, for a catalog on
    a server, ``AGORA_HOME/catalog.index``."""
    location = catalog_path() if location is None else location
    if is_server_location(str(location)):
        return home() / "catalog.index"
    return Path(location)


def schedule_crawl_mode() -> str:
    """AGORA_SCHEDULE_CRAWL, checked."""
    mode = (get("AGORA_SCHEDULE_CRAWL") or "auto").strip().lower()
    if mode not in SCHEDULE_CRAWL_MODES:
        raise SettingError("AGORA_SCHEDULE_CRAWL", f"{mode!r} is not one of "
                           f"{', '.join(SCHEDULE_CRAWL_MODES)}")
    return mode


def worker_poll_seconds() -> float:
    """AGORA_WORKER_POLL, checked."""
    text = get("AGORA_WORKER_POLL") or "2"
    try:
        value = float(text)
    except ValueError:
        raise SettingError("AGORA_WORKER_POLL", f"{text!r} is not a number of seconds") from None
    if not 0.05 <= value <= 3600:
        raise SettingError("AGORA_WORKER_POLL", f"{value:g} s is out of bounds (0.05 to 3600)")
    return value


def sources_file() -> Path:
    return Path(get("AGORA_SOURCES") or "config/sources.yaml")


def all_territories() -> Territories:
    """Every territory of the territories file (AGORA_TERRITORIES_FILE), validated."""
    return load_territories(get("AGORA_TERRITORIES_FILE") or "config/territories.yaml")


def territories() -> Territories:
    """The territories this instance serves: AGORA_TERRITORIES, else every one in the file.

    Raises:
        SettingError: AGORA_TERRITORIES names a territory the file does not have.
    """
    known = all_territories()
    chosen = [k.strip() for k in (get("AGORA_TERRITORIES") or "").split(",") if k.strip()]
    if not chosen:
        return known
    try:
        return known.select(chosen)
    except TerritoryConfigError as exc:
        raise SettingError("AGORA_TERRITORIES", str(exc)) from None


def search_backend_settings() -> BackendSettings:
    """The search backend Agora's settings choose (AGORA_ELASTICSEARCH_*, AGORA_SEARCH_*).

    Raises:
        SettingError: a value that cannot be honoured, named.
    """
    try:
        return BackendSettings.from_mapping({k: get(k) for k in BackendSettings.KEYS})
    except BackendNotConfigured as exc:
        name, _, message = str(exc).partition(": ")
        raise SettingError(name, message) from None


def open_search_backend(location: Path | str | None = None) -> SearchBackend:
    """The search backend for the catalog at ``location`` (default: ``catalog_path()``)."""
    return open_backend(search_index_base(location), search_backend_settings())
