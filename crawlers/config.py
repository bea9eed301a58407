"""Loading and validating ``config/sources.yaml``: one entry per platform.

The file is validated on load: an unknown key, a wrong type or a missing
required key is a ``SourceConfigError`` naming the source, the key and the line.
So is a ``connector`` that is neither built in nor a declarative type, and
anything wrong under a declarative source's ``extract:`` (checked and compiled
by ``crawlers.declarative.check_extract``: fields, transforms, selectors,
pagination, page rules).
String values may read the environment, ``${VAR}`` or ``${VAR:-default}``, so a
token or a base URL never needs to be written in the file.

Example entry::

    sources:
      clickandco:
        name: Click'n Co
        connector: clickandco
        base_url: ${AGORA_URL_CLICKANDCO:-http://127.0.0.1:8703}
        concurrency: 4
        schedule: {interval: 6h, jitter: 5m}
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crawlers.errors import SourceConfigError

DEFAULT_SOURCES_FILE = Path("config") / "sources.yaml"

_ENV = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class FieldSpec:
    types: tuple[type, ...]
    default: Any = None
    required: bool = False
    help: str = ""


# Keys of a source entry: type(s), default, help. Connector-specific settings go
# under ``options`` (checked by the connector), declarative extraction under ``extract``.
SOURCE_KEYS: dict[str, FieldSpec] = {
    "name": FieldSpec((str,), required=True, help="the platform's display name"),
    "connector": FieldSpec((str,), required=True,
                           help="built-in connector key, or a declarative type"),
    "base_url": FieldSpec((str,), required=True, help="where the platform lives"),
    "enabled": FieldSpec((bool,), True, help="crawled by `agora crawl` without arguments"),
    "homepage": FieldSpec((str,), None, help="the platform's public site, for links"),
    "auth": FieldSpec((dict,), None, help="{type: bearer|header|query, token, name}"),
    "concurrency": FieldSpec((int,), 4, help="requests in flight at once"),
    "delay": FieldSpec((int, float), 0.0, help="seconds between requests"),
    "timeout": FieldSpec((int, float), 15.0, help="seconds before a request is abandoned"),
    "retries": FieldSpec((int,), 5, help="retries of a failed request, with backoff"),
    "autothrottle": FieldSpec((bool,), True, help="Scrapy AutoThrottle for HTML sources"),
    "obey_robots": FieldSpec((bool,), True, help="obey robots.txt"),
    "user_agent": FieldSpec((str,), None, help="User-Agent sent to this platform"),
    "incremental": FieldSpec((bool,), False,
                             help="use the platform's updated-since filter between full crawls"),
    "full_every": FieldSpec((int,), 4, help="every Nth incremental run is a full crawl"),
    "schedule": FieldSpec((dict,), None, help="{interval: 6h | cron: '0 3 * * *', jitter: 5m}"),
    "options": FieldSpec((dict,), None, help="connector-specific settings"),
    "extract": FieldSpec((dict,), None, help="declarative extraction rules"),
    "health": FieldSpec((dict,), None, help="thresholds for degraded detection"),
}
AUTH_KEYS = {"type": (str,), "token": (str,), "name": (str,)}
SCHEDULE_KEYS = {"interval": (str, int), "cron": (str,), "jitter": (str, int)}
TOP_KEYS = {"sources", "defaults"}


@dataclass(frozen=True)
class SourceConfig:
    """One validated source entry."""

    key: str
    name: str
    connector: str
    base_url: str
    enabled: bool = True
    homepage: str | None = None
    auth: dict[str, Any] | None = None
    concurrency: int = 4
    delay: float = 0.0
    timeout: float = 15.0
    retries: int = 5
    autothrottle: bool = True
    obey_robots: bool = True
    user_agent: str | None = None
    incremental: bool = False
    full_every: int = 4
    schedule: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    extract: dict[str, Any] | None = None
    health: dict[str, Any] | None = None
    line: int = 0

    @property
    def agent(self) -> str:
        return self.user_agent or "AgoraBot/0.1 (+https://agora.example/bot; federated local search)"

    def option(self, name: str, default: Any = None) -> Any:
        return (self.options or {}).get(name, default)


def expand_env(value: str, *, where: str = "") -> str:
    """Replace ${VAR} and ${VAR:-default} from the environment."""
    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise SourceConfigError(f"{where}environment variable {name} is not set")
    return _ENV.sub(sub, value)


def _plain(node: yaml.Node, where: str) -> Any:
    """A composed YAML node to Python values, expanding ${VAR} in strings."""
    data = yaml.safe_load(yaml.serialize(node)) if node is not None else None
    return _expand(data, where)


def _expand(value: Any, where: str) -> Any:
    if isinstance(value, str):
        return expand_env(value, where=where)
    if isinstance(value, list):
        return [_expand(v, where) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, where) for k, v in value.items()}
    return value


def _type_name(types: tuple[type, ...]) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "text",
             dict: "a mapping", list: "a list"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _check_type(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def load_sources(path: str | os.PathLike[str] | None = None) -> dict[str, SourceConfig]:
    """Read and validate the sources file (``AGORA_SOURCES`` or config/sources.yaml)."""
    path = Path(path or os.environ.get("AGORA_SOURCES") or DEFAULT_SOURCES_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceConfigError(f"{path}: cannot read the sources file: {exc}") from exc
    return parse_sources(text, str(path))


def parse_sources(text: str, filename: str = "sources.yaml") -> dict[str, SourceConfig]:
    """Validate the text of a sources file; errors name the source, key and line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise SourceConfigError(f"{filename}: not valid YAML: {exc}") from exc
    if root is None:
        raise SourceConfigError(f"{filename}: the file is empty")
    if not isinstance(root, yaml.MappingNode):
        raise SourceConfigError(f"{filename}:{root.start_mark.line + 1}: the top level must be "
                                "a mapping with a 'sources' key")
    top: dict[str, yaml.Node] = {}
    for key_node, value_node in root.value:
        key = key_node.value
        if key not in TOP_KEYS:
            raise SourceConfigError(f"{filename}:{key_node.start_mark.line + 1}: unknown top-level "
                                    f"key {key!r} (expected one of {sorted(TOP_KEYS)})")
        top[key] = value_node
    if "sources" not in top or not isinstance(top["sources"], yaml.MappingNode):
        raise SourceConfigError(f"{filename}: 'sources' must be a mapping of source entries")
    defaults: dict[str, Any] = {}
    if "defaults" in top:
        defaults = _entry_values(top["defaults"], filename, "defaults", require=False)
    sources: dict[str, SourceConfig] = {}
    for key_node, entry_node in top["sources"].value:
        key = str(key_node.value)
        line = key_node.start_mark.line + 1
        if not re.fullmatch(r"[a-z][a-z0-9_]{1,40}", key):
            raise SourceConfigError(f"{filename}:{line}: source key {key!r} must be lowercase "
                                    "letters, digits and underscores", source=key)
        if key in sources:
            raise SourceConfigError(f"{filename}:{line}: source {key!r} is defined twice",
                                    source=key)
        nodes: dict[str, yaml.Node] = {}
        values = {**defaults, **_entry_values(entry_node, filename, key, require=False,
                                              nodes=nodes)}
        for name, spec in SOURCE_KEYS.items():
            if spec.required and name not in values:
                raise SourceConfigError(f"{filename}:{line}: source {key!r}: missing required "
                                        f"key {name!r} ({spec.help})", source=key)
        _check_connector(values, nodes, filename, key, line)
        if values.get("concurrency", 1) < 1:
            raise SourceConfigError(f"{filename}:{line}: source {key!r}: concurrency must be at "
                                    "least 1", source=key)
        for positive in ("timeout",):
            if positive in values and values[positive] <= 0:
                raise SourceConfigError(f"{filename}:{line}: source {key!r}: {positive} must be "
                                        "positive", source=key)
        if values.get("delay", 0) < 0 or values.get("retries", 0) < 0:
            raise SourceConfigError(f"{filename}:{line}: source {key!r}: delay and retries "
                                    "cannot be negative", source=key)
        if "delay" in values:
            values["delay"] = float(values["delay"])
        if "timeout" in values:
            values["timeout"] = float(values["timeout"])
        values["options"] = values.get("options") or {}
        sources[key] = SourceConfig(key=key, line=line, **values)
    return sources


