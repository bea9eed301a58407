"""``agora demo``: replicas, crawl, build, index and serve in one command (``make demo``).

Prints each stage's duration as it ends, then the address of the site, and
serves until Ctrl-C (which stops the replicas too). ``--no-serve`` stops after
the build. The catalog goes to ``AGORA_HOME`` (default ./var). The command is
``demo_cmd``; ``agora/cli.py`` names it in ``COMMANDS``.
"""

from __future__ import annotations

import click
from rich.table import Table

from agora import settings
from agora.commands.common import cli_errors, console, plain_row, print_table
from agora.demo import DemoReport, DemoStage, run_demo


@click.command("demo")
@click.option("--shops", default=1500, show_default=True, type=click.IntRange(1, 100_000),
              help="Shops in the replica world.")
@click.option("--seed", default=42, show_default=True, help="The world's seed.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="Port to serve on (the next free one when taken).")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="gunicorn workers (default: 2 x CPUs + 1, at most 8).")
@click.option("--no-serve", is_flag=True, help="Stop after the build (and stop the replicas).")
@cli_errors
def demo_cmd(shops: int, seed: int, host: str, port: int, workers: int | None,
             no_serve: bool) -> None:
    """Start the replicas, crawl them, build and index, then serve the search."""
    home = settings.home()
    console.print(f"Agora demo: world of {shops} shops (seed {seed}), catalog in {home}",
                  highlight=False)

    def stage_line(stage: DemoStage) -> None:
        if stage.name != "serve":
            console.print(f"  {stage.name:<9} {stage.seconds:7.1f} s  {stage.detail}",
                          highlight=False)

    def summary(report: DemoReport) -> None:
        table = Table("stage", "duration", "what", title="Demo stages")
        for s in report.stages:
            table.add_row(*plain_row(s.name, f"{s.seconds:.1f} s", s.detail))
        table.add_row("total", f"{report.seconds:.1f} s", "")
        print_table(table)
        if report.url:
            console.print(f"\nAgora is ready: [bold]{report.url}[/]   (Ctrl-C stops the site "
                          "and the replicas)", highlight=False)

    report = run_demo(home, shops=shops, seed=seed, host=host, port=port, serve=not no_serve,
                      workers=workers, on_stage=stage_line, on_ready=summary)
    if no_serve:
        summary(report)
    else:
        console.print("Stopped.")
