"""Advisory locks shared by every process on the catalog.

'scheduler' (one ``agora schedule`` per catalog), 'crawl:<source>' (never two
runs of a source), 'build'. A holder whose process is gone (same host) or whose
heartbeat is older than ``stale_seconds`` is replaced; holders call
``refresh_lock`` more often than that while they work.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from typing import Any

from catalog.engine import Engine, utcnow
from catalog.runs import pid_alive


class LockStore:
    """Named locks with their holder (a part of ``Catalog``)."""

    db: Engine

    def acquire_lock(self, name: str, owner: str, *, stale_seconds: float = 600.0,
                     pid: int | None = None, host: str | None = None) -> dict[str, Any] | None:
        """Take the named lock for ``owner``; None when taken, else the holder keeping it."""
        pid = os.getpid() if pid is None else pid
        host = host or socket.gethostname()

        def work() -> dict[str, Any] | None:
            now = utcnow()
            with self.db.transaction():
                row = self.db.query_one("SELECT * FROM locks WHERE name = ?", (name,))
                if row is not None and row["owner"] != owner:
                    age = (datetime.now(UTC)
                           - datetime.fromisoformat(row["heartbeat_at"])).total_seconds()
                    gone = row["host"] == host and not pid_alive(row["pid"])
                    if not gone and age < stale_seconds:
                        return dict(row)
                self.db.execute(
                    "INSERT INTO locks(name, pid, host, owner, acquired_at, heartbeat_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET pid = excluded.pid, "
                    "host = excluded.host, owner = excluded.owner, "
                    "acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at",
                    (name, pid, host, owner, now, now))
            return None

        return self.db.retrying(work)

    def refresh_lock(self, name: str, owner: str) -> bool:
        """Renew the lock's heartbeat; False when ``owner`` no longer holds it."""
        cur = self.db.retrying(lambda: self.db.execute(
            "UPDATE locks SET heartbeat_at = ? WHERE name = ? AND owner = ?",
            (utcnow(), name, owner)))
        return bool(cur.rowcount)

    def release_lock(self, name: str, owner: str) -> None:
        self.db.retrying(lambda: self.db.execute("DELETE FROM locks WHERE name = ? AND owner = ?",
                                                 (name, owner)))

    def lock_holder(self, name: str) -> dict[str, Any] | None:
        row = self.db.query_one("SELECT * FROM locks WHERE name = ?", (name,))
        return dict(row) if row else None
