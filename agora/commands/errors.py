"""The one way a command reports an expected failure: one line on stderr, exit code 1.

A bad sources file, an unreachable or busy catalog, a refused setting or a missing
file is the operator's to fix, not a bug: ``errors_as_lines`` prints it as
``error: <message>`` with the message escaped, so Rich never reads scraped text or
a CSS selector (``a[rel=next]::attr(href)``) as markup and drops part of it. Any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape

from catalog.errors import CatalogError
from crawlers.errors import CrawlError
from dedup.errors import MatchError

EXPECTED = (CrawlError, CatalogError, MatchError, OSError, ValueError)

err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def print_error(exc: BaseException | str) -> None:
    """Print ``error: <message>`` on stderr, the message escaped and never wrapped."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False,
                      soft_wrap=True)


def errors_as_lines(fn: F) -> F:
    """Run the command; an expected failure becomes one line and exit code 1."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EXPECTED as exc:
            print_error(exc)
            sys.exit(1)
    return wrapper  # type: ignore[return-value]  # functools.wraps keeps the signature
