"""What operators read, from a read-only connection on each engine: source states (a run
alive, killed, or held by another process), and the deployment overview with the workers'
heartbeats and the queue."""

from __future__ import annotations

import subprocess
import sys

from catalog.status import overview, source_statuses
from catalog.store import Catalog


def test_source_states_from_runs_and_locks(catalog_location: str) -> None:
    with Catalog.open(catalog_location) as writer:
        done = writer.begin_run("done")
        writer.finish_run(done, "complete")
        writer.begin_run("alive")  # this process, beating
        killed = writer.begin_run("killed")
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
        writer.db.execute("UPDATE runs SET pid = ? WHERE id = ?", (int(gone.stdout), killed))
        assert writer.acquire_lock("crawl:locked", "someone") is None
        with Catalog.open_read_only(catalog_location) as reader:
            states = {s.key: s.state for s in source_statuses(reader)}
            assert states == {"alive": "running", "done": "ok", "killed": "interrupted"}
            writer.begin_run("locked")
            writer.finish_run(writer.last_run("locked").id, "complete")
            assert {s.key: s.state for s in source_statuses(reader)}["locked"] == "running"
            writer.release_lock("crawl:locked", "someone")
            assert {s.key: s.state for s in source_statuses(reader)}["locked"] == "ok"


def test_the_overview_shows_workers_heartbeats_and_the_queue(catalog_location: str,
                                                             catalog_engine: str) -> None:
    with Catalog.open(catalog_location) as writer:
        worker = writer.jobs.register_worker(sources=["a"])
        writer.jobs.enqueue("a")
        writer.jobs.enqueue("b")
        job = writer.jobs.claim(worker)
        writer.set_meta("x", "y")
        with Catalog.open_read_only(catalog_location) as reader:
            data = overview(reader)
        assert data["catalog"]["engine"] == catalog_engine
        [shown] = data["workers"]
        assert (shown["id"], shown["alive"], shown["state"], shown["job_id"]) == (
            worker, True, "busy", job.id)
        assert shown["heartbeat_age_s"] < 60
        queue = data["queue"]
        assert (queue["queued"], queue["running"], queue["orphaned"]) == (1, 1, [])
        assert [j["source"] for j in queue["recent"]] == ["b", "a"]
        assert data["build"] is None and data["scheduler"] == {"running": False}
