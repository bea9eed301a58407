"""A command for ``test_common``'s lazy group: importing this module is observable."""

from __future__ import annotations

import click


@click.command("late")
def late_cmd() -> None:
    """Say that it ran."""
    click.echo("late ran")
