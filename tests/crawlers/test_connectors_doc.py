"""docs/connectors.md says what the loader does: every key it documents is accepted, every
accepted key is documented, and every example it shows loads.

The accepted keys are read from the schema the loader validates with (the entry's
keys, ``auth``, ``schedule``, ``health``, each crawler type's ``options`` in the
registry, the blocks of ``crawlers.declarative.schema``), never from a copy.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawlers import registry
from crawlers.config import AUTH_KEYS, SCHEDULE_KEYS, SOURCE_KEYS, parse_sources
from crawlers.declarative.schema import BLOCKS
from crawlers.errors import ErrorKind
from crawlers.health import HEALTH_KEYS

DOC = Path(__file__).resolve().parents[2] / "docs" / "connectors.md"
MARKER = re.compile(r"^<!-- keys: ([\w.]+) -->$")
ROW_KEY = re.compile(r"^\|\s*`([^`]+)`")


def documented() -> dict[str, set[str]]:
    """The keys of each table of the page, by the name of its ``<!-- keys: -->`` marker."""
    tables: dict[str, set[str]] = {}
    current: str | None = None
    body = False  # past the table's header
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if match := MARKER.match(line.strip()):
            current, body = match.group(1), False
            assert current not in tables, f"two tables for {current}"
            tables[current] = set()
        elif current is not None and line.startswith("| ---"):
            body = True
        elif current is not None and body and line.startswith("|"):
            if key := ROW_KEY.match(line):
                tables[current].add(key.group(1))
        elif current is not None and body:
            current = None  # the table ended
    return tables


def accepted() -> dict[str, set[str]]:
    """The keys the loader accepts, block by block."""
    blocks = {"source": set(SOURCE_KEYS), "auth": set(AUTH_KEYS),
              "schedule": set(SCHEDULE_KEYS), "health": set(HEALTH_KEYS)}
    for crawler_type in registry.default_registry():
        if crawler_type.options:
            blocks[f"options.{crawler_type.name}"] = set(crawler_type.options)
    blocks.update({name: set(keys) for name, keys in BLOCKS.items()})
    kinds = {v for k, v in vars(ErrorKind).items() if k.isupper()}
    blocks["error_kinds"] = kinds | {ErrorKind.http(0).replace("0", "NNN")}
    return blocks


def test_every_documented_key_is_accepted_and_every_accepted_key_documented() -> None:
    docs, schema = documented(), accepted()
    assert set(docs) == set(schema), "a block documented but not in the schema, or the reverse"
    for block, keys in schema.items():
        assert docs[block] == keys, (f"{block}: documented but not accepted "
                                     f"{sorted(docs[block] - keys)}, accepted but not "
                                     f"documented {sorted(keys - docs[block])}")


def test_every_crawler_type_is_named_on_the_page() -> None:
    text = DOC.read_text(encoding="utf-8")
    for crawler_type in registry.default_registry():
        assert f"`{crawler_type.name}`" in text, crawler_type.name
        if crawler_type.declarative:
            assert f"### `{crawler_type.name}`" in text


EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_shows_an_example_of_each_declarative_type() -> None:
    connectors = {line.split(":", 1)[1].strip() for example in EXAMPLES
                  for line in example.splitlines() if line.strip().startswith("connector:")}
    assert {t.name for t in registry.default_registry() if t.declarative} <= connectors


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.split("\n")[1].strip(" :"))
def test_every_example_loads(example: str) -> None:
    sources = parse_sources(example, "docs/connectors.md")
    for config in sources.values():
        assert registry.resolve(config).name == config.connector
