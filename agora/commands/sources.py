"""``agora sources``: list the sources, validate the sources file, try a source out.

- ``agora sources list``: key, name, connector, base URL, enabled, schedule.
- ``agora sources check``: validate the file (every declarative ``extract:``
  compiled); exit 1 with the error line (file:line, source, key).
- ``agora sources test NAME [--pages N] [--sample N] [--json]``: fetch a few
  pages of one source without writing the catalog, and show the listings
  extracted and, per kind, the contract fields that came out empty; with
  ``--sample N``, for the first N listings of each kind, each field's fill
  rate, three examples with the page each came from, and the values that look
  wrong for their field.
- ``agora sources scaffold URL --name KEY [--out FILE]``: draft a sources file
  with one entry for the site (``crawlers.scaffold``), then test it as above.

The group is ``sources_group``; ``status`` and ``accept`` (``agora.commands.status``)
join it through its lazy table. It reads ``AGORA_SOURCES`` (or ``--file``).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from agora import settings
from agora.commands.common import (
    LazyGroup,
    cli_errors,
    console,
    json_option,
    plain_row,
    print_json,
    print_table,
)
from crawlers import registry
from crawlers.config import load_sources
from crawlers.errors import CrawlError
from crawlers.preview import preview_source
from crawlers.scaffold import scaffold

SAMPLE_FIELDS = {"shop": ("name", "city", "phone"), "product": ("title", "price",
                                                                 "shop_source_id")}


def sources_file_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--file", "sources_file", type=click.Path(dir_okay=False),
                        default=None, help="The sources file (default: AGORA_SOURCES, else "
                        "config/sources.yaml).")(fn)


def _path(sources_file: str | None) -> Path:
    return Path(sources_file) if sources_file else settings.sources_file()


def schedule_text(schedule: dict[str, Any] | None) -> str:
    """'every 6h ±10m', 'cron 30 3 * * * ±15m' or '-'."""
    if not schedule:
        return "-"
    text = (f"every {schedule['interval']}" if "interval" in schedule
            else f"cron {schedule['cron']}")
    return text + (f" ±{schedule['jitter']}" if schedule.get("jitter") else "")


@click.group("sources", cls=LazyGroup,
             lazy_commands={"status": "agora.commands.status:status_cmd",
                            "accept": "agora.commands.status:accept_cmd"})
def sources_group() -> None:
    """The platforms Agora crawls (config/sources.yaml or AGORA_SOURCES)."""


@sources_group.command("list")
@sources_file_option
@json_option
@cli_errors
def list_cmd(sources_file: str | None, as_json: bool) -> None:
    """Every source: key, name, connector, base URL, enabled, schedule."""

    configs = load_sources(_path(sources_file))
    if as_json:
        print_json([{
            "key": c.key, "name": c.name, "connector": c.connector,
            "kind": registry.resolve(c).kind, "base_url": c.base_url, "enabled": c.enabled,
            "schedule": c.schedule} for c in configs.values()])
        return
    table = Table("key", "name", "connector", "base URL", "enabled", "schedule",
                  title=f"Sources ({_path(sources_file)})")
    for c in configs.values():
        connector = c.connector + (" (declarative)" if registry.resolve(c).declarative else "")
        table.add_row(*plain_row(c.key, c.name, connector, c.base_url,
                                 "yes" if c.enabled else "no", schedule_text(c.schedule)))
    print_table(table)


@sources_group.command("check")
@sources_file_option
@cli_errors
def check_cmd(sources_file: str | None) -> None:
    """Validate the sources file, and the territories file's sources against it."""
    from agora.territories import check_sources  # noqa: PLC0415
    from crawlers import registry  # noqa: PLC0415
    from crawlers.config import load_sources  # noqa: PLC0415

    path = _path(sources_file)
    configs = load_sources(path)
    check_sources(settings.all_territories(), configs)
    declarative = [c.key for c in configs.values() if registry.resolve(c).declarative]
    click.echo(f"{path}: {len(configs)} source(s) OK"
               + (f" ({len(declarative)} declarative: {', '.join(declarative)})"
                  if declarative else ""))


@sources_group.command("test")
@click.argument("name")
@click.option("--pages", default=5, show_default=True, help="Pages to fetch at most.")
@click.option("--show", default=10, show_default=True, help="Listings shown per kind.")
@click.option("--sample", default=0, show_default=True, type=click.IntRange(min=0),
              help="Per kind, judge the first N listings: fill, examples, flags.")
