"""Loading and validating ``config/sources.yaml``: one entry per platform.

The file is validated on load, the way Splink checks its settings: every
problem is collected (an unknown key, a wrong type, a missing required key, a
``connector`` the registry does not know, an ``options:`` key its crawler type
does not read, anything wrong under a declarative source's ``extract:``, a bad
``health:`` threshold), each naming the file, the line, the source and the key,
and one ``SourceConfigError`` lists them all. The format is documented in
``docs/connectors.md``. The values that need it may read the environment,
``${VAR}`` or ``${VAR:-default}``, so a token or a base URL never needs to be
written in the file: ``base_url``, ``auth.token`` and headers values
(``reads_environment``). Anywhere else a ``${...}`` is refused, so that a
sources file from a third party cannot publish a variable of the machine
(``${AGORA_OPERATOR_TOKEN}`` as a platform's name).

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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from crawlers.errors import SourceConfigError
from crawlers.headers import check_headers
from crawlers.health import parse_rules
from crawlers.hosts import parse_allowed_host
from crawlers.registry import Registry, default_registry
from crawlers.source import SourceConfig
from crawlers.validation import (
    Key,
    Problems,
    RecordedProblem,
    Where,
    has_type,
    node_lines,
    type_name,
)

__all__ = ["AUTH_KEYS", "SCHEDULE_KEYS", "SOURCE_KEYS", "SourceConfig", "expand_env",
           "load_sources", "parse_duration", "parse_size", "parse_sources"]

DEFAULT_SOURCES_FILE = Path("config") / "sources.yaml"

_ENV = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")
_ENV_REFERENCE = re.compile(r"\$\{[^}]*\}")
_SOURCE_KEY = re.compile(r"[a-z][a-z0-9_]{1,40}")

def parse_size(value: str | int) -> int:
    """'8MB', '512KB', '1.5 MB' or bytes -> bytes (KB = 1024 bytes); at least 1 KB."""
    if isinstance(value, bool):
        raise ValueError(f"bad size {value!r}")
    if isinstance(value, int):
        size = value
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*", value, re.IGNORECASE)
        if not match:
            raise ValueError(f"bad size {value!r} (expected bytes, or e.g. 512KB, 8MB)")
        unit = (match.group(2) or "B").upper().replace("I", "")
        size = int(float(match.group(1)) * {"B": 1, "KB": 1024, "MB": 1024 ** 2,
                                            "GB": 1024 ** 3}[unit])
    if size < 1024:
        raise ValueError(f"size {value!r} is under 1 KB (a bare number is bytes: write 8MB)")
    return size


def check_allowed_hosts(value: list[Any]) -> None:
    """An ``allowed_hosts`` list: host or host:port names, nothing else."""
    for item in value:
        parse_allowed_host(item)


def parse_duration(value: str | int) -> float:
    """'90s', '5m', '6h', '1d' or seconds -> seconds."""
    if isinstance(value, int):
        return float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
    if not match:
        raise ValueError(f"bad duration {value!r} (expected e.g. 90s, 5m, 6h, 1d)")
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


# Keys of a source entry. Crawler settings go under ``options`` (the keys its type
# declares in the registry), declarative extraction under ``extract``.
SOURCE_KEYS: dict[str, Key] = {
    "name": Key((str,), "the platform's display name", required=True),
    "connector": Key((str,), "a built-in crawler type, or a declarative one", required=True),
    "base_url": Key((str,), "where the platform lives", required=True),
    "enabled": Key((bool,), "crawled by `agora crawl` without arguments (true)"),
    "homepage": Key((str,), "the platform's public site, for links"),
    "auth": Key((dict,), "credentials: {type: bearer|header|query, token, name}"),
    "headers": Key((dict,), "request headers sent with every request to the platform's "
                   "origin; values may read ${VAR}", check=check_headers),
    "concurrency": Key((int,), "requests in flight at once (4)"),
    "delay": Key((int, float), "seconds between requests (0)"),
    "timeout": Key((int, float), "seconds before a request is abandoned (15)"),
    "retries": Key((int,), "retries of a failed request, with backoff (5)"),
    "autothrottle": Key((bool,), "Scrapy's AutoThrottle, for spiders (true)"),
    "obey_robots": Key((bool,), "obey robots.txt, for spiders (true)"),
    "user_agent": Key((str,), "the User-Agent sent to this platform"),
    "allowed_hosts": Key((list,), "other hosts (host or host:port: a CDN, a second domain) "
                         "whose links, sitemap entries and redirects are followed; "
                         "credentials never go there", check=check_allowed_hosts),
    "max_body": Key((int, str), "the largest answer read, decompressed: bytes, or 512KB, "
                    "8MB (8MB)", check=parse_size),
    "incremental": Key((bool,), "use the platform's updated-since filter between full "
                       "crawls, when its connector has one (false)"),
    "full_every": Key((int,), "every Nth incremental run is a full crawl (4)"),
    "schedule": Key((dict,), "{interval: 6h | cron: '0 3 * * *', jitter: 5m}"),
    "options": Key((dict,), "settings of a built-in crawler type"),
    "extract": Key((dict,), "what a declarative type fetches and how it reads it"),
    "health": Key((dict,), "thresholds for degraded runs"),
}
AUTH_KEYS: dict[str, Key] = {
    "type": Key((str,), "bearer (Authorization: Bearer), header or query", required=True),
    "token": Key((str,), "the credential, usually ${AN_ENV_VAR}"),
    "name": Key((str,), "the header (X-Api-Key) or query parameter (api_key) carrying it"),
}
SCHEDULE_KEYS: dict[str, Key] = {
    "interval": Key((str, int), "run every 90s, 5m, 6h, 1d", check=parse_duration),
    "cron": Key((str,), "run at these times (crontab syntax)"),
    "jitter": Key((str, int), "a random delay up to this much", check=parse_duration),
}
TOP_KEYS = ("sources", "defaults")


def expand_env(value: str) -> str:
    """Replace ${VAR} and ${VAR:-default} from the environment."""
    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise SourceConfigError(f"environment variable {name} is not set")
    return _ENV.sub(sub, value)


def reads_environment(path: tuple[str | int, ...]) -> bool:
    """Whether the value at ``path`` of a source entry may read the environment: its
    ``base_url``, its ``auth.token``, and the values of any ``headers`` mapping."""
    return path in (("base_url",), ("auth", "token")) or (
        len(path) >= 2 and path[-2] == "headers" and isinstance(path[-1], str))


def _dotted(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _expand(value: Any, path: tuple[str | int, ...], refused: list[tuple[str | int, ...]]
            ) -> Any:
    """``value`` with ``${VAR}`` expanded where ``reads_environment``; the paths of any
    other ``${...}`` appended to ``refused`` (left as written)."""
    if isinstance(value, str):
        if not _ENV_REFERENCE.search(value):
            return value
        if reads_environment(path):
            return expand_env(value)
        refused.append(path)
        return value
    if isinstance(value, list):
        return [_expand(v, (*path, i), refused) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _expand(v, (*path, k), refused) for k, v in value.items()}
    return value


def load_sources(path: str | os.PathLike[str] | None = None, *,
                 registry: Registry | None = None) -> dict[str, SourceConfig]:
    """Read and validate the sources file (``AGORA_SOURCES`` or config/sources.yaml)."""
    path = Path(path or os.environ.get("AGORA_SOURCES") or DEFAULT_SOURCES_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceConfigError(f"{path}: cannot read the sources file: {exc}") from exc
    return parse_sources(text, str(path), registry=registry)


def parse_sources(text: str, filename: str = "sources.yaml", *,
                  registry: Registry | None = None) -> dict[str, SourceConfig]:
    """Validate the text of a sources file; one error lists every problem found."""
    registry = registry or default_registry()
    problems = Problems(filename)
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
        if key_node.value not in TOP_KEYS:
            problems.add(key_node.start_mark.line + 1, None, f"unknown top-level key "
                         f"{key_node.value!r} (expected one of {sorted(TOP_KEYS)})",
                         key=key_node.value)
        top[key_node.value] = value_node
    if "sources" not in top or not isinstance(top["sources"], yaml.MappingNode):
        problems.add(root.start_mark.line + 1, None,
                     "'sources' must be a mapping of source entries", key="sources")
        problems.raise_if_any()
    defaults: dict[str, Any] = {}
    if "defaults" in top:
        defaults = _Entry(problems, "defaults", top["defaults"]).values
    sources: dict[str, SourceConfig] = {}
    for key_node, entry_node in top["sources"].value:
        key = str(key_node.value)
        line = key_node.start_mark.line + 1
        if not _SOURCE_KEY.fullmatch(key):
            problems.add(line, key, f"source key {key!r} must be lowercase letters, digits "
                         "and underscores")
            continue
        if key in sources:
            problems.add(line, key, f"source {key!r} is defined twice")
            continue
        before = len(problems)
        entry = _Entry(problems, key, entry_node, defaults=defaults, line=line)
        entry.check(registry)
        if len(problems) == before:
            sources[key] = entry.config()
    problems.raise_if_any()
    return sources


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


class _Entry:
    """One source entry being checked: its values, and where each key is."""

    def __init__(self, problems: Problems, source: str, node: yaml.Node, *,
                 defaults: dict[str, Any] | None = None, line: int | None = None) -> None:
        self.problems, self.source = problems, source
        self.line = line if line is not None else node.start_mark.line + 1
        self.keys: dict[str, yaml.Node] = {}  # key -> its key node
        self.nodes: dict[str, yaml.Node] = {}  # key -> its value node
        self.values: dict[str, Any] = dict(defaults or {})
        self.wrong: set[str] = set()  # keys given, but with a problem
        if not isinstance(node, yaml.MappingNode):
            self.add(self.line, f"source {source!r} must be a mapping")
            return
        for key_node, value_node in node.value:
            self._read(key_node, value_node)

    def add(self, line: int, message: str, key: str | None = None) -> None:
        self.problems.add(line, self.source, message, key=key)
        if key is not None:
            self.wrong.add(key)

    def line_of(self, name: str) -> int:
        return self.keys[name].start_mark.line + 1 if name in self.keys else self.line

    def _read(self, key_node: yaml.Node, value_node: yaml.Node) -> None:
        name = key_node.value
        line = key_node.start_mark.line + 1
        spec = SOURCE_KEYS.get(name)
        if spec is None:
            self.add(line, f"unknown key {name!r} (known keys: {', '.join(sorted(SOURCE_KEYS))})",
                     name)
            return
        refused: list[tuple[str | int, ...]] = []
        try:
            value = _expand(yaml.safe_load(yaml.serialize(value_node)), (name,), refused)
        except SourceConfigError as exc:
            self.add(line, f"key {name!r}: {exc}", name)
            return
        if refused:
            lines = node_lines(value_node, (name,))
            for path in refused:
                where = next((lines[path[:end]] for end in range(len(path), 0, -1)
                              if path[:end] in lines), line)
                found = _ENV_REFERENCE.search(_at(value, path[1:]))
                written = found.group(0) if found else "${...}"
                self.add(where, f"{_dotted(path)}: {written} is read from the environment "
                         "only in base_url, auth.token and headers values", _dotted(path))
            return
        if not has_type(value, spec.types):
            self.add(line, f"key {name!r} must be {type_name(spec.types)}, got {value!r}", name)
            return
        if spec.check is not None:
            try:
                spec.check(value)
            except ValueError as exc:
                self.add(line, f"key {name!r}: {exc}", name)
                return
        if name == "auth":
            self._submapping(value, AUTH_KEYS, "auth", line)
            if value.get("type") not in ("bearer", "header", "query"):
                self.add(line, "auth type must be bearer, header or query", "auth")
        elif name == "schedule":
            self._submapping(value, SCHEDULE_KEYS, "schedule", line)
            if ("interval" in value) == ("cron" in value):
                self.add(line, "schedule needs exactly one of interval or cron", "schedule")
        self.values[name] = value
        self.keys[name], self.nodes[name] = key_node, value_node

    def _submapping(self, value: dict[str, Any], keys: dict[str, Key], where: str,
                    line: int) -> None:
        for k, v in value.items():
            spec = keys.get(k)
            if spec is None:
                self.add(line, f"{where}: unknown key {k!r} (known: {', '.join(sorted(keys))})",
                         where)
            elif not has_type(v, spec.types):
                self.add(line, f"{where}: key {k!r} must be {type_name(spec.types)}", where)
            elif spec.check is not None:
                try:
                    spec.check(v)
                except ValueError as exc:
                    self.add(line, f"{where}: key {k!r}: {exc}", where)

    def check(self, registry: Registry) -> None:
        """Everything that depends on more than one key, or on the crawler type."""
        values = self.values
        for name, spec in SOURCE_KEYS.items():
            if spec.required and name not in values and name not in self.wrong:
                self.add(self.line, f"missing required key {name!r} ({spec.help})", name)
        if values.get("concurrency", 1) < 1:
            self.add(self.line_of("concurrency"), "concurrency must be at least 1",
                     "concurrency")
        if values.get("timeout", 1) <= 0:
            self.add(self.line_of("timeout"), "timeout must be positive", "timeout")
        if values.get("delay", 0) < 0 or values.get("retries", 0) < 0:
            self.add(self.line, "delay and retries cannot be negative")
        if values.get("health") is not None:
            try:
                parse_rules(values["health"])
            except SourceConfigError as exc:
                self.add(self.line_of("health"), str(exc), "health")
        if "connector" not in values:
            return
        crawler_type = registry.find(values["connector"])
        if crawler_type is None:
            self.add(self.line_of("connector"),
                     f"key 'connector': {registry.unknown(values['connector'])}", "connector")
            return
        auth = values.get("auth") or {}
        if crawler_type.engine == "spider" and auth.get("type") == "query":
            # the token would be in every page URL the crawl stores and every link it builds
            self.add(self.line_of("auth"), f"auth type 'query' cannot be honoured by a spider "
                     f"({crawler_type.name!r}): its token would be in every page URL; use "
                     "bearer or header", "auth")
        self._check_options(crawler_type.options, crawler_type.name)
        self._check_extract(crawler_type.compile_extract(), [t.name for t in registry
                                                           if t.declarative])

    def _check_options(self, keys: Mapping[str, Key], connector: str) -> None:
        options = self.values.get("options")
        if not options:
            return
        where = self._where("options")
        if not keys:
            where.add((), f"connector {connector!r} takes no options")
            return
        where.mapping((), options, keys)

    def _check_extract(self, compile_extract: Callable[[Where, Any], Any] | None,
                       declarative: list[str]) -> None:
        connector = self.values["connector"]
        extract = self.values.get("extract")
        if compile_extract is None:
            if extract is not None:
                self.add(self.line_of("extract"), f"extract: 'extract' is only for declarative "
                         f"connectors ({', '.join(declarative)}); {connector!r} is built in",
                         "extract")
            return
        if extract is None:
            self.add(self.line, f"connector {connector!r} needs an 'extract' block (what to "
                     "fetch and how to read it)", "extract")
            return
        try:
            compile_extract(self._where("extract"), extract)
        except RecordedProblem:
            pass

    def _where(self, name: str) -> Where:
        lines = node_lines(self.nodes[name]) if name in self.nodes else {}
        lines[()] = self.line_of(name)
        return Where(self.problems, self.source, lines, self.line_of(name), root=name)

    def config(self) -> SourceConfig:
        values = dict(self.values)
        for name in ("delay", "timeout"):
            if name in values:
                values[name] = float(values[name])
        values["options"] = values.get("options") or {}
        if "max_body" in values:
            values["max_body"] = parse_size(values["max_body"])
        values["allowed_hosts"] = tuple(values.get("allowed_hosts") or ())
        return SourceConfig(key=self.source, line=self.line, **values)
