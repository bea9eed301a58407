"""Small, pure value transforms for declarative connectors (``transform:`` in sources.yaml).

A field's extracted value goes through its transforms in order. Each transform
is written either as a bare name (``strip``) or as a one-key mapping with its
argument (``{join: "; "}``). Text transforms apply to every item of a list;
``None`` passes through untouched (a missing value stays missing). Transforms
are compiled once when the sources file is loaded, so an unknown name or a bad
argument (a regex that does not compile) is a configuration error, not a crash
in the middle of a crawl.

=====================  =============================================================
transform              what it does
=====================  =============================================================
``strip``              trim and collapse whitespace
``lower`` / ``upper``  change case
``prefix: TEXT``       ``TEXT + value`` (numbers are written as text first)
``suffix: TEXT``       ``value + TEXT``
``replace: [OLD, NEW]``  replace every OLD by NEW
``regex: PATTERN``     the first group (or the whole match) of the first match; None
                       when nothing matches. ``{pattern, group}`` picks a group;
                       ``{pattern, replace}`` substitutes instead (``\\1`` allowed)
``split: SEP``         text -> list of the non-empty trimmed parts; ``{sep, index}``
                       keeps one part (negative indexes count from the end)
``join: SEP``          list -> text, empty items skipped; None when nothing is left
``first`` / ``last``   the first / last non-empty item of a list
``compact``            drop empty items (None, "", false, []) from a list
``default: VALUE``     VALUE when the value is empty
``attr: KEY``          the KEY of an object (``{"name": "X"}`` -> "X"); other values kept
``map: {FROM: TO}``    a lookup table; values not in it are kept as they are
``cents_to_decimal``   integer cents -> "12.90"; anything else -> None
``number``             "12,5" -> 12.5; None when it is not a number
``absolute``           a link resolved against the page (or API) URL
=====================  =============================================================

Example:
    >>> t = compile_transforms(["strip", {"split": "|"}, {"join": ", "}])
    >>> apply_transforms(t, "  Retrait |  Livraison ")
    'Retrait, Livraison'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from crawlers.errors import TransformError

__all__ = ["TRANSFORMS", "Transform", "TransformError", "apply_transforms",
           "compile_transforms", "is_empty"]


@dataclass(frozen=True)
class Transform:
    """One compiled transform: its name, its argument, and the function to apply."""

    name: str
    arg: Any
    fn: Callable[[Any, str | None], Any]

    def __call__(self, value: Any, base_url: str | None = None) -> Any:
        return self.fn(value, base_url)


def is_empty(value: Any) -> bool:
    """None, blank text, or an empty list."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _each(fn: Callable[[str], Any]) -> Callable[[Any, str | None], Any]:
    """Apply a text function to a value or to every item of a list (None stays None)."""
    def run(value: Any, base_url: str | None) -> Any:
        if isinstance(value, list):
            return [None if v is None else fn(_text(v) or "") for v in value]
        text = _text(value)
        return None if text is None else fn(text)
    return run


_SPACES = re.compile(r"\s+")


def _strip(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


# ---------------------------------------------------------------------- builders
def _no_arg(name: str, fn: Callable[[Any, str | None], Any]) -> Callable[[Any], Transform]:
    def build(arg: Any) -> Transform:
        if arg is not None:
            raise TransformError(f"{name} takes no argument")
        return Transform(name, None, fn)
    return build


def _text_arg(name: str, arg: Any) -> str:
    if isinstance(arg, bool) or not isinstance(arg, str | int | float):
        raise TransformError(f"{name} needs a text argument, got {arg!r}")
    return str(arg)


def _prefix(arg: Any) -> Transform:
    text = _text_arg("prefix", arg)
    return Transform("prefix", text, _each(lambda v: text + v))


def _suffix(arg: Any) -> Transform:
    text = _text_arg("suffix", arg)
    return Transform("suffix", text, _each(lambda v: v + text))


def _replace(arg: Any) -> Transform:
    if not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg)):
        raise TransformError(f"replace needs [OLD, NEW], got {arg!r}")
    old, new = arg
    if not old:
        raise TransformError("replace: OLD cannot be empty")
    return Transform("replace", arg, _each(lambda v: v.replace(old, new)))