def _check_connector(values: dict[str, Any], nodes: dict[str, yaml.Node], filename: str,
                     source: str, line: int) -> None:
    """The connector must exist; a declarative one's ``extract:`` is validated in full."""
    from crawlers.connectors import CONNECTORS, SPIDERS  # noqa: PLC0415
    from crawlers.declarative import (  # noqa: PLC0415 - the validator pulls parsel, jmespath
        DECLARATIVE_TYPES,
        check_extract,
        node_lines,
    )

    connector = values["connector"]
    known = (*CONNECTORS, *SPIDERS, *DECLARATIVE_TYPES)
    if connector not in known:
        where = nodes["connector"].start_mark.line + 1 if "connector" in nodes else line
        raise SourceConfigError(f"{filename}:{where}: source {source!r}: key 'connector': "
                                f"unknown connector {connector!r} (built in: "
                                f"{', '.join([*CONNECTORS, *SPIDERS])}; declarative: "
                                f"{', '.join(DECLARATIVE_TYPES)})", source=source)
    extract_node = nodes.get("extract")
    lines = None
    if extract_node is not None:
        lines = node_lines(extract_node)
        lines[()] = nodes["extract:key"].start_mark.line + 1
    check_extract(connector, values.get("extract"), source=source, filename=filename,
                  lines=lines, line=lines[()] if lines else line)
    if values.get("health") is not None:
        from crawlers.health import parse_rules  # noqa: PLC0415

        try:
            parse_rules(values["health"], source=source)
        except SourceConfigError as exc:
            where = nodes["health"].start_mark.line + 1 if "health" in nodes else line
            raise SourceConfigError(f"{filename}:{where}: {exc}", source=source) from exc


