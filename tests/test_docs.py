"""The documentation runs: the README's ``agora`` commands exist, and the docstrings'
examples give what they say.

- Every ``agora ...`` command the README names (in code blocks and inline code)
  resolves to a command of the CLI, whose ``--help`` runs; alternatives written
  ``list | check | test NAME`` are each resolved in the same group. The safe ones
  (they read the sources file, or print settings) run as written.
- Every module of the packages with ``>>>`` examples passes ``doctest``.
"""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from agora.cli import main
from tests.conftest import ROOT, SOURCES_FILE

PACKAGES = ("agora", "catalog", "crawlers", "dedup", "normalizer", "search_ui", "replicas")
README = ROOT / "README.md"


def readme_commands() -> list[str]:
    """Each ``agora ...`` command line of the README, as written (comments cut)."""
    text = README.read_text(encoding="utf-8")
    found = re.findall(r"`(agora [^`\n]+)`", text)
    in_block = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = not in_block
        elif in_block and line.startswith("agora "):
            found.append(line.split("  #", 1)[0].strip())
    return list(dict.fromkeys(found))


def resolve(words: list[str], group: click.Group) -> tuple[list[str], click.Command | None]:
    """The longest command path ``words`` starts with, and its command."""
    path: list[str] = []
    command: click.Command | None = None
    current: click.Command = group
    ctx = click.Context(main)
    for word in words:
        if not isinstance(current, click.Group):
            break
        sub = current.get_command(ctx, word)
        if sub is None:
            break
        path.append(word)
        command = current = sub
    return path, command


def command_paths() -> list[tuple[str, ...]]:
    """Every command path the README names (alternatives after ``|`` included)."""
    paths: set[tuple[str, ...]] = set()
    for line in readme_commands():
        first, *others = [part.split() for part in re.split(r"\s*\|\s*", line)]
        path, command = resolve(first[1:], main)
        assert command is not None, f"README names an unknown command: {line!r}"
        paths.add(tuple(path))
        parent = path[:-1]
        for alternative in others:  # `sources list | check`; a shell pipe resolves to none
            parent_command = resolve(parent, main)[1] if parent else main
            if alternative and isinstance(parent_command, click.Group):
                more, found = resolve(alternative, parent_command)
                if found is not None:
                    paths.add((*parent, *more))
    return sorted(paths)


def test_the_readme_names_commands() -> None:
    paths = command_paths()
    assert ("crawl",) in paths and ("sources", "check") in paths
    assert ("review", "merge") in paths or ("review",) in paths
    assert len(paths) >= 20


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_readme_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="agora")
    assert result.exit_code == 0, result.output
    assert f"Usage: agora {' '.join(path)}" in result.stdout


@pytest.mark.parametrize("args", [["--help"], ["settings"], ["sources", "check"],
                                  ["sources", "list"]], ids=" ".join)
def test_the_safe_examples_run(args: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, args, prog_name="agora",
                                env={"AGORA_HOME": str(tmp_path),
                                     "AGORA_SOURCES": str(SOURCES_FILE)})
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()


def modules_with_examples() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if re.search(r"^\s*>>> ", path.read_text(encoding="utf-8"), re.M):
                parts = path.relative_to(ROOT).with_suffix("").parts
                names.append(".".join(parts).removesuffix(".__init__"))
    return names


def test_examples_are_found() -> None:
    assert {"normalizer.phones", "catalog.ratelimit"} <= set(modules_with_examples())


@pytest.mark.parametrize("name", modules_with_examples())
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
    assert sum(len(test.examples) for test in doctest.DocTestFinder().find(module)) > 0
