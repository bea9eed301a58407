"""Agora's settings, in one registry: defaults, then the environment (``AGORA_*``).

Each setting has a line of help; ``agora settings`` lists them with their
current values. Command-line flags override them where a command offers one.
Scrapy's politeness settings stay in ``config/sources.yaml``, per source.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("AGORA_HOME", "./var", "folder of the catalog (catalog.sqlite), logs and builds"),
    Setting("AGORA_SOURCES", "config/sources.yaml", "the sources file (one entry per platform)"),
    Setting("AGORA_MATCHING", "config/matching.yaml", "the matcher's settings file"),
    Setting("AGORA_ELASTICSEARCH_URL", None,
            "use Elasticsearch (or OpenSearch) at this URL instead of the embedded index"),
    Setting("AGORA_ELASTICSEARCH_INDEX", "agora", "alias (and index prefix) in Elasticsearch"),
    Setting("AGORA_OPERATOR_TOKEN", None, "token the operator pages (/sources) require"),
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
    Setting("AGORA_REQUIRE_ELASTICSEARCH", None,
            "tests: fail (instead of skip) when no search server can be started"),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str | None:
    """The setting's value from the environment, else its default."""
    return os.environ.get(name, _BY_NAME[name].default)


def home() -> Path:
    """AGORA_HOME as a path (created on first use)."""
    path = Path(get("AGORA_HOME") or "./var")
    path.mkdir(parents=True, exist_ok=True)
    return path


def catalog_path() -> Path:
    return home() / "catalog.sqlite"


def sources_file() -> Path:
    return Path(get("AGORA_SOURCES") or "config/sources.yaml")