def _entry_values(node: yaml.Node, filename: str, source: str, *,
                  require: bool, nodes: dict[str, yaml.Node] | None = None) -> dict[str, Any]:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        raise SourceConfigError(f"{filename}:{line}: source {source!r} must be a mapping",
                                source=source)
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        name = key_node.value
        kline = key_node.start_mark.line + 1
        where = f"{filename}:{kline}: source {source!r}: "
        spec = SOURCE_KEYS.get(name)
        if spec is None:
            raise SourceConfigError(f"{where}unknown key {name!r} (known keys: "
                                    f"{', '.join(sorted(SOURCE_KEYS))})", source=source)
        value = _plain(value_node, where)
        if not _check_type(value, spec.types):
            raise SourceConfigError(f"{where}key {name!r} must be {_type_name(spec.types)}, got "
                                    f"{value!r}", source=source)
        if name == "auth":
            _check_submapping(value, AUTH_KEYS, where + "auth: ", source)
            if value.get("type") not in ("bearer", "header", "query"):
                raise SourceConfigError(f"{where}auth type must be bearer, header or query",
                                        source=source)
        if name == "schedule":
            _check_submapping(value, SCHEDULE_KEYS, where + "schedule: ", source)
            if ("interval" in value) == ("cron" in value):
                raise SourceConfigError(f"{where}schedule needs exactly one of interval or cron",
                                        source=source)
        values[name] = value
        if nodes is not None:  # where each key is, for later checks
            nodes[name] = value_node if name == "extract" else key_node
            nodes[f"{name}:key"] = key_node
    return values


def _check_submapping(value: dict[str, Any], keys: dict[str, tuple[type, ...]], where: str,
                      source: str) -> None:
    for k, v in value.items():
        if k not in keys:
            raise SourceConfigError(f"{where}unknown key {k!r} (known: {', '.join(sorted(keys))})",
                                    source=source)
        if not _check_type(v, keys[k]):
            raise SourceConfigError(f"{where}key {k!r} must be {_type_name(keys[k])}",
                                    source=source)


def auth_headers_and_params(config: SourceConfig) -> tuple[dict[str, str], dict[str, str]]:
    """HTTP headers and query parameters carrying the source's credentials."""
    auth = config.auth
    if not auth:
        return {}, {}
    token = auth.get("token", "")
    if auth["type"] == "bearer":
        return {"Authorization": f"Bearer {token}"}, {}
    if auth["type"] == "header":
        return {auth.get("name", "X-Api-Key"): token}, {}
    return {}, {auth.get("name", "api_key"): token}


def parse_duration(value: str | int) -> float:
    """'90s', '5m', '6h', '1d' or seconds -> seconds."""
    if isinstance(value, int):
        return float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
    if not match:
        raise ValueError(f"bad duration {value!r} (expected e.g. 90s, 5m, 6h, 1d)")
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
