"""Territories: where an instance's shops are, read from ``config/territories.yaml``.

A territory is a key (``toulouse``), a display name, where it lies (departments,
postcodes, a bounding box: at least one), the sources that serve it, and the texts
the web pages show for it. A shop is in the territory of its address
(``Territories.of``): its postcode when one is written (a listed postcode, else
its department), else its coordinates (the box). The file is validated on load,
every problem collected and named by file, line, territory and key, then one
``TerritoryConfigError`` lists them all.

Example:
    >>> terr = parse_territories('''
    ... territories:
    ...   nancy:
    ...     name: Grand Nancy
    ...     postcodes: ["54000", "54500"]
    ...     bbox: [6.05, 48.6, 6.3, 48.75]
    ...     sources: [achetezgrandnancy]
    ... ''')
    >>> terr.of("54500", None, None), terr.of(None, 48.69, 6.18), terr.of("31000", 43.6, 1.4)
    ('nancy', 'nancy', None)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from normalizer.addresses import department_of
from normalizer.geo import Territory

__all__ = ["DEFAULT_TERRITORIES_FILE", "TEXT_KEYS", "TerritoryConfig", "TerritoryConfigError",
           "TerritoryProblem", "Territories", "listings_in", "load_territories",
           "parse_territories", "territory_of"]

DEFAULT_TERRITORIES_FILE = Path("config") / "territories.yaml"
_KEY = re.compile(r"[a-z][a-z0-9_]{0,40}")
_POSTCODE = re.compile(r"\d{5}")
_DEPARTMENT = re.compile(r"(\d{2}|2[AB]|97\d)")
MAX_TEXT = 300

#: What the web pages show for a territory (``texts:``), each with its help.
TEXT_KEYS: dict[str, str] = {
    "title": "the pages' <title> suffix (\"Agora, les commerces de Toulouse\")",
    "tagline": "beside the brand (\"commerces de Toulouse\")",
    "landing": "the search page's heading",
    "description": "the pages' meta description and the API's",
    "place_examples": "the place field's placeholder (\"ex. Labège, 31520, …\")",
}
_ENTRY_KEYS = {
    "name": "the display name (required)",
    "departments": "departments whose postcodes are in (\"31\", \"2A\", \"974\")",
    "postcodes": "postcodes that are in (\"54000\")",
    "bbox": "[minLon, minLat, maxLon, maxLat]: coordinates that are in (address "
            "without a postcode), and the coordinates a listing may have",
    "sources": "keys of config/sources.yaml that serve it (required)",
    "texts": "the web pages' texts: " + ", ".join(TEXT_KEYS),
}

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class TerritoryProblem:
    """One thing wrong in a territories file: where, and what."""

    file: str | None
    line: int
    territory: str | None
    key: str | None
    message: str

    def __str__(self) -> str:
        head = f"{self.file}:{self.line}: " if self.file else f"line {self.line}: "
        where = f"territory {self.territory!r}: " if self.territory else ""
        return f"{head}{where}{self.message}"


class TerritoryConfigError(ValueError):
    """The territories file (or the choice of territories) is wrong; ``problems`` lists
    every problem found."""

    def __init__(self, message: str, problems: tuple[TerritoryProblem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class TerritoryConfig:
    """One territory: where it lies, who serves it, what its pages say."""

    key: str
    name: str
    departments: tuple[str, ...] = ()
    postcodes: tuple[str, ...] = ()
    bbox: Box | None = None
    sources: tuple[str, ...] = ()
    texts: Mapping[str, str] = field(default_factory=dict)
    where: str = ""  # "file:line" of the entry's ``sources``, for later cross-checks

    def holds_postcode(self, postcode: str) -> bool:
        return postcode in self.postcodes or department_of(postcode) in self.departments

    def holds_point(self, lat: float, lon: float) -> bool:
        if self.bbox is None:
            return False
        min_lon, min_lat, max_lon, max_lat = self.bbox
        return min_lat <= lat <= max_lat and min_lon <= lon <= max_lon

    def text(self, key: str) -> str:
        """A text of the pages; the display name where the file gives none."""
        return self.texts.get(key) or self.name


class Territories:
    """The territories of a file (or the ones an instance serves), in the file's order."""

    def __init__(self, entries: Iterable[TerritoryConfig]) -> None:
        self.entries: dict[str, TerritoryConfig] = {t.key: t for t in entries}

    def __iter__(self) -> Iterator[TerritoryConfig]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __getitem__(self, key: str) -> TerritoryConfig:
        return self.entries[key]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.entries)

    def all_of(self, postcode: str | None, lat: float | None, lon: float | None
               ) -> tuple[str, ...]:
        """Every territory the address is in: by postcode when one is written, else by
        coordinates."""
        code = str(postcode or "").strip()
        if _POSTCODE.fullmatch(code):
            return tuple(t.key for t in self if t.holds_postcode(code))
        if lat is None or lon is None:
            return ()
        try:
            la, lo = float(lat), float(lon)
        except (TypeError, ValueError):
            return ()
        return tuple(t.key for t in self if t.holds_point(la, lo))

    def of(self, postcode: str | None, lat: float | None, lon: float | None) -> str | None:
        """The territory of an address (the first in the file's order), or None."""
        found = self.all_of(postcode, lat, lon)
        return found[0] if found else None

    def select(self, keys: Iterable[str]) -> Territories:
        """The territories named, in the file's order; unknown keys are an error."""
        wanted = list(dict.fromkeys(keys))
        unknown = [k for k in wanted if k not in self.entries]
        if unknown:
            raise TerritoryConfigError(f"unknown territory {unknown[0]!r} (known: "
                                       f"{', '.join(self.keys)})")
        return Territories(t for t in self if t.key in wanted)

    def area(self, region: str = "FR", currency: str = "EUR") -> Territory:
        """Where the listings' coordinates may lie: the territories' boxes (anywhere when
        one territory has no box)."""
        boxes = tuple(t.bbox for t in self if t.bbox is not None)
        if not boxes or len(boxes) < len(self):
            return Territory(bbox=(-180.0, -90.0, 180.0, 90.0), region=region,
                             currency=currency, name="anywhere")
        union = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                 max(b[2] for b in boxes), max(b[3] for b in boxes))
        return Territory(bbox=union, region=region, currency=currency,
                         name=", ".join(t.name for t in self), boxes=boxes)


