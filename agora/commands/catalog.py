"""``agora catalog``: where the catalog is, and backing it up and restoring it.

- ``info [--json]``: the engine, the location (without password), the schema version,
  what it holds.
- ``backup FILE``: the whole catalog to one file, while everything runs (SQLite:
  the online backup API; PostgreSQL: ``pg_dump --format=custom``).
- ``restore FILE [--force] [--no-index]``: into the configured catalog, which must
  be empty (a new SQLite file, or a new PostgreSQL database); the schema is
  migrated to this version and the search index rebuilt from the restored
  entities, so the site serves the same answers.

The group is ``catalog_group``; ``agora/cli.py`` names it in ``COMMANDS``.
Procedures around it (when, where to keep the files, checking a restore):
docs/deploy.md.
"""

from __future__ import annotations

from typing import Any

import click

from agora import settings
from agora.commands.common import cli_errors, console, json_option, print_json
from agora.pipeline import index_entities
from catalog.backup import backup, backup_kind, restore
from catalog.migrate import current_version, latest_version
from catalog.store import Catalog, describe_location


@click.group("catalog")
def catalog_group() -> None:
    """The catalog: where it is, backup and restore."""


@catalog_group.command("info")
@json_option
@cli_errors
def info_cmd(as_json: bool) -> None:
    """The catalog's engine, location, schema version and contents."""
    with Catalog.open_read_only(settings.catalog_path()) as catalog:
        info: dict[str, Any] = {
            "engine": catalog.engine, "location": catalog.describe(),
            "schema_version": current_version(catalog.db),
            "latest_schema_version": latest_version(catalog.engine),
            "listings": {"live": catalog.count_listings(),
                         "gone": catalog.count_listings(status="gone")},
            "entities": dict(sorted(catalog.entities.counts().items())),
            "search_index_base": str(settings.search_index_base(catalog.path))}
    if as_json:
        print_json(info)
        return
    lines = [f"engine: {info['engine']}", f"location: {info['location']}",
             f"schema: version {info['schema_version']} of {info['latest_schema_version']}",
             f"listings: {info['listings']['live']} live, {info['listings']['gone']} gone",
             "entities: " + (", ".join(f"{k} {v}" for k, v in info["entities"].items())
                             or "none"),
             f"search index base: {info['search_index_base']}"]
    for line in lines:
        console.print(line, highlight=False, markup=False)


@catalog_group.command("backup")
@click.argument("target", type=click.Path(dir_okay=False))
@cli_errors
def backup_cmd(target: str) -> None:
    """Back the catalog up to TARGET (one file), while crawls and builds go on."""
    location = settings.catalog_path()
    written = backup(location, target, bin_dir=settings.get("AGORA_PG_BIN"))
    console.print(f"{describe_location(location)} backed up to {written} "
                  f"({backup_kind(str(location))}, {written.stat().st_size:,} bytes)",
                  highlight=False, markup=False)


@catalog_group.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace an existing SQLite catalog file.")
@click.option("--no-index", is_flag=True, help="Do not rebuild the search index afterwards.")
@cli_errors
def restore_cmd(backup_file: str, force: bool, no_index: bool) -> None:
    """Restore BACKUP_FILE into the configured catalog (empty), then index it again."""
    location = settings.catalog_path()
    restore(backup_file, location, force=force, bin_dir=settings.get("AGORA_PG_BIN"))
    with Catalog.open(location) as catalog:  # brings an older backup's schema up to date
        console.print(f"restored into {catalog.describe()}: {catalog.count_listings()} live "
                      f"listings, {catalog.entities.count()} entities", highlight=False,
                      markup=False)
        build = catalog.entities.latest_build_id()
        if not no_index and build is not None:
            stage = index_entities(catalog, build)
            console.print(f"search index rebuilt: {stage.figures['documents']} documents "
                          f"({stage.figures['backend']})", highlight=False, markup=False)


if __name__ == "__main__":
    catalog_group()
