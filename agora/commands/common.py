"""What every ``agora`` command shares: lazy groups, the error line, ``--json``, tables.

- ``LazyGroup``: a click group whose subcommands are named in a table
  (name -> ``"module:attribute"``) and imported only when run or listed, so
  ``agora crawl`` does not load the web stack and ``agora --help`` stays fast.
- ``cli_errors``: the one way a command reports an expected failure (a bad
  sources file, an unreachable or busy catalog, a refused setting, a missing
  file): ``error: <message>`` on stderr, exit code 1. The message is escaped, so
  Rich never reads scraped text or a CSS selector (``a[rel=next]::attr(href)``)
  as markup and drops part of it. Any other exception is a bug and keeps its
  traceback.
- ``json_option`` and ``print_json``: every listing command's ``--json``.
- ``print_table``: a Rich table on a terminal; piped or redirected, the table at
  its full width with no cell cut or wrapped, so ``agora sources list | grep``
  sees whole identifiers.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from agora.errors import AgoraError
from catalog.errors import CatalogError
from catalog.reports import StageReport
from crawlers.errors import CrawlError
from dedup.errors import MatchError

EXPECTED: tuple[type[BaseException], ...] = (CrawlError, CatalogError, MatchError, AgoraError,
                                             OSError, ValueError)
"""The failures that are the operator's to fix (``SettingError`` is a ``ValueError``)."""

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

UNBOUNDED_WIDTH = 100_000
"""Width given to Rich off a terminal: wider than any table, so none is cut."""


class LazyGroup(click.Group):
    """A click group whose commands are imported from ``"module:attribute"`` on first use."""

    def __init__(self, *args: Any, lazy_commands: Mapping[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            self.add_command(load_command(self.lazy_commands[cmd_name]), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their first help line, read from the source (none imported)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            doc = None if name in self.commands else docstring_of(self.lazy_commands[name])
            if doc is None:
                command = self.get_command(ctx, name)
                if command is None or command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:
                # a bare command with that help shortens it exactly as the real one would
                rows.append((name, click.Command(name, help=doc).get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def load_command(target: str) -> click.Command:
    """The click command named by ``"module:attribute"``."""
    module_name, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


def docstring_of(target: str) -> str | None:
    """The docstring of ``"module:function"`` read from its source file, not imported."""
    module_name, _, attribute = target.partition(":")
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    with open(spec.origin, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), spec.origin)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == attribute:
            return ast.get_docstring(node)
    return None


def print_error(exc: BaseException | str) -> None:
    """Print ``error: <message>`` on stderr, the message escaped and never wrapped."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False,
                      soft_wrap=True)


def print_warning(message: str) -> None:
    """Print ``warning: <message>`` on stderr, the message escaped."""
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False,
                      soft_wrap=True)


def fail(message: str) -> None:
    """Print ``message`` as the error line and exit with code 1."""
    print_error(message)
    sys.exit(1)


def cli_errors(fn: F) -> F:
    """Run the command; an expected failure becomes one line and exit code 1."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EXPECTED as exc:
            print_error(exc)
            sys.exit(1)
    wrapper.cli_errors = True  # type: ignore[attr-defined]  # how tests find it under click's wrappers
    return cast(F, wrapper)


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print machine-readable JSON instead of tables.")
"""The shared ``--json`` flag; the command receives it as ``as_json``."""


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (non-ASCII kept, dates as ISO text)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def plain_row(*values: object) -> list[Text]:
    """Table cells shown as written: ``None`` as ``-``, never read as Rich markup."""
    return [Text("-" if value is None else str(value)) for value in values]


def print_table(table: Table, target: Console | None = None) -> None:
    """Print ``table``; off a terminal at its full width, no cell cut or wrapped."""
    out = target or console
    if out.is_terminal:
        out.print(table)
        return
    for column in table.columns:
        column.no_wrap = True
        column.overflow = "ignore"
    # print(width=...) is capped by the console's own width: a wide console on the same file
    Console(file=out.file, width=UNBOUNDED_WIDTH).print(table, crop=False)


def stage_line(stage: StageReport) -> str:
    """``name  seconds  figures`` for one pipeline stage (numbers and words only)."""
    figures = ", ".join(f"{k} {v}" for k, v in stage.figures.items()
                        if isinstance(v, int | float | str) and not isinstance(v, bool))
    return f"{stage.name:<10} {stage.seconds:7.2f}s  {figures}"


def stage_json(stage: StageReport) -> dict[str, Any]:
    """One pipeline stage as the commands' ``--json`` prints it."""
    return {"name": stage.name, "seconds": round(stage.seconds, 3), "figures": stage.figures}
