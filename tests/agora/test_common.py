"""What every command shares (``agora.commands.common``): the lazy root, one error line,
tables that keep whole identifiers off a terminal."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner
from rich.table import Table

from agora.cli import COMMANDS, main
from agora.commands.common import (
    LazyGroup,
    cli_errors,
    load_command,
    plain_row,
    print_table,
)
from crawlers.errors import CrawlError
from tests.conftest import ROOT

SELECTOR_ERROR = "no listing under a[rel=next]::attr(href) on [bold]page 2[/bold]"


@click.command()
@click.option("--bug", is_flag=True)
@cli_errors
def failing(bug: bool) -> None:
    if bug:
        raise KeyError("a bug")
    raise CrawlError(SELECTOR_ERROR)


def test_an_expected_failure_prints_whole_as_one_line() -> None:
    result = CliRunner().invoke(failing, [])
    assert result.exit_code == 1
    assert result.stderr == f"error: {SELECTOR_ERROR}\n"


def test_a_bug_keeps_its_traceback() -> None:
    result = CliRunner().invoke(failing, ["--bug"])
    assert isinstance(result.exception, KeyError)
    with pytest.raises(KeyError):
        raise result.exception


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_of_the_table_loads_and_has_help(name: str) -> None:
    command = load_command(COMMANDS[name])
    assert command.name == name
    result = CliRunner().invoke(main, [name, "--help"], prog_name="agora")
    assert result.exit_code == 0, result.output
    assert f"agora {name}" in result.stdout


def leaf_commands(group: click.Group, path: tuple[str, ...] = ()
                  ) -> list[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        found.append(((*path, name), command))
        if isinstance(command, click.Group):
            found += leaf_commands(command, (*path, name))
    return found


def through_cli_errors(callback: object) -> bool:
    while callback is not None:
        if getattr(callback, "cli_errors", False):
            return True
        callback = getattr(callback, "__wrapped__", None)
    return False


def test_every_command_prints_its_errors_through_cli_errors() -> None:
    commands = leaf_commands(main)
    assert len(commands) > 30
    for path, command in commands:
        if isinstance(command, click.Group) and not command.invoke_without_command:
            continue  # a bare group only dispatches
        assert through_cli_errors(command.callback), " ".join(path)


def test_the_root_lists_every_command_and_imports_none_it_does_not_run() -> None:
    group = LazyGroup("root", lazy_commands={"late": "tests.agora.lazy_target:late_cmd"})
    assert group.list_commands(click.Context(group)) == ["late"]
    assert "late" not in group.commands  # listed, not imported
    result = CliRunner().invoke(group, ["late"])
    assert result.exit_code == 0 and result.stdout == "late ran\n"


def test_the_root_help_reads_each_command_help_without_importing_it() -> None:
    script = ("import sys; from click.testing import CliRunner; from agora.cli import main; "
              "out = CliRunner().invoke(main, ['--help'], terminal_width=200).stdout; "
              "print(out); print(sorted(m for m in sys.modules if m.startswith('agora.commands.')))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    assert proc.stdout.strip().splitlines()[-1] == "['agora.commands.common']"
    for name, target in COMMANDS.items():
        short = load_command(target).get_short_help_str(limit=150)
        assert f"  {name}" in proc.stdout and short in proc.stdout, name


def test_a_table_off_a_terminal_keeps_every_cell_whole() -> None:
    long_key = "tout_toulouse_" + "x" * 150
    table = Table("key", "help")
    table.add_row(*plain_row(long_key, "a[rel=next]::attr(href) " * 6))

    @click.command()
    def show() -> None:
        print_table(table)

    result = CliRunner().invoke(show, [], env={"COLUMNS": "60"})
    assert long_key in result.stdout
    assert "a[rel=next]::attr(href) " * 5 in result.stdout
    assert "…" not in result.stdout