@json_option
@sources_file_option
@cli_errors
def test_cmd(name: str, pages: int, show: int, sample: int, as_json: bool,
             sources_file: str | None) -> None:
    """Fetch a few pages of one source (nothing is stored) and show what came out.

    Exit 1 when no listing came out at all.
    """

    configs = load_sources(_path(sources_file))
    if name not in configs:
        raise CrawlError(f"unknown source {name!r}; known: {', '.join(configs)}")
    config = configs[name]
    preview = preview_source(config, pages=max(1, pages))
    if as_json:
        print_json(preview.to_json(sample))
    else:
        _print_preview(preview, config.name, show)
        if sample:
            _print_sample(preview.sample(sample))
    if not preview.listings:
        sys.exit(1)


def _print_preview(preview: Any, title: str, show: int) -> None:
    counts = preview.counts()
    console.print(f"[bold]{title}[/] ({preview.source}, {preview.connector}): {preview.pages} "
                  f"page(s), {len(preview.listings)} listing(s) "
                  f"({', '.join(f'{n} {k}' for k, n in counts.items()) or 'none'}), "
                  f"{len(preview.errors)} error(s), {preview.failed_pages} page(s) lost",
                  highlight=False)
    for kind, fill in preview.fill().items():
        total = counts[kind]
        listings = [item for item in preview.listings if item["kind"] == kind]
        sample = Table("source_id", *SAMPLE_FIELDS[kind], "url",
                       title=f"{kind}s (first {min(show, total)} of {total})")
        for item in listings[:show]:
            sample.add_row(*plain_row(item["source_id"], *(item.get(f, "")
                                                           for f in SAMPLE_FIELDS[kind]),
                                      item.get("url", "")))
        print_table(sample)
        fields = Table("field", "filled", "example", title=f"{kind} fields")
        for field_name, n in fill.items():
            example = next((item[field_name] for item in listings if field_name in item), "")
            style = "bold red" if n == 0 else ("yellow" if n < total else "")
            fields.add_row(*plain_row(field_name, f"{n}/{total}", str(example)[:60]),
                           style=style)
        print_table(fields)
        empty = preview.empty_fields()[kind]
        console.print(f"{kind}: empty in every listing: {', '.join(empty) or 'none'}",
                      highlight=False)
    for url, kind, reason in preview.errors[:10]:
        click.echo(f"{kind}: {reason} ({url})", err=True)
    if len(preview.errors) > 10:
        click.echo(f"... and {len(preview.errors) - 10} more error(s)", err=True)


@sources_group.command("scaffold")
@click.argument("url")
@click.option("--name", "key", required=True, help="The source's key in the file.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the sources file here "
              "(default: standard output).")
@click.option("--pages", default=60, show_default=True, help="Pages the probe fetches at most.")
@click.option("--seconds", default=60.0, show_default=True, help="Time the probe takes at most.")
@click.option("--test-pages", default=5, show_default=True,
              help="Pages `sources test` then fetches with the draft.")
@cli_errors
def scaffold_cmd(url: str, key: str, out: str | None, pages: int, seconds: float,
                 test_pages: int) -> None:
    """Draft a sources file with one entry for the site at URL, then test the draft."""

    text = scaffold(url, key, max_pages=pages, seconds=seconds)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"draft written to {out}", err=True)
        path = Path(out)
    else:
        click.echo(text)
        path = Path(tempfile.mkdtemp(prefix="agora-scaffold-")) / "sources.yaml"
        path.write_text(text, encoding="utf-8")
    config = load_sources(path)[key]  # a draft the loader refuses: the error, exit 1
    # the draft on standard output stays a sources file: the test goes to stderr then
    with contextlib.redirect_stdout(sys.stdout if out else sys.stderr):
        preview = preview_source(config, pages=max(1, test_pages))
        _print_preview(preview, config.name, 5)
        _print_sample(preview.sample(20))


def _print_sample(sample: dict[str, dict[str, Any]]) -> None:
    """Per kind and field: fill rate in the sample, three examples and their pages, flags."""
    for kind, judged in sample.items():
        n = judged["listings"]
        table = Table("field", "filled", "examples (page)", "flags",
                      title=f"{kind}s: a sample of {n}")
        flagged = []
        for name, entry in judged["fields"].items():
            examples = "\n".join(f"{str(value)[:50]}  ({page})"
                                  for value, page in entry["examples"])
            style = "bold red" if entry["filled"] == 0 else (
                "yellow" if entry["flags"] or entry["filled"] < n else "")
            table.add_row(name, f"{entry['filled']}/{n} ({entry['filled'] / max(n, 1):.0%})",
                          examples, str(len(entry["flags"]) or ""), style=style)
            flagged += [(name, *flag) for flag in entry["flags"]]
        console.print(table)
        for name, sid, value, why, page in flagged[:20]:
            console.print(f"  flag {kind} {sid}: {name} = {str(value)[:60]!r}: {why} ({page})",
                          highlight=False, markup=False)
        if len(flagged) > 20:
            console.print(f"  ... and {len(flagged) - 20} more flag(s)", highlight=False)


if __name__ == "__main__":
    sources_group()