def listings_in(read: Callable[[], Iterable[Mapping[str, Any]]], territories: Territories,
                key: str) -> Iterator[Mapping[str, Any]]:
    """The raw listings of one territory: a shop by its address, a product by its shop's
    (same source). ``read`` gives the listings afresh: they are read twice, shops first.

    Example:
        >>> terr = parse_territories('territories: {n: {name: N, postcodes: ["54000"], '
        ...                          'sources: [a]}}')
        >>> rows = [{"kind": "shop", "source": "a", "source_id": "1", "postcode": "54000"},
        ...         {"kind": "product", "source": "a", "source_id": "p",
        ...          "shop_source_id": "1"},
        ...         {"kind": "shop", "source": "a", "source_id": "2", "postcode": "31000"}]
        >>> [x["source_id"] for x in listings_in(lambda: rows, terr, "n")]
        ['1', 'p']
    """
    shops = {(x.get("source"), x.get("source_id")) for x in read()
             if x.get("kind") == "shop"
             and key in territories.all_of(x.get("postcode"), x.get("lat"), x.get("lon"))}
    for x in read():
        owner = (x.get("source"), x.get("source_id") if x.get("kind") == "shop"
                 else x.get("shop_source_id"))
        if owner in shops:
            yield x


def territory_of(territories: Territories, postcode: str | None, lat: float | None,
                 lon: float | None) -> str | None:
    """The key of the territory an address is in (see ``Territories.of``)."""
    return territories.of(postcode, lat, lon)


