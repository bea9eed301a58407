"""Command groups of the ``agora`` CLI that live in their own modules.

Each module defines one click group (e.g. ``sources.sources_group``) that
``agora/cli.py`` registers with ``main.add_command``; commands stay thin: parse,
call the library, print.
"""
