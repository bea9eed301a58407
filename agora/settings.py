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
    Setting("AGORA_RATE_LIMIT", "120/minute", "API requests allowed per client"),
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
