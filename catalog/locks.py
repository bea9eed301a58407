"""Named locks shared by every process on the catalog, with who holds them.

'scheduler' (one ``agora schedule`` per catalog), 'crawl:<source>' (never two
runs of a source), 'worker:<id>' (a crawl worker is alive), 'build'.

On SQLite the lock is the ``locks`` row itself: a holder whose process is gone
(same host) or whose heartbeat is older than ``stale_seconds`` is replaced, so
holders call ``refresh_lock`` more often than that while they work. On an engine
with session locks (PostgreSQL's advisory locks) the lock belongs to the
holder's connection: it is freed when the holder releases it or its connection
closes (the process died, the host vanished), never by age; the ``locks`` row
only says who holds it. A connection holds a named lock for one owner at a time.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from typing import Any

from catalog.engine import Engine, utcnow
from catalog.runs import pid_alive


def holder_alive(holder: dict[str, Any], *, stale_seconds: float) -> bool:
    """Whether a lock row's process still runs: by pid on this host, else by its heartbeat."""
    age = (datetime.now(UTC) - datetime.fromisoformat(holder["heartbeat_at"])).total_seconds()
    if holder.get("host") == socket.gethostname():
        return pid_alive(holder.get("pid")) and age < stale_seconds
    return age < stale_seconds


class LockStore:
    """Named locks with their holder (a part of ``Catalog``)."""

    db: Engine
    _held: dict[str, str]  # session locks this connection holds: name -> owner

    def acquire_lock(self, name: str, owner: str, *, stale_seconds: float = 600.0,
                     pid: int | None = None, host: str | None = None) -> dict[str, Any] | None:
        """Take the named lock for ``owner``; None when taken, else the holder keeping it."""
        pid = os.getpid() if pid is None else pid
        host = host or socket.gethostname()
        if self.db.session_locks:
            return self._acquire_session(name, owner, pid, host)

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
                self._record_holder(name, owner, pid, host, now)
            return None

        return self.db.retrying(work)

    def _acquire_session(self, name: str, owner: str, pid: int, host: str
                         ) -> dict[str, Any] | None:
        held_by = self._held.get(name)
        if held_by is not None and held_by != owner:
            return self.lock_holder(name) or _unknown_holder(name)
        if held_by is None and not self.db.try_session_lock(name):
            return self.lock_holder(name) or _unknown_holder(name)
        self._held[name] = owner
        try:
            self.db.retrying(lambda: self._record_holder(name, owner, pid, host, utcnow()))
        except BaseException:
            del self._held[name]
            self.db.release_session_lock(name)
            raise
        return None

    def _record_holder(self, name: str, owner: str, pid: int, host: str, now: str) -> None:
        self.db.execute(
            "INSERT INTO locks(name, pid, host, owner, acquired_at, heartbeat_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET pid = excluded.pid, "
            "host = excluded.host, owner = excluded.owner, "
            "acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at",
            (name, pid, host, owner, now, now))

    def refresh_lock(self, name: str, owner: str) -> bool:
        """Renew the lock's heartbeat; False when ``owner`` no longer holds it."""
        if self.db.session_locks and self._held.get(name) != owner:
            return False
        cur = self.db.retrying(lambda: self.db.execute(
            "UPDATE locks SET heartbeat_at = ? WHERE name = ? AND owner = ?",
            (utcnow(), name, owner)))
        return bool(cur.rowcount)

    def release_lock(self, name: str, owner: str) -> None:
        if self.db.session_locks and self._held.get(name) != owner:
            return  # not this connection's to release (its row belongs to the holder)
        self.db.retrying(lambda: self.db.execute("DELETE FROM locks WHERE name = ? AND owner = ?",
                                                 (name, owner)))
        if self.db.session_locks:
            del self._held[name]
            self.db.release_session_lock(name)

    def lock_holder(self, name: str) -> dict[str, Any] | None:
        """Who holds the named lock, None when nobody does (on SQLite: a row, maybe stale)."""
        row = self.db.query_one("SELECT * FROM locks WHERE name = ?", (name,))
        if self.db.session_locks and not self.db.session_lock_held(name):
            return None  # its holder's connection is gone: the row is only a memory
        return dict(row) if row else None

    def lock_is_held(self, name: str, *, stale_seconds: float = 600.0) -> bool:
        """Whether a live holder has the named lock (by connection, or by pid and heartbeat)."""
        if self.db.session_locks:
            return self.db.session_lock_held(name)
        holder = self.lock_holder(name)
        return holder is not None and holder_alive(holder, stale_seconds=stale_seconds)


def _unknown_holder(name: str) -> dict[str, Any]:
    """A holder between taking the lock and writing its row: shown as such."""
    now = utcnow()
    return {"name": name, "pid": "?", "host": "?", "owner": "?", "acquired_at": now,
            "heartbeat_at": now}
