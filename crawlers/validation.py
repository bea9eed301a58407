"""Checking a sources file the way Splink checks its settings: every problem, then one error.

A ``Key`` says what a key accepts (types, a line of help, required or not, an
extra check). ``Problems`` collects what is wrong, each with its file, line,
source and key, and raises one ``SourceConfigError`` listing them all; ``Where``
does the same for a path inside one source's block (``extract.pages.list
.items[0].fields.titel``), finding each path's line in the YAML.

Example:
    >>> problems = Problems("sources.yaml")
    >>> where = Where(problems, "demo", {("pages",): 7}, line=5)
    >>> where.mapping(("pages",), {"lst": 1}, {"list": Key((dict,))})
    {}
    >>> print(problems.items[0])
    sources.yaml:7: source 'demo': extract.pages.lst: unknown key 'lst' (known: list)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml

from crawlers.errors import ConfigProblem, SourceConfigError

Path = tuple[str | int, ...]

_TYPE_NAMES = {bool: "true/false", int: "an integer", float: "a number", str: "text",
               dict: "a mapping", list: "a list"}


@dataclass(frozen=True)
class Key:
    """A key a block accepts: its types, a line of help, and an extra ``check``.

    ``check`` raises ``ValueError`` with the reason when a value of the right
    type is still wrong (a negative count, a box with min > max).
    """

    types: tuple[type, ...]
    help: str = ""
    required: bool = False
    check: Callable[[Any], object] | None = None


def at_least(low: float) -> Callable[[Any], None]:
    """A ``Key.check``: the number is at least ``low``."""
    def check(value: Any) -> None:
        if value < low:
            raise ValueError(f"must be at least {low:g}, got {value!r}")
    return check


def between(low: float, high: float) -> Callable[[Any], None]:
    """A ``Key.check``: the number is within [low, high]."""
    def check(value: Any) -> None:
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}, got {value!r}")
    return check


def type_name(types: tuple[type, ...]) -> str:
    """'an integer or a number', for a message."""
    return " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)


def has_type(value: Any, types: tuple[type, ...]) -> bool:
    """isinstance, except that true/false is never a number."""
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def node_lines(node: yaml.Node, path: Path = ()) -> dict[Path, int]:
    """Line (1-based) of every key and item under a composed YAML node."""
    lines: dict[Path, int] = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            sub = (*path, key_node.value)
            lines.update(node_lines(value_node, sub))
            lines[sub] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(node_lines(item, (*path, i)))
    return lines


class Problems:
    """Every problem of a sources file, in the order found."""

    def __init__(self, filename: str | None = None) -> None:
        self.filename = filename
        self.items: list[ConfigProblem] = []

    def add(self, line: int, source: str | None, message: str, *, key: str | None = None
            ) -> ConfigProblem:
        problem = ConfigProblem(self.filename, line, source, key, message)
        self.items.append(problem)
        return problem

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self) -> None:
        """One SourceConfigError listing every problem (by line), if there is one."""
        if self.items:  # in the file's order
            raise SourceConfigError.listing(sorted(self.items, key=lambda p: p.line))


class RecordedProblem(SourceConfigError):
    """Stops reading a part of a block whose problem is already recorded in ``Problems``."""


class Where:
    """Paths inside one source's block, turned into problems naming the line and the key."""

    def __init__(self, problems: Problems, source: str, lines: Mapping[Path, int] | None = None,
                 line: int = 0, root: str = "extract") -> None:
        self.problems, self.source = problems, source
        self.lines, self.line, self.root = dict(lines or {}), line, root

    def line_of(self, path: Path) -> int:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return self.line

    def key(self, path: Path) -> str:
        return self.root + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)

    def add(self, path: Path, message: str) -> None:
        """Record a problem at ``path`` and go on."""
        key = self.key(path)
        self.problems.add(self.line_of(path), self.source, f"{key}: {message}", key=key)

    def error(self, path: Path, message: str) -> RecordedProblem:
        """Record a problem at ``path``; raise the result to stop reading that part."""
        self.add(path, message)
        return RecordedProblem(message, source=self.source)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Go on with the next part when this one stops on a recorded problem."""
        try:
            yield
        except RecordedProblem:
            pass

    def mapping(self, path: Path, value: Any, keys: Mapping[str, Key]) -> dict[str, Any]:
        """The keys of ``value`` that are right; every wrong one recorded.

        An unknown key, a wrong type or a failed check is recorded and the key
        left out (its default then applies); a missing or wrong required key
        stops this part, as nothing sensible can be built without it.
        """
        if not isinstance(value, dict):
            raise self.error(path, f"must be a mapping, got {value!r}")
        out: dict[str, Any] = {}
        stop = False
        for name, item in value.items():
            spec = keys.get(name)
            if spec is None:
                self.add((*path, name), f"unknown key {name!r} (known: "
                         f"{', '.join(sorted(keys))})")
                continue
            if not has_type(item, spec.types):
                self.add((*path, name), f"must be {type_name(spec.types)}, got {item!r}")
                stop = stop or spec.required
                continue
            if spec.check is not None:
                try:
                    spec.check(item)
                except ValueError as exc:
                    self.add((*path, name), str(exc))
                    stop = stop or spec.required
                    continue
            out[name] = item
        for name, spec in keys.items():
            if spec.required and name not in value:
                self.add(path, f"missing required key {name!r}")
                stop = True
        if stop:
            raise RecordedProblem("required keys are missing or wrong", source=self.source)
        return out
