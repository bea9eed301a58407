"""The entity store: builds, merged entities, their members, product offers, presence.

``EntityStore`` (``catalog.entities``) is what the matcher writes a build
through (``write_build``: entities, members and product offers in one
transaction, all of them or only those re-linked) and what every reader of the
merged data reads: the web app (``get``, ``shop_places``), the overlap figures
(``overlap_rows``, ``presence_snapshots``), the incremental build (``entities_of``,
``members_of``, ``product_offers``, ``offers_of_products``). Records go in and out as dicts (the
merged record); a listing is named by its key ``source:source_id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from catalog.engine import (
    Engine,
    chunks,
    decode_json,
    marks,
    pair_values,
    split_key,
    utcnow,
)

ENTITY_COLUMNS = ("entity_id", "kind", "data", "build_id", "updated_at")
OFFER_COLUMNS = ("offer_id", "product_id", "shop_id", "price_min", "price_max", "platforms")
MEMBER_COLUMNS = ("source", "source_id", "kind", "entity_id")


class Member(NamedTuple):
    """One listing of an entity."""

    source: str
    source_id: str
    kind: str  # shop | offer | product
    entity_id: str


class ProductOffer(NamedTuple):
    """An offer as its product sees it: the narrow copy a product record aggregates."""

    offer_id: str
    product_id: str
    shop_id: str | None
    price_min: int | None
    price_max: int | None
    platforms: list[str]


class OverlapRow(NamedTuple):
    """A shop or offer listing with the values the overlap figures compare."""

    kind: str
    source: str
    source_id: str
    entity_id: str
    city: str | None
    category: str | None
    shop_entity_id: str | None
    price_cents: int | None
    phone: str | None
    address_key: str | None
    opening_hours: str | None
    postcode: str | None = None  # where the merged record is (territories)
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Build:
    """One build (normalize + dedup [+ index]) as recorded."""

    id: int
    mode: str
    status: str
    started_at: str
    finished_at: str | None
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PresenceSnapshot:
    """Which platforms listed which shop or offer at one complete build."""

    build_id: int
    finished_at: str | None
    rows: list[tuple[str, str, str]]  # (kind, platform, entity_id)


def _build(row: Any) -> Build:
    return Build(row["id"], row["mode"], row["status"], row["started_at"], row["finished_at"],
                 json.loads(row["stats"]) if row["stats"] else {})


class EntityStore:
    """Tables ``builds``, ``entities``, ``entity_members``, ``product_offers``,
    ``build_presence``."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    # ------------------------------------------------------------------ builds
    def begin_build(self, mode: str) -> int:
        return self.db.retrying(lambda: self.db.insert_id(
            "INSERT INTO builds(mode, status, started_at) VALUES (?, 'running', ?) RETURNING id",
            (mode, utcnow())))

    def complete_build(self, build_id: int, mode: str, stats: Mapping[str, Any]) -> None:
        self.db.retrying(lambda: self.db.execute(
            "UPDATE builds SET status = 'complete', mode = ?, finished_at = ?, stats = ? "
            "WHERE id = ?", (mode, utcnow(), json.dumps(stats, default=str), build_id)))

    def fail_build(self, build_id: int) -> None:
        self.db.retrying(lambda: self.db.execute(
            "UPDATE builds SET status = 'failed', finished_at = ? WHERE id = ?",
            (utcnow(), build_id)))

    def last_build(self) -> Build | None:
        row = self.db.query_one("SELECT * FROM builds ORDER BY id DESC LIMIT 1")
        return _build(row) if row else None

    def last_complete_build(self) -> Build | None:
        row = self.db.query_one("SELECT * FROM builds WHERE status = 'complete' "
                                "ORDER BY id DESC LIMIT 1")
        return _build(row) if row else None

    def last_complete_build_id(self) -> int | None:
        """The id of ``last_complete_build()`` alone (the web app reads it per request)."""
        row = self.db.query_one("SELECT id FROM builds WHERE status = 'complete' "
                                "ORDER BY id DESC LIMIT 1")
        return int(row[0]) if row else None

    def latest_build_id(self) -> int | None:
        """The build the stored entities come from (the last to write any), None if none."""
        row = self.db.query_one("SELECT max(build_id) FROM entities")
        return int(row[0]) if row and row[0] is not None else None

    # ------------------------------------------------------------------ entities
    def count(self, kind: str | None = None) -> int:
        if kind:
            row = self.db.query_one("SELECT count(*) FROM entities WHERE kind = ?", (kind,))
        else:
            row = self.db.query_one("SELECT count(*) FROM entities")
        return int(row[0]) if row else 0

    def counts(self) -> dict[str, int]:
        """Entities per kind."""
        return {r[0]: r[1] for r in self.db.query(
            "SELECT kind, count(*) FROM entities GROUP BY kind ORDER BY kind")}

    def get(self, entity_id: str) -> dict[str, Any] | None:
        row = self.db.query_one("SELECT data FROM entities WHERE entity_id = ?", (entity_id,))
        return json.loads(row[0]) if row else None

    def get_many(self, entity_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for chunk in chunks(sorted(set(entity_ids))):
            for entity_id, data in self.db.query(
                    f"SELECT entity_id, data FROM entities WHERE entity_id IN "
                    f"({marks(len(chunk))})", chunk):
                out[entity_id] = decode_json(data)
        return out

    def exists(self, entity_id: str) -> bool:
        return self.db.query_one("SELECT 1 FROM entities WHERE entity_id = ?",
                                 (entity_id,)) is not None

    def records(self, kind: str | None = None) -> Iterator[dict[str, Any]]:
        """Every merged record (of a kind), by entity id."""
        sql, args = "SELECT data FROM entities", tuple[str, ...]()
        if kind:
            sql, args = sql + " WHERE kind = ?", (kind,)
        for row in self.db.execute(sql + " ORDER BY entity_id", args):
            yield json.loads(row[0])

    # ------------------------------------------------------------------ members
    def membership(self) -> dict[str, str]:
        """Every listing key -> the entity it belongs to."""
        return {f"{s}:{i}": e for s, i, e in self.db.query(
            "SELECT source, source_id, entity_id FROM entity_members")}

    def entities_of(self, keys: Iterable[str]) -> dict[str, str]:
        """Listing key -> entity, for those of ``keys`` that belong to one."""
        out: dict[str, str] = {}
        for chunk in chunks(sorted(set(keys))):
            args = [v for key in chunk for v in split_key(key)]
            for s, i, e in self.db.query(
                    f"SELECT m.source, m.source_id, m.entity_id FROM {pair_values(len(chunk))} "
                    "JOIN entity_members m ON m.source = pairs.column1 "
                    "AND m.source_id = pairs.column2", args):
                out[f"{s}:{i}"] = e
        return out

    def members_of(self, entity_ids: Iterable[str]) -> set[str]:
        """The listing keys of those entities."""
        out: set[str] = set()
        for chunk in chunks(sorted(set(entity_ids))):
            out.update(f"{s}:{i}" for s, i in self.db.query(
                f"SELECT source, source_id FROM entity_members WHERE entity_id IN "
                f"({marks(len(chunk))})", chunk))
        return out

    def orphan_members(self) -> list[tuple[str, str]]:
        """(source, source_id) of members whose clean listing is gone."""
        return [(r[0], r[1]) for r in self.db.query(
            "SELECT m.source, m.source_id FROM entity_members m WHERE NOT EXISTS (SELECT 1 FROM "
            "clean_listings c WHERE c.source = m.source AND c.source_id = m.source_id) "
            "ORDER BY m.source, m.source_id")]

    # ------------------------------------------------------------------ product offers
    def product_offers(self, offer_ids: Iterable[str]) -> list[ProductOffer]:
        """The stored product side of those offers (those that have a product)."""
        out = []
        for chunk in chunks(sorted(set(offer_ids))):
            for offer_id, pid, shop_id, pmin, pmax, platforms in self.db.query(
                    "SELECT offer_id, product_id, shop_id, price_min, price_max, platforms FROM "
                    f"product_offers WHERE offer_id IN ({marks(len(chunk))}) ORDER BY offer_id",
                    chunk):
                out.append(ProductOffer(offer_id, pid, shop_id, pmin, pmax,
                                        platforms.split(",") if platforms else []))
        return out

    def offers_of_products(self, product_ids: Iterable[str]) -> list[ProductOffer]:
        out = []
        for chunk in chunks(sorted(set(product_ids))):
            for offer_id, pid, shop_id, pmin, pmax, platforms in self.db.query(
                    "SELECT offer_id, product_id, shop_id, price_min, price_max, platforms FROM "
                    f"product_offers WHERE product_id IN ({marks(len(chunk))}) "
                    "ORDER BY product_id, offer_id", chunk):
                out.append(ProductOffer(offer_id, pid, shop_id, pmin, pmax,
                                        platforms.split(",") if platforms else []))
        return out

    # ------------------------------------------------------------------ writing a build
    def write_build(self, build_id: int, records: Mapping[str, Mapping[str, Any]],
                    members: Iterable[Member], product_offers: Iterable[ProductOffer], *,
                    replace_all: bool, removed: Iterable[str] = ()) -> None:
        """Store entities, their members and product offers in one transaction.

        ``replace_all``: these are every entity (a full build); else they replace
        the entities of ``records`` and ``removed`` (an incremental build), whose
        members and product offers go with them.
        """
        now = utcnow()
        entity_rows = [(eid, rec["kind"], json.dumps(rec, ensure_ascii=False), build_id, now)
                       for eid, rec in records.items()]
        offer_rows = [(o.offer_id, o.product_id, o.shop_id, o.price_min, o.price_max,
                       ",".join(o.platforms)) for o in product_offers]
        member_rows = [tuple(m) for m in members]
        # one build writes at a time; the bulk loads are COPY on PostgreSQL
        with self.db.transaction(lock="build"):
            if replace_all:
                self.db.execute("DELETE FROM entities")
                self.db.execute("DELETE FROM entity_members")
                self.db.execute("DELETE FROM product_offers")
                self.db.copy_rows("entities", ENTITY_COLUMNS, entity_rows)
            else:
                for chunk in chunks(sorted(set(removed) | set(records)), 500):
                    where = f"IN ({marks(len(chunk))})"
                    self.db.execute(f"DELETE FROM entities WHERE entity_id {where}", chunk)
                    self.db.execute(f"DELETE FROM entity_members WHERE entity_id {where}", chunk)
                    self.db.execute(f"DELETE FROM product_offers WHERE offer_id {where}", chunk)
                self.db.upsert_rows("entities", ENTITY_COLUMNS, ("entity_id",), entity_rows)
            self.db.upsert_rows("product_offers", OFFER_COLUMNS, ("offer_id",), offer_rows)
            self.db.upsert_rows("entity_members", MEMBER_COLUMNS, ("source", "source_id"),
                                member_rows)

    # ------------------------------------------------------------------ presence
    def record_presence(self, build_id: int) -> None:
        """Snapshot which platforms list each shop at this build (overlap over time)."""
        with self.db.transaction(lock="build"):
            self.db.execute(
                "INSERT INTO build_presence(build_id, kind, platform, entity_id) "
                "SELECT DISTINCT ?, kind, source, entity_id FROM entity_members "
                "WHERE kind = 'shop'", (build_id,))

    def presence_snapshots(self, limit: int) -> list[PresenceSnapshot]:
        """The shop and offer presence of the last ``limit`` complete builds, oldest first."""
        builds = self.db.query(
            "SELECT b.id, b.finished_at FROM builds b WHERE b.status = 'complete' AND EXISTS "
            "(SELECT 1 FROM build_presence p WHERE p.build_id = b.id) ORDER BY b.id DESC LIMIT ?",
            (limit,))
        return [PresenceSnapshot(build_id, finished, [
            (r[0], r[1], r[2]) for r in self.db.query(
                "SELECT kind, platform, entity_id FROM build_presence "
                "WHERE build_id = ? AND kind IN ('shop', 'offer') "
                "ORDER BY kind, platform, entity_id", (build_id,))])
            for build_id, finished in reversed(builds)]

    # ------------------------------------------------------------------ readers
    def shop_places(self) -> list[tuple[Any, Any, Any, Any, Any]]:
        """(city, postcode, address, lat, lon) of every shop entity."""
        j = self.db.json_text
        return [tuple(r) for r in self.db.query(
            f"SELECT {j('data', 'city')}, {j('data', 'postcode')}, {j('data', 'address')}, "
            f"{j('data', 'lat')}, {j('data', 'lon')} FROM entities WHERE kind = 'shop' "
            "ORDER BY entity_id")]

    def overlap_rows(self) -> list[OverlapRow]:
        """Every shop and offer listing of the last build, with what the figures compare:
        the entity's commune and category and an offer's shop (from the merged record),
        and what that platform says (a shop's phone, address key and hours; an offer's
        price, from its clean listing)."""
        j = self.db.json_text
        sql = (
            "SELECT m.kind, m.source, m.source_id, m.entity_id, "
            f"{j('e.data', 'city')}, "
            f"CASE m.kind WHEN 'shop' THEN {j('e.data', 'categories', 0)} "
            f"ELSE {j('e.data', 'category')} END, "
            f"{j('e.data', 'shop_entity_id')}, {j('c.data', 'price_cents')}, "
            f"{j('c.data', 'phone')}, {j('c.data', 'address_key')}, "
            f"{j('c.data', 'opening_hours')}, {j('e.data', 'postcode')}, "
            f"{j('e.data', 'lat')}, {j('e.data', 'lon')} "
            "FROM entity_members m JOIN entities e ON e.entity_id = m.entity_id "
            "LEFT JOIN clean_listings c ON c.source = m.source AND c.source_id = m.source_id "
            "WHERE m.kind IN ('shop', 'offer') ORDER BY m.kind, m.source, m.source_id")
        return [OverlapRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                           None if r[7] is None else int(r[7]), r[8], r[9], r[10], r[11],
                           _number(r[12]), _number(r[13]))
                for r in self.db.query(sql)]


def _number(value: object) -> float | None:
    """A JSON number read as text (either engine), or None."""
    try:
        return None if value is None else float(str(value))
    except ValueError:
        return None
