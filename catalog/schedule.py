"""The scheduler's plan and memory per source (``agora schedule``), in the catalog.

Readable by the status command and the operator page; times are UTC ISO 8601.
"""

from __future__ import annotations

import json
from typing import Any

from catalog.engine import Engine, utcnow

SCHEDULE_COLUMNS = frozenset({"schedule", "slot_at", "next_run_at", "last_started_at",
                              "last_finished_at", "last_run_id", "last_status", "last_build_id",
                              "last_message"})


class ScheduleStore:
    """One ``schedule_state`` row per scheduled source (a part of ``Catalog``)."""

    db: Engine

    def schedule_states(self) -> dict[str, dict[str, Any]]:
        """The scheduler's row per source (columns as in the ``schedule_state`` table)."""
        rows = self.db.query("SELECT * FROM schedule_state ORDER BY source")
        return {r["source"]: {**dict(r), "schedule": json.loads(r["schedule"])} for r in rows}

    def save_schedule_state(self, source: str, **values: Any) -> None:
        """Create or update a source's scheduler row with the given columns."""
        unknown = set(values) - SCHEDULE_COLUMNS
        if unknown:
            raise ValueError(f"unknown schedule_state column(s): {sorted(unknown)}")
        if "schedule" in values:
            values["schedule"] = json.dumps(values["schedule"], sort_keys=True)
        values["updated_at"] = utcnow()
        cols = list(values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols)
        insert_cols = cols if "schedule" in cols else [*cols, "schedule"]
        args = [values[c] for c in cols] + ([] if "schedule" in cols else ["{}"])
        self.db.retrying(lambda: self.db.execute(
            f"INSERT INTO schedule_state(source, {', '.join(insert_cols)}) "
            f"VALUES (?, {', '.join('?' * len(insert_cols))}) "
            f"ON CONFLICT(source) DO UPDATE SET {updates}", (source, *args)))
