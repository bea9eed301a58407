"""What the matcher keeps between builds: its state, models, blocking keys, review pairs, decisions.

``MatchStore`` (``catalog.matching``) holds the word frequencies and settings
fingerprint of the last build (``state``), the match model each full build
estimated (``save_model``, ``model``), every clean listing's blocking keys
(so an incremental build finds a changed listing's neighbours without loading
everything), the pairs of the last build in the uncertain band, and reviewers'
decisions, which every later build respects. Listings are named by their key
``source:source_id``; a decision's pair is stored in sorted order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from catalog.engine import Engine, chunks, marks, split_key, utcnow

DECISIONS = ("merge", "split")
BLOCK_COLUMNS = ("block", "source", "source_id")


class ReviewPair(NamedTuple):
    kind: str
    a: str
    b: str
    score: float


class StoredModel(NamedTuple):
    build_id: int  # the build that estimated it
    origin: str
    model: str  # JSON
    created_at: str


class Decision(NamedTuple):
    a: str
    b: str
    decision: str  # merge | split


class MatchStore:
    """Tables ``match_state``, ``match_models``, ``block_keys``, ``review_pairs``,
    ``review_decisions``."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    # ------------------------------------------------------------------ state
    def state(self, key: str) -> str | None:
        row = self.db.query_one("SELECT value FROM match_state WHERE key = ?", (key,))
        return row[0] if row else None

    def save_state(self, values: Mapping[str, str]) -> None:
        with self.db.transaction(lock="build"):
            self.db.upsert_rows("match_state", ("key", "value"), ("key",), values.items())

    # ------------------------------------------------------------------ models
    def save_model(self, build_id: int, origin: str, model_json: str) -> None:
        """Store the model a build estimated (replacing one stored for that build)."""
        with self.db.transaction(lock="build"):
            self.db.upsert_rows("match_models", ("build_id", "origin", "model", "created_at"),
                                ("build_id",), [(build_id, origin, model_json, utcnow())])

    def model(self, build_id: int | None = None) -> StoredModel | None:
        """The model build ``build_id`` used (the last one estimated at or before it), or
        the latest model when ``build_id`` is None."""
        sql = "SELECT build_id, origin, model, created_at FROM match_models"
        args: tuple[Any, ...] = ()
        if build_id is not None:
            sql += " WHERE build_id <= ?"
            args = (build_id,)
        row = self.db.query_one(sql + " ORDER BY build_id DESC LIMIT 1", args)
        return StoredModel(int(row[0]), row[1], row[2], row[3]) if row else None

    # ------------------------------------------------------------------ blocking keys
    def replace_block_keys(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Every listing's (block, source, source_id), replacing all stored ones."""
        with self.db.transaction(lock="build"):
            self.db.execute("DELETE FROM block_keys")
            self.db.copy_rows("block_keys", BLOCK_COLUMNS, rows)

    def rekey(self, keys: Iterable[str], rows: Iterable[tuple[str, str, str]]) -> None:
        """Drop the blocking keys of those listings, then store ``rows``."""
        with self.db.transaction(lock="build"):
            self.db.executemany("DELETE FROM block_keys WHERE source = ? AND source_id = ?",
                                [split_key(k) for k in sorted(set(keys))])
            self.db.copy_rows("block_keys", BLOCK_COLUMNS, rows)

    def block_members(self, blocks: Iterable[str], max_block: int) -> dict[str, set[str]]:
        """The listing keys of each stored block, for blocks of 1 to ``max_block`` listings."""
        members: dict[str, set[str]] = defaultdict(set)
        for chunk in chunks(sorted(set(blocks))):
            sizes = dict(self.db.query(
                f"SELECT block, count(*) FROM block_keys WHERE block IN ({marks(len(chunk))}) "
                "GROUP BY block", chunk))
            usable = [b for b in chunk if 0 < sizes.get(b, 0) <= max_block]
            if not usable:
                continue
            for block, source, source_id in self.db.query(
                    f"SELECT block, source, source_id FROM block_keys WHERE block IN "
                    f"({marks(len(usable))})", usable):
                members[block].add(f"{source}:{source_id}")
        return members

    # ------------------------------------------------------------------ review pairs
    def replace_review_pairs(self, pairs: Iterable[ReviewPair], build_id: int, *,
                             relinked: Iterable[str] | None = None) -> None:
        """Store the uncertain pairs of a build.

        ``relinked`` None: they replace every stored pair (a full build); else they
        replace the pairs touching those listings (an incremental build).
        """
        rows = [(p.kind, p.a, p.b, p.score, build_id) for p in pairs]
        with self.db.transaction(lock="build"):
            if relinked is None:
                self.db.execute("DELETE FROM review_pairs")
            else:
                keys = [(k,) for k in sorted(set(relinked))]
                self.db.executemany("DELETE FROM review_pairs WHERE a = ?", keys)
                self.db.executemany("DELETE FROM review_pairs WHERE b = ?", keys)
            self.db.upsert_rows("review_pairs", ("kind", "a", "b", "score", "build_id"),
                                ("a", "b"), rows)

    def pending_review_pairs(self, *, kind: str | None = None, centre: float = 6.0,
                             limit: int = 50) -> list[ReviewPair]:
        """Pairs of the last build without a decision, nearest ``centre`` first."""
        sql = ("SELECT kind, a, b, score FROM review_pairs p WHERE NOT EXISTS (SELECT 1 FROM "
               "review_decisions d WHERE (d.a = p.a AND d.b = p.b) OR (d.a = p.b AND d.b = p.a))")
        args: list[Any] = []
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        sql += " ORDER BY abs(score - ?) ASC, a, b LIMIT ?"
        args.extend((centre, limit))
        return [ReviewPair(*r) for r in self.db.query(sql, args)]

    # ------------------------------------------------------------------ decisions
    def decisions(self) -> list[Decision]:
        return [Decision(*r) for r in self.db.query(
            "SELECT a, b, decision FROM review_decisions ORDER BY a, b")]

    def decided_since(self, at: str) -> list[tuple[str, str]]:
        """Pairs decided at or after ``at`` (an ISO time)."""
        return [(r[0], r[1]) for r in self.db.query(
            "SELECT a, b FROM review_decisions WHERE at >= ? ORDER BY a, b", (at,))]

    def decision(self, a: str, b: str) -> str | None:
        """The decision about two listings, in either order."""
        row = self.db.query_one(
            "SELECT decision FROM review_decisions WHERE (a = ? AND b = ?) OR (a = ? AND b = ?)",
            (a, b, b, a))
        return row[0] if row else None

    def record_decision(self, a: str, b: str, decision: str, note: str | None = None) -> None:
        """Record (or change) the decision about two listings; the pair is stored sorted."""
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
        a, b = sorted((a, b))
        self.db.retrying(lambda: self.db.execute(
            "INSERT INTO review_decisions(a, b, decision, note, at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(a, b) DO UPDATE SET decision = excluded.decision, note = excluded.note, "
            "at = excluded.at", (a, b, decision, note, utcnow())))