def _regex(arg: Any) -> Transform:
    if isinstance(arg, str):
        arg = {"pattern": arg}
    if not isinstance(arg, dict) or not isinstance(arg.get("pattern"), str):
        raise TransformError(f"regex needs a pattern (text, or {{pattern, group | replace}}), "
                             f"got {arg!r}")
    unknown = set(arg) - {"pattern", "group", "replace"}
    if unknown:
        raise TransformError(f"regex: unknown key(s) {sorted(unknown)} (known: group, pattern, "
                             "replace)")
    try:
        pattern = re.compile(arg["pattern"])
    except re.error as exc:
        raise TransformError(f"regex {arg['pattern']!r} does not compile: {exc}") from exc
    if "replace" in arg:
        if not isinstance(arg["replace"], str) or "group" in arg:
            raise TransformError("regex: replace must be text, and not given with group")
        repl = arg["replace"]
        try:
            pattern.sub(repl, "")
        except (re.error, IndexError) as exc:
            raise TransformError(f"regex replacement {repl!r} is invalid: {exc}") from exc
        return Transform("regex", arg, _each(lambda v: pattern.sub(repl, v)))
    group = arg.get("group", 1 if pattern.groups else 0)
    if isinstance(group, bool) or not isinstance(group, int | str):
        raise TransformError(f"regex group must be a number or a name, got {group!r}")
    if isinstance(group, int) and not 0 <= group <= pattern.groups:
        raise TransformError(f"regex {arg['pattern']!r} has no group {group}")
    if isinstance(group, str) and group not in pattern.groupindex:
        raise TransformError(f"regex {arg['pattern']!r} has no group named {group!r}")

    def search(text: str) -> str | None:
        match = pattern.search(text)
        return match.group(group) if match else None
    return Transform("regex", arg, _each(search))


def _split(arg: Any) -> Transform:
    index = None
    if isinstance(arg, dict):
        unknown = set(arg) - {"sep", "index"}
        if unknown or "sep" not in arg:
            raise TransformError(f"split needs {{sep, index}}, got {arg!r}")
        index = arg.get("index")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            raise TransformError(f"split index must be an integer, got {index!r}")
        arg = arg["sep"]
    if not isinstance(arg, str) or not arg:
        raise TransformError(f"split needs a non-empty separator, got {arg!r}")
    sep = arg

    def parts(text: str) -> list[str]:
        return [p for p in (_strip(s) for s in text.split(sep)) if p]

    def run(value: Any, base_url: str | None) -> Any:
        if value is None:
            return None
        items = value if isinstance(value, list) else [value]
        out = [p for v in items if v is not None for p in parts(_text(v) or "")]
        if index is None:
            return out
        try:
            return out[index]
        except IndexError:
            return None
    return Transform("split", {"sep": sep, "index": index}, run)


def _join(arg: Any) -> Transform:
    sep = _text_arg("join", arg)

    def run(value: Any, base_url: str | None) -> Any:
        if not isinstance(value, list):
            return value
        parts = [t for t in (_text(v) for v in value) if t is not None and t.strip()]
        return sep.join(parts) if parts else None
    return Transform("join", sep, run)


def _first(value: Any, base_url: str | None) -> Any:
    if not isinstance(value, list):
        return value
    return next((v for v in value if not is_empty(v)), None)


def _last(value: Any, base_url: str | None) -> Any:
    if not isinstance(value, list):
        return value
    return next((v for v in reversed(value) if not is_empty(v)), None)


def _compact(value: Any, base_url: str | None) -> Any:
    if not isinstance(value, list):
        return value
    return [v for v in value if not is_empty(v) and v is not False]


def _default(arg: Any) -> Transform:
    if isinstance(arg, dict):
        raise TransformError(f"default needs a plain value, got {arg!r}")
    return Transform("default", arg, lambda v, _: arg if is_empty(v) else v)


