"""Presence drawn by the platform itself, for the platforms the world's PRESENCE table
does not cover (Achetez Local, Le Panier Toulousain, Ma Ville Mon Shopping, Achetez
Grand Nancy).

An open shop of the platform's zones is listed when
``rng_for(seed, <platform>, "presence", shop.entity_id)`` draws under the shop rate, an
open offer of a listed shop when its own draw (same stream, the offer's entity id) is
under the offer rate. The draws depend on the entity only, so a listing stays on (or
off) the platform from epoch to epoch until it closes; new shops of later epochs get
their own draw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from replicas.geo import COMMUNES_BY_NAME
from replicas.platforms.base import Record
from replicas.world import Offer, Shop, World, rng_for


@dataclass(frozen=True)
class DrawnPresence:
    """One platform's presence rule (see the module docstring)."""

    key: str
    shop_rate: float
    offer_rate: float
    #: the zones whose shops may be listed (None: every zone)
    zones: tuple[str, ...] | None = None
    #: whether the world's independents (on none of the five) are all listed
    independents: bool = False

    def drawn(self, world: World, entity_id: str, rate: float) -> bool:
        """Whether the platform's presence draw for an entity is under ``rate``."""
        return rng_for(world.seed, self.key, "presence", entity_id).random() < rate

    def shops(self, world: World) -> list[Shop]:
        """The open shops the platform lists, in the world's order."""
        return [s for s in world.open_shops()
                if (self.zones is None or COMMUNES_BY_NAME[s.commune].zone in self.zones)
                and ((self.independents and s.independent)
                     or self.drawn(world, s.entity_id, self.shop_rate))]

    def offers(self, world: World, shops: Iterable[Shop]) -> list[Offer]:
        """The open offers of the listed ``shops`` that the platform lists, in the world's
        order."""
        indexes = {s.index for s in shops}
        return [o for o in world.offers if o.is_open and o.shop in indexes
                and self.drawn(world, o.entity_id, self.offer_rate)]

    def records(self, world: World, *, shop_order: Callable[[Shop], Any],
                shop_record: Callable[[World, Shop], Record],
                product_record: Callable[[World, Offer, str], Record],
                product_order: Callable[[Record], Any]) -> list[Record]:
        """The platform's records: its listed shops in ``shop_order``, then the products
        of their listed offers (each built with its shop's source id) in
        ``product_order``."""
        shops = sorted(self.shops(world), key=shop_order)
        records = [shop_record(world, shop) for shop in shops]
        sids = {shop.index: r.source_id for shop, r in zip(shops, records, strict=True)}
        products = [product_record(world, offer, sids[offer.shop])
                    for offer in self.offers(world, shops)]
        products.sort(key=product_order)
        return records + products
