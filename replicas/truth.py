"""The replicas' ground truth and expected listings, without serving anything.

Every function takes the world's arguments (seed, shops, epoch, offers per shop,
regions) and the noise profile the platforms show it with ("default" or "hard", see
``replicas.noise``): the truth is the same world's, whatever the profile.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from dedup.overlap_export import write_csv
from replicas.faults import FaultProfile
from replicas.platforms import PLATFORM_CLASSES
from replicas.world import DEFAULT_REGIONS, World


def _platforms(seed: int, shops: int, epoch: int, offers_per_shop: int,
               keys: tuple[str, ...] | None = None, noise: str = "default",
               regions: tuple[str, ...] = DEFAULT_REGIONS) -> Iterator[Any]:
    from replicas.server import platform_class  # noqa: PLC0415 - avoid a cycle

    world = World.generate(seed, shops, epoch, offers_per_shop, noise, regions)
    for key in keys or tuple(PLATFORM_CLASSES):
        yield platform_class(key)(world, faults=FaultProfile())


def truth_rows(seed: int = 42, shops: int = 1500, epoch: int = 0, offers_per_shop: int = 8,
               keys: tuple[str, ...] | None = None,
               noise: str = "default", regions: tuple[str, ...] = DEFAULT_REGIONS,
               ) -> Iterator[tuple[str, str, str, str]]:
    """(kind, source, source_id, entity_id) for every listing the replicas serve."""
    for platform in _platforms(seed, shops, epoch, offers_per_shop, keys, noise, regions):
        yield from platform.truth()


def expected_listings(seed: int = 42, shops: int = 1500, epoch: int = 0,
                      offers_per_shop: int = 8, keys: tuple[str, ...] | None = None,
                      noise: str = "default", regions: tuple[str, ...] = DEFAULT_REGIONS,
                      ) -> Iterator[dict[str, Any]]:
    """Every listing the replicas serve, in the contract (URLs on the default ports)."""
    for platform in _platforms(seed, shops, epoch, offers_per_shop, keys, noise, regions):
        yield from platform.expected_listings()


def listings_and_truth(seed: int = 42, shops: int = 1500, epoch: int = 0,
                       offers_per_shop: int = 8, keys: tuple[str, ...] | None = None,
                       noise: str = "default",
                       ) -> tuple[list[dict[str, Any]], list[tuple[str, str, str, str]]]:
    """Every listing and the truth of a world, building it once (large worlds take long)."""
    listings: list[dict[str, Any]] = []
    truth: list[tuple[str, str, str, str]] = []
    for platform in _platforms(seed, shops, epoch, offers_per_shop, keys, noise):
        listings.extend(platform.expected_listings())
        truth.extend(platform.truth())
    return listings, truth


def write_truth(path: str, **world: Any) -> int:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        return write_csv(fh, ["kind", "source", "source_id", "entity_id"], truth_rows(**world))


def write_expected_listings(path: str, **world: Any) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as fh:
        for item in expected_listings(**world):
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
            count += 1
    return count
