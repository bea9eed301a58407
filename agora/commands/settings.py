"""``agora settings``: every setting with its value (credentials masked) and help.

The command is ``settings_cmd``; ``agora/cli.py`` names it in ``COMMANDS``.
"""

from __future__ import annotations

import click
from rich.table import Table

from agora import settings
from agora.commands.common import cli_errors, json_option, plain_row, print_json, print_table


@click.command("settings")
@json_option
@cli_errors
def settings_cmd(as_json: bool) -> None:
    """List every setting with its value and help."""
    if as_json:
        print_json([{"name": s.name, "value": settings.display(s.name), "help": s.help}
                    for s in settings.SETTINGS])
        return
    table = Table("setting", "value", "help")
    for s in settings.SETTINGS:
        table.add_row(*plain_row(s.name, settings.display(s.name), s.help))
    print_table(table)
