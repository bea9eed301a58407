"""The crawl queue on both engines: one open job per source, a job taken by one worker only,
a dead worker's job taken over with its run, heartbeats, and what the status shows."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from catalog.store import Catalog
from tests.catalog.test_engines import eventually


@pytest.fixture
def catalog(catalog_location: str) -> Iterator[Catalog]:
    with Catalog.open(catalog_location) as cat:
        yield cat


def test_a_source_has_one_open_job_at_a_time(catalog: Catalog) -> None:
    job, created = catalog.jobs.enqueue("clickandco", full=True, by="scheduler")
    again, created_again = catalog.jobs.enqueue("clickandco", by="operator")
    assert created and not created_again and again.id == job.id and again.full
    other, _ = catalog.jobs.enqueue("dansmazone")
    assert catalog.jobs.depth()["queued"] == 2
    worker = catalog.jobs.register_worker(sources=["clickandco", "dansmazone"])
    taken = catalog.jobs.claim(worker)
    assert taken is not None and (taken.id, taken.status, taken.attempts) == (job.id, "running", 1)
    assert catalog.lock_holder("crawl:clickandco")["owner"] == worker
    assert catalog.jobs.enqueue("clickandco")[0].id == job.id  # running: still the open one
    assert catalog.jobs.finish(job.id, worker, outcome="complete")
    assert catalog.lock_holder("crawl:clickandco") is None
    done = catalog.jobs.get(job.id)
    assert (done.status, done.outcome, done.finished_at is not None) == ("done", "complete", True)
    assert catalog.jobs.enqueue("clickandco")[1]  # done: a new crawl may be queued
    assert [j.id for j in catalog.jobs.finished_since(done.finished_at)] == [job.id]
    depth = catalog.jobs.depth()
    assert (depth["queued"], depth["running"], depth["oldest_queued_at"]) == (
        2, 0, other.enqueued_at)
    assert other.id in {j.id for j in catalog.jobs.jobs(statuses=("queued",))}


def test_workers_take_only_their_sources_and_never_the_same_job(catalog: Catalog,
                                                                catalog_location: str) -> None:
    for source in ("a", "b", "c"):
        catalog.jobs.enqueue(source)
    with Catalog.open(catalog_location) as second:
        one = catalog.jobs.register_worker(sources=["a", "b", "c"])
        two = second.jobs.register_worker(sources=["b", "c"])
        assert second.jobs.claim(two, sources=["b", "c"]).source == "b"
        assert catalog.jobs.claim(one, sources=["a", "b", "c"]).source == "a"
        assert catalog.jobs.claim(one, sources=["b"]) is None  # b runs on worker two
        assert second.jobs.claim(two, sources=["a"]) is None
        assert second.jobs.claim(two, sources=[]) is None
        assert catalog.jobs.claim(one, sources=["c"]).source == "c"
        assert {w.id: (w.state, w.source) for w in catalog.jobs.live_workers()} == {
            one: ("busy", "c"), two: ("busy", "b")}
        assert [w.id for w in catalog.jobs.live_workers("a")] == [one]


def test_a_job_put_back_waits_its_delay_and_a_late_finish_is_refused(catalog: Catalog) -> None:
    job, _ = catalog.jobs.enqueue("a")
    worker = catalog.jobs.register_worker()
    assert catalog.jobs.claim(worker).id == job.id
    assert catalog.jobs.release(job.id, worker, delay_seconds=3600, message="source busy")
    assert catalog.lock_holder("crawl:a") is None
    assert catalog.jobs.claim(worker) is None  # not before an hour
    assert catalog.jobs.get(job.id).message == "source busy"
    assert not catalog.jobs.finish(job.id, worker, outcome="complete")  # not running: refused
    assert catalog.jobs.get(job.id).status == "queued"


def test_a_source_crawled_in_process_is_not_given_to_a_worker(catalog: Catalog,
                                                              catalog_location: str) -> None:
    with Catalog.open(catalog_location) as scheduler:
        assert scheduler.acquire_lock("crawl:a", "scheduler-inline") is None
        catalog.jobs.enqueue("a")
        worker = catalog.jobs.register_worker()
        assert catalog.jobs.claim(worker) is None
        scheduler.release_lock("crawl:a", "scheduler-inline")
        assert catalog.jobs.claim(worker).source == "a"


def test_a_dead_workers_job_is_taken_over_with_its_run(catalog_engine: str,
                                                       catalog_location: str) -> None:
    doomed = Catalog.open(catalog_location)
    job, _ = doomed.jobs.enqueue("a")
    dead = doomed.jobs.register_worker()
    assert doomed.jobs.claim(dead).id == job.id
    run = doomed.begin_run("a")
    doomed.jobs.set_run(job.id, run)
    with Catalog.open(catalog_location) as survivor:
        alive = survivor.jobs.register_worker()
        assert survivor.jobs.claim(alive) is None  # its worker still runs
        if catalog_engine == "sqlite":  # one machine: the worker is gone with its process
            gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                  capture_output=True, text=True, check=True)
            pid = int(gone.stdout)
            for table, key in (("workers", "id"), ("locks", "owner")):
                doomed.db.execute(f"UPDATE {table} SET pid = ? WHERE {key} = ?", (pid, dead))
            doomed.close()
        else:  # the server: the worker's connection closed when it died
            doomed.close()
            assert eventually(lambda: not survivor.jobs.worker_alive(dead))
        taken = survivor.jobs.claim(alive)
        assert taken is not None and taken.id == job.id and taken.taken_over_from == dead
        assert taken.attempts == 2 and taken.run_id == run and "taken over" in taken.message
        assert survivor.lock_holder("crawl:a")["owner"] == alive
        assert not survivor.jobs.beat(job.id, dead) and survivor.jobs.beat(job.id, alive)
        assert [w.id for w in survivor.jobs.live_workers()] == [alive]
        assert survivor.abandon_run(run)  # the new worker resumes the run at once
        assert survivor.resumable_run("a").id == run


def test_stopped_workers_are_listed_only_when_asked(catalog: Catalog) -> None:
    worker = catalog.jobs.register_worker(sources=["a"])
    catalog.jobs.worker_beat(worker)
    [info] = catalog.jobs.workers()
    assert (info.alive, info.sources, info.state, info.heartbeat_age_s < 60) == (
        True, ["a"], "idle", True)
    catalog.jobs.unregister_worker(worker)
    assert catalog.jobs.workers() == [] and catalog.jobs.live_workers() == []
    [stopped] = catalog.jobs.workers(include_stopped=True)
    assert (stopped.state, stopped.alive, stopped.stopped_at is not None) == (
        "stopped", False, True)
