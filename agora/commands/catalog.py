"""``agora catalog``: where the catalog is, and backing it up and restoring it.

- ``info``: the engine, the location (without password), the schema version,
  what it holds.
- ``backup FILE``: the whole catalog to one file, while everything runs (SQLite:
  the online backup API; PostgreSQL: ``pg_dump --format=custom``).
- ``restore FILE [--force] [--no-index]``: into the configured catalog, which must
  be empty (a new SQLite file, or a new PostgreSQL database); the schema is
  migrated to this version and the search index rebuilt from the restored
  entities, so the site serves the same answers.

The group is ``catalog_group``; ``agora/cli.py`` registers it with ``main.add_command``.
Procedures around it (when, where to keep the files, checking a restore):
docs/deploy.md.
"""

from __future__ import annotations

import click
from rich.console import Console

from agora import settings
from agora.commands.errors import errors_as_lines

console = Console()


@click.group("catalog")
def catalog_group() -> None:
    """The catalog: where it is, backup and restore."""


@catalog_group.command("info")
@errors_as_lines
def info_cmd() -> None:
    """The catalog's engine, location, schema version and contents."""
    from catalog.migrate import current_version, latest_version  # noqa: PLC0415
    from catalog.store import Catalog  # noqa: PLC0415

    with Catalog.open_read_only(settings.catalog_path()) as catalog:
        version = current_version(catalog.db)
        lines = [f"engine: {catalog.engine}", f"location: {catalog.describe()}",
                 f"schema: version {version} of {latest_version(catalog.engine)}",
                 f"listings: {catalog.count_listings()} live, "
                 f"{catalog.count_listings(status='gone')} gone",
                 "entities: " + (", ".join(f"{k} {v}" for k, v in
                                           sorted(catalog.entities.counts().items())) or "none"),
                 f"search index base: {settings.search_index_base(catalog.path)}"]
    for line in lines:
        console.print(line, highlight=False, markup=False)


@catalog_group.command("backup")
@click.argument("target", type=click.Path(dir_okay=False))
@errors_as_lines
def backup_cmd(target: str) -> None:
    """Back the catalog up to TARGET (one file), while crawls and builds go on."""
    from catalog.backup import backup, backup_kind  # noqa: PLC0415
    from catalog.store import describe_location  # noqa: PLC0415

    location = settings.catalog_path()
    written = backup(location, target, bin_dir=settings.get("AGORA_PG_BIN"))
    console.print(f"{describe_location(location)} backed up to {written} "
                  f"({backup_kind(str(location))}, {written.stat().st_size:,} bytes)",
                  highlight=False, markup=False)


@catalog_group.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace an existing SQLite catalog file.")
@click.option("--no-index", is_flag=True, help="Do not rebuild the search index afterwards.")
@errors_as_lines
def restore_cmd(backup_file: str, force: bool, no_index: bool) -> None:
    """Restore BACKUP_FILE into the configured catalog (empty), then index it again."""
    from agora.pipeline import index_entities  # noqa: PLC0415
    from catalog.backup import restore  # noqa: PLC0415
    from catalog.store import Catalog  # noqa: PLC0415

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