def load_territories(path: str | Path | None = None) -> Territories:
    """Read and validate a territories file (default: config/territories.yaml)."""
    path = Path(path or DEFAULT_TERRITORIES_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TerritoryConfigError(f"{path}: cannot read the territories file: {exc}") from exc
    return parse_territories(text, str(path))


class _Problems:
    def __init__(self, filename: str | None) -> None:
        self.filename = filename
        self.items: list[TerritoryProblem] = []

    def add(self, node: yaml.Node, territory: str | None, key: str | None,
            message: str) -> None:
        where = f"{key}: " if key else ""
        self.items.append(TerritoryProblem(self.filename, node.start_mark.line + 1, territory,
                                           key, where + message))

    def raise_if_any(self) -> None:
        if self.items:
            items = sorted(self.items, key=lambda p: p.line)
            raise TerritoryConfigError(
                f"{len(items)} problem(s) in the territories file:\n"
                + "\n".join(f"  {p}" for p in items), tuple(items))


def parse_territories(text: str, filename: str | None = None) -> Territories:
    """Validate the text of a territories file; one error lists every problem found."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise TerritoryConfigError(f"{filename}: not valid YAML: {exc}") from exc
    problems = _Problems(filename)
    if not isinstance(root, yaml.MappingNode):
        raise TerritoryConfigError(f"{filename}: the top level must be a mapping with a "
                                   "'territories' key")
    body: yaml.Node | None = None
    for key_node, value_node in root.value:
        if key_node.value != "territories":
            problems.add(key_node, None, key_node.value,
                         "unknown top-level key (expected 'territories')")
        else:
            body = value_node
    if not isinstance(body, yaml.MappingNode) or not body.value:
        problems.add(body or root, None, "territories", "must be a mapping of territory entries")
        problems.raise_if_any()
    assert isinstance(body, yaml.MappingNode)
    entries: list[TerritoryConfig] = []
    seen: set[str] = set()
    for key_node, entry_node in body.value:
        key = str(key_node.value)
        if not _KEY.fullmatch(key):
            problems.add(key_node, key, None, "a territory key is lowercase letters, digits "
                         "and underscores")
            continue
        if key in seen:
            problems.add(key_node, key, None, "defined twice")
            continue
        seen.add(key)
        entry = _entry(problems, key, key_node, entry_node)
        if entry is not None:
            entries.append(entry)
    problems.raise_if_any()
    return Territories(entries)


def _entry(problems: _Problems, key: str, key_node: yaml.Node, node: yaml.Node
           ) -> TerritoryConfig | None:
    before = len(problems.items)
    if not isinstance(node, yaml.MappingNode):
        problems.add(key_node, key, None, "must be a mapping")
        return None
    values: dict[str, Any] = {}
    nodes: dict[str, yaml.Node] = {}
    for k_node, v_node in node.value:
        name = str(k_node.value)
        if name not in _ENTRY_KEYS:
            problems.add(k_node, key, name, f"unknown key (known: {', '.join(_ENTRY_KEYS)})")
            continue
        nodes[name] = v_node
        values[name] = yaml.safe_load(yaml.serialize(v_node))
    for required in ("name", "sources"):
        if required not in values:
            problems.add(key_node, key, required, "is required")
    if not any(k in values for k in ("departments", "postcodes", "bbox")):
        problems.add(key_node, key, "departments",
                     "a territory needs departments, postcodes or a bbox")

    def strings(name: str, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        raw = values.get(name, [])
        if not isinstance(raw, list) or not all(isinstance(v, str | int) and
                                                not isinstance(v, bool) for v in raw):
            problems.add(nodes[name], key, name, "must be a list of text values")
            return ()
        out = tuple(str(v).strip() for v in raw)
        for i, v in enumerate(out):
            if pattern is not None and not pattern.fullmatch(v):
                problems.add(_item(nodes[name], i), key, f"{name}[{i}]",
                             f"{v!r} is not a valid value")
        return out

    display = values.get("name")
    if "name" in values and (not isinstance(display, str) or not display.strip()):
        problems.add(nodes["name"], key, "name", "must be text")
    departments = strings("departments", _DEPARTMENT)
    postcodes = strings("postcodes", _POSTCODE)
    sources = strings("sources", _KEY)
    if "sources" in values and not values["sources"] and isinstance(values["sources"], list):
        problems.add(nodes["sources"], key, "sources", "must name at least one source")
    bbox = _box(problems, key, nodes.get("bbox"), values.get("bbox"))
    texts: dict[str, str] = {}
    if "texts" in values:
        raw_texts = values["texts"]
        if not isinstance(raw_texts, dict):
            problems.add(nodes["texts"], key, "texts", "must be a mapping")
        else:
            lines = {str(k.value): k for k, _ in nodes["texts"].value}
            for text_key, text in raw_texts.items():
                if text_key not in TEXT_KEYS:
                    problems.add(lines[str(text_key)], key, f"texts.{text_key}",
                                 f"unknown key (known: {', '.join(TEXT_KEYS)})")
                elif not isinstance(text, str) or not 0 < len(text.strip()) <= MAX_TEXT:
                    problems.add(lines[str(text_key)], key, f"texts.{text_key}",
                                 f"must be text of 1 to {MAX_TEXT} characters")
                else:
                    texts[text_key] = text.strip()
    if len(problems.items) > before:
        return None
    line = (nodes["sources"] if "sources" in nodes else key_node).start_mark.line + 1
    return TerritoryConfig(key, str(display).strip(), departments, postcodes, bbox, sources, texts,
                           f"{problems.filename or 'territories'}:{line}")


def _item(node: yaml.Node, index: int) -> yaml.Node:
    if isinstance(node, yaml.SequenceNode) and index < len(node.value):
        return node.value[index]
    return node


def _box(problems: _Problems, key: str, node: yaml.Node | None, value: Any) -> Box | None:
    if node is None:
        return None
    if not (isinstance(value, list) and len(value) == 4 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        problems.add(node, key, "bbox", "must be four numbers [minLon, minLat, maxLon, maxLat]")
        return None
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in value)
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        problems.add(node, key, "bbox", "must have min < max on both axes, within the globe")
        return None
    return (min_lon, min_lat, max_lon, max_lat)
