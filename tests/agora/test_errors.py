"""One error line per expected failure (``agora.commands.errors``)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from agora.commands.errors import errors_as_lines
from crawlers.errors import CrawlError


@click.command()
@click.option("--bug", is_flag=True)
@errors_as_lines
def failing(bug: bool) -> None:
    if bug:
        raise KeyError("a bug")
    raise CrawlError("no listing under a[rel=next]::attr(href) on [bold]page 2[/bold]")


def test_an_expected_failure_prints_whole_as_one_line() -> None:
    result = CliRunner().invoke(failing, [])
    assert result.exit_code == 1
    assert "a[rel=next]::attr(href)" in result.stderr
    assert "[bold]page 2[/bold]" in result.stderr


def test_a_bug_keeps_its_traceback() -> None:
    result = CliRunner().invoke(failing, ["--bug"])
    assert isinstance(result.exception, KeyError)
    with pytest.raises(KeyError):
        raise result.exception
