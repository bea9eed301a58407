"""The drawn presence rule of ``replicas.platforms.presence``, written out for the tests."""

from __future__ import annotations

from replicas.world import World, rng_for


def drawn(world: World, key: str, entity_id: str, rate: float) -> bool:
    """Whether the platform ``key``'s presence draw for an entity is under ``rate``."""
    return rng_for(world.seed, key, "presence", entity_id).random() < rate
