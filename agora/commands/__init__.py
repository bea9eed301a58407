"""The commands of the ``agora`` CLI, one module per command group.

Each module defines its click commands (e.g. ``sources.sources_group``) and
``agora/cli.py`` names them in ``COMMANDS`` (``"module:attribute"``), imported
only when run. Commands stay thin: parse, call the library, print, with what
``common`` shares (``cli_errors``, ``--json``, the table printer).
"""