def _attr(arg: Any) -> Transform:
    key = _text_arg("attr", arg)

    def pick(value: Any) -> Any:
        return value.get(key) if isinstance(value, dict) else value

    def run(value: Any, base_url: str | None) -> Any:
        return [pick(v) for v in value] if isinstance(value, list) else pick(value)
    return Transform("attr", key, run)


def _map(arg: Any) -> Transform:
    if not isinstance(arg, dict) or not arg:
        raise TransformError(f"map needs a mapping of values, got {arg!r}")
    table = {str(k): v for k, v in arg.items()}

    def look(value: Any) -> Any:
        text = _text(value)
        return table.get(text, value) if text is not None else value

    def run(value: Any, base_url: str | None) -> Any:
        return [look(v) for v in value] if isinstance(value, list) else look(value)
    return Transform("map", table, run)


def cents_to_decimal(value: Any) -> str | None:
    """Integer cents as a decimal text: 1290 -> '12.90'; None when it is not cents.

    >>> cents_to_decimal(1290), cents_to_decimal("5"), cents_to_decimal("sur devis")
    ('12.90', '0.05', None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value < 0:
        return None
    return f"{value // 100}.{value % 100:02d}"


def _cents(value: Any, base_url: str | None) -> Any:
    if isinstance(value, list):
        return [cents_to_decimal(v) for v in value]
    return None if value is None else cents_to_decimal(value)


def _to_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value).strip().replace("\u202f", "").replace(" ", "")
                           .replace(",", "."))
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def _number(value: Any, base_url: str | None) -> Any:
    return [_to_number(v) for v in value] if isinstance(value, list) else _to_number(value)


def _absolute(value: Any, base_url: str | None) -> Any:
    def resolve(v: Any) -> Any:
        text = _text(v)
        if text is None or not text.strip() or base_url is None:
            return v
        return urljoin(base_url, text.strip())
    return [resolve(v) for v in value] if isinstance(value, list) else resolve(value)


TRANSFORMS: dict[str, Callable[[Any], Transform]] = {
    "strip": _no_arg("strip", _each(_strip)),
    "lower": _no_arg("lower", _each(str.lower)),
    "upper": _no_arg("upper", _each(str.upper)),
    "prefix": _prefix,
    "suffix": _suffix,
    "replace": _replace,
    "regex": _regex,
    "split": _split,
    "join": _join,
    "first": _no_arg("first", _first),
    "last": _no_arg("last", _last),
    "compact": _no_arg("compact", _compact),
    "default": _default,
    "attr": _attr,
    "map": _map,
    "cents_to_decimal": _no_arg("cents_to_decimal", _cents),
    "number": _no_arg("number", _number),
    "absolute": _no_arg("absolute", _absolute),
}
_NEEDS_ARG = {"prefix", "suffix", "replace", "regex", "split", "join", "default", "attr", "map"}


def compile_transforms(spec: Any) -> list[Transform]:
    """Compile a ``transform:`` list (or a single transform); TransformError when wrong."""
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    out = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            name, arg, has_arg = item, None, False
        elif isinstance(item, dict) and len(item) == 1:
            name, arg = next(iter(item.items()))
            has_arg = True
        else:
            raise TransformError(f"a transform is a name or a one-key mapping {{name: argument}},"
                                 f" got {item!r}", index)
        builder = TRANSFORMS.get(name)
        if builder is None:
            raise TransformError(f"unknown transform {name!r} (known: "
                                 f"{', '.join(sorted(TRANSFORMS))})", index)
        if name in _NEEDS_ARG and not has_arg:
            raise TransformError(f"{name} needs an argument: {{{name}: ...}}", index)
        if name not in _NEEDS_ARG and has_arg and arg is not None:
            raise TransformError(f"{name} takes no argument (write it as a bare name)", index)
        try:
            out.append(builder(arg))
        except TransformError as exc:
            raise TransformError(str(exc), index) from None
    return out


def apply_transforms(transforms: list[Transform], value: Any, base_url: str | None = None
                     ) -> Any:
    """Run the value through the transforms in order."""
    for transform in transforms:
        value = transform(value, base_url)
    return value
