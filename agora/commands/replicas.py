"""``agora replicas``: the local replicas of the platforms (one seeded world, with truth).

- ``serve``: start every replica platform and print their addresses (``--json``:
  the addresses as JSON); ``--ready-file`` writes them once serving.
- ``truth --out FILE``: ``kind,source,source_id,entity_id`` of every listing served.
- ``listings --out FILE``: every listing served, in the contract, as JSON Lines.

The group is ``replicas_group``; ``agora/cli.py`` names it in ``COMMANDS``.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from agora.commands.common import (
    cli_errors,
    console,
    json_option,
    plain_row,
    print_json,
    print_table,
)
from replicas.geo import REGIONS
from replicas.server import ReplicaCluster, env_var_for
from replicas.truth import write_expected_listings, write_truth


@click.group("replicas")
def replicas_group() -> None:
    """The local replicas of the platforms (seeded, with ground truth)."""


def world_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options that pick the replica world (seed, size, epoch, offers, noise, regions)."""
    fn = click.option("--seed", default=42, show_default=True, help="World seed.")(fn)
    fn = click.option("--shops", default=1500, show_default=True, help="Shops in the world.")(fn)
    fn = click.option("--epoch", default=0, show_default=True,
                      help="Serve the world K steps later (closures, openings, prices).")(fn)
    fn = click.option("--offers-per-shop", default=8, show_default=True,
                      help="Average offers per shop.")(fn)
    fn = click.option("--noise", type=click.Choice(["default", "hard"]), default="default",
                      show_default=True,
                      help="How the platforms show the world: hard adds the slips real data "
                           "has (for testing the matcher, never for tuning it).")(fn)
    fn = click.option("--region", "regions", multiple=True,
                      type=click.Choice(list(REGIONS)), default=tuple(REGIONS),
                      show_default=True,
                      help="Regions of the world (one per territory; Toulouse's always).")(fn)
    return fn


def _regions(chosen: tuple[str, ...]) -> tuple[str, ...]:
    """Toulouse's region first (the world is built from it), then the others chosen."""
    return ("toulouse", *(r for r in dict.fromkeys(chosen) if r != "toulouse"))


@replicas_group.command("serve")
@world_options
@click.option("--faults", default="none", show_default=True,
              help="Fault profile: none, flaky, hostile, or KIND=RATE,... "
                   "(5xx, slow, timeout, truncated, malformed, drift, bad).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--any-port", is_flag=True, help="Pick free ports instead of 8701-8706.")
@click.option("--ready-file", type=click.Path(dir_okay=False),
              help="Write the addresses as JSON here once serving.")
@json_option
@cli_errors
def serve_cmd(seed: int, shops: int, epoch: int, offers_per_shop: int, noise: str,
              regions: tuple[str, ...], faults: str, host: str, any_port: bool,
              ready_file: str | None, as_json: bool) -> None:
    """Start every replica platform and print their addresses."""
    cluster = ReplicaCluster(seed, shops, epoch=epoch, offers_per_shop=offers_per_shop,
                             faults=faults, host=host, ports={} if any_port else None,
                             noise=noise, regions=_regions(regions))
    cluster.start()
    if as_json:
        print_json({"seed": seed, "shops": shops, "epoch": epoch, "noise": noise,
                    "faults": cluster.faults.describe(), "platforms": [
                        {"key": key, "title": p.title, "url": p.base_url,
                         "listings": len(p.records), "env_var": env_var_for(key)}
                        for key, p in cluster.platforms.items()]})
    else:
        console.print(f"Replica world: seed {seed}, {shops} shops, epoch {epoch}, "
                      f"noise {noise}, faults {cluster.faults.describe()}",
                      highlight=False, markup=False)
        table = Table("platform", "address", "listings", "env var")
        for key, platform in cluster.platforms.items():
            table.add_row(*plain_row(platform.title, platform.base_url, len(platform.records),
                                     env_var_for(key)))
        print_table(table)
    if ready_file:
        Path(ready_file).write_text(json.dumps({"urls": cluster.urls, "seed": seed,
                                                "shops": shops, "epoch": epoch}),
                                    encoding="utf-8")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if not as_json:
        console.print("Serving; Ctrl-C to stop.")
    stop.wait()
    cluster.stop()


@replicas_group.command("truth")
@world_options
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@cli_errors
def truth_cmd(seed: int, shops: int, epoch: int, offers_per_shop: int, noise: str,
              regions: tuple[str, ...], out: str) -> None:
    """Write kind,source,source_id,entity_id for every listing the replicas serve."""
    count = write_truth(out, seed=seed, shops=shops, epoch=epoch,
                        offers_per_shop=offers_per_shop, noise=noise, regions=_regions(regions))
    console.print(f"{count} listings written to {out}", highlight=False, markup=False)


@replicas_group.command("listings")
@world_options
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@cli_errors
def listings_cmd(seed: int, shops: int, epoch: int, offers_per_shop: int, noise: str,
                 regions: tuple[str, ...], out: str) -> None:
    """Write every listing the replicas serve, in the contract, as JSON Lines."""
    count = write_expected_listings(out, seed=seed, shops=shops, epoch=epoch,
                                    offers_per_shop=offers_per_shop, noise=noise,
                                    regions=_regions(regions))
    console.print(f"{count} listings written to {out}", highlight=False, markup=False)
