"""``agora worker`` on both engines, with crawls faked in-process: a job run and recorded, a
worker stopped mid-crawl puts its job back, a dead worker's run resumed by the next, a run
under way elsewhere waited for, and the scheduler queueing for workers (queue and auto)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from agora import scheduler as scheduler_module
from agora.scheduler import Scheduler
from agora.worker import Worker
from catalog.store import Catalog
from crawlers.config import SourceConfig
from crawlers.orchestrator import RunReport
from tests.conftest import empty_postgres_catalog

CHARLIE = SourceConfig(key="charlie", name="Charlie", connector="tout_toulouse",
                       base_url="http://127.0.0.1:9", schedule={"interval": "1h"})


@pytest.fixture
def sources_file(tmp_path: Path) -> str:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  charlie:\n    name: Charlie\n    connector: tout_toulouse\n"
                    "    base_url: http://127.0.0.1:9\n    schedule: {interval: 1h}\n",
                    encoding="utf-8")
    return str(path)


class FakeCrawl:
    """Stores ``pages`` pages of one listing each (resuming a killed run where it stopped),
    calling the worker's progress callback after each; ``on_page`` may interfere."""

    def __init__(self, home: Path, pages: int = 3,
                 on_page: Callable[[int], None] | None = None) -> None:
        self.home, self.pages, self.on_page = home, pages, on_page
        self.calls: list[dict[str, Any]] = []

    def __call__(self, config: SourceConfig, full: bool,
                 progress: Callable[[dict[str, Any]], None]) -> RunReport:
        with Catalog.in_home(self.home) as catalog:
            last = catalog.last_run(config.key)
            if last is not None and last.status == "running" \
                    and catalog.resumable_run(config.key) is None:
                return RunReport(config.key, last, {}, False, skipped=True)
            resumable = catalog.resumable_run(config.key)
            run_id = resumable.id if resumable else catalog.begin_run(config.key)
            done = catalog.done_pages(run_id)
            self.calls.append({"run": run_id, "resumed": bool(resumable), "skipped": len(done)})
            for page in range(self.pages):
                url = f"https://charlie.example/{page}"
                if url in done:
                    continue
                catalog.write_page(run_id, [{"kind": "shop", "source": config.key,
                                             "source_id": str(page)}], url=url, mark_done=True)
                progress({config.key: catalog.get_run(run_id)})
                if self.on_page:
                    self.on_page(page)
            run = catalog.finish_run(run_id, "complete")
            return RunReport(config.key, run, {}, bool(resumable))


def test_a_job_is_run_recorded_and_the_worker_listed(engine_home: Path,
                                                     sources_file: str) -> None:
    crawl = FakeCrawl(engine_home)
    with Catalog.in_home(engine_home) as catalog:
        job, _ = catalog.jobs.enqueue("charlie", by="operator")
    with Worker(engine_home, sources_file=sources_file, crawl=crawl) as worker:
        outcome = worker.run_once()
        assert outcome is not None and outcome.status == "complete"
        assert outcome.figures["new"] == 3 and worker.run_once() is None
        with Catalog.in_home(engine_home) as catalog:
            done = catalog.jobs.get(job.id)
            assert (done.status, done.outcome, done.run_id) == ("done", "complete",
                                                                outcome.run_id)
            [info] = catalog.jobs.workers()
            assert (info.id, info.alive, info.jobs_done, info.sources) == (
                worker.id, True, 1, ["charlie"])
    with Catalog.in_home(engine_home) as catalog:
        assert catalog.jobs.workers() == []  # stopped: unregistered


def test_a_worker_stopped_mid_crawl_puts_its_job_back_and_the_next_resumes(
        engine_home: Path, sources_file: str) -> None:
    with Catalog.in_home(engine_home) as catalog:
        job, _ = catalog.jobs.enqueue("charlie")
    first = Worker(engine_home, sources_file=sources_file)
    first.crawl = FakeCrawl(engine_home, on_page=lambda page: first.stop_event.set())
    with first:
        outcome = first.run_once()
        assert outcome.status == "interrupted"
    with Catalog.in_home(engine_home) as catalog:
        back = catalog.jobs.get(job.id)
        assert back.status == "queued" and catalog.get_run(back.run_id).status == "running"
        catalog.abandon_run(back.run_id)  # its crawl process was stopped with the worker
    crawl = FakeCrawl(engine_home)
    with Worker(engine_home, sources_file=sources_file, crawl=crawl) as second:
        outcome = second.run_once()
    assert outcome.status == "complete" and outcome.run_id == back.run_id
    # stopped at the second page's progress: the third page is all that is left
    assert crawl.calls == [{"run": back.run_id, "resumed": True, "skipped": 2}]
    assert outcome.figures["new"] == 3  # each listing counted new once over the two workers


def test_a_dead_workers_run_is_resumed_by_the_worker_taking_its_job(
        engine_home: Path, sources_file: str, catalog_engine: str) -> None:
    doomed = Catalog.in_home(engine_home)
    job, _ = doomed.jobs.enqueue("charlie")
    dead = doomed.jobs.register_worker(sources=["charlie"])
    doomed.jobs.claim(dead)
    run_id = doomed.begin_run("charlie")  # alive and beating, as far as the run tells
    doomed.write_page(run_id, [{"kind": "shop", "source": "charlie", "source_id": "0"}],
                      url="https://charlie.example/0", mark_done=True)
    if catalog_engine == "sqlite":  # one machine: the worker's process is gone
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
        doomed.db.execute("UPDATE workers SET pid = ? WHERE id = ?", (int(gone.stdout), dead))
        doomed.db.execute("UPDATE locks SET pid = ? WHERE owner = ?", (int(gone.stdout), dead))
    doomed.close()  # on PostgreSQL, its connection (and locks) went with it
    crawl = FakeCrawl(engine_home)
    with Worker(engine_home, sources_file=sources_file, crawl=crawl) as worker:
        outcome = None
        for _ in range(100):  # the server frees a closed connection's locks soon
            outcome = worker.run_once()
            if outcome is not None:
                break
    assert outcome is not None and outcome.taken_over_from == dead
    assert outcome.status == "complete" and outcome.run_id == run_id
    assert crawl.calls == [{"run": run_id, "resumed": True, "skipped": 1}]
    with Catalog.in_home(engine_home) as catalog:
        assert catalog.get_run(run_id).new == 3 and catalog.jobs.get(job.id).attempts == 2


def test_a_run_under_way_outside_the_queue_is_waited_for(engine_home: Path,
                                                         sources_file: str) -> None:
    with Catalog.in_home(engine_home) as catalog:
        job, _ = catalog.jobs.enqueue("charlie")
        running = catalog.begin_run("charlie")  # `agora crawl charlie` in this process
    with Worker(engine_home, sources_file=sources_file,
                crawl=FakeCrawl(engine_home)) as worker:
        outcome = worker.run_once()
    assert outcome.status == "requeued" and f"run {running}" in outcome.message
    with Catalog.in_home(engine_home) as catalog:
        back = catalog.jobs.get(job.id)
        assert back.status == "queued" and back.not_before > datetime.now(UTC).isoformat()


def test_the_scheduler_queues_for_workers_and_builds_once_they_are_done(
        engine_home: Path, sources_file: str) -> None:
    built: list[int] = []

    def build(catalog: Catalog) -> Any:
        built.append(catalog.count_listings())

    with Scheduler([CHARLIE], engine_home, crawl_mode="queue", build=build) as scheduler:
        [outcome] = scheduler.tick()
        assert (outcome.status, outcome.job_id is not None) == ("queued", True)
        assert scheduler.collect() == [] and built == []  # no worker yet
        with Worker(engine_home, sources_file=sources_file,
                    crawl=FakeCrawl(engine_home)) as worker:
            assert worker.run_once().status == "complete"
        assert scheduler.settle(timeout=10)
        assert (outcome.status, outcome.figures["new"], built) == ("complete", 3, [3])
        with Catalog.in_home(engine_home) as catalog:
            state = catalog.schedule_states()["charlie"]
            assert (state["last_status"], state["last_run_id"]) == ("complete", outcome.run_id)


def test_auto_mode_queues_only_when_a_live_worker_crawls_the_source(
        engine_home: Path, sources_file: str) -> None:
    inline_runs: list[str] = []

    def inline(config: SourceConfig, should_stop: Callable[[], bool]) -> Any:
        inline_runs.append(config.key)
        with Catalog.in_home(engine_home) as catalog:
            return catalog.finish_run(catalog.begin_run(config.key), "complete")

    with Scheduler([CHARLIE], engine_home, crawl_mode="auto", crawl=inline,
                   build=None) as scheduler:
        assert scheduler.run_source("charlie").status == "complete"
        assert inline_runs == ["charlie"]
        other = Worker(engine_home, sources_file=sources_file, only=["charlie"])
        other.start()
        try:
            outcome = scheduler.run_source("charlie")
            assert outcome.status == "queued" and inline_runs == ["charlie"]
        finally:
            other.close()


@pytest.mark.postgres
def test_a_scheduler_that_loses_its_catalog_stops_for_its_service_manager(
        shared_postgres_catalog: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = empty_postgres_catalog(shared_postgres_catalog)
    monkeypatch.setenv("AGORA_CATALOG_URL", url)
    monkeypatch.setattr(scheduler_module, "LOCK_REFRESH_SECONDS", 0.2)
    monkeypatch.setattr(scheduler_module, "COLLECT_SECONDS", 0.1)
    scheduler = Scheduler([CHARLIE], tmp_path, crawl_mode="queue", build=None)
    scheduler.start()
    with psycopg.connect(url, autocommit=True) as admin:  # PostgreSQL restarted, say
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid != pg_backend_pid()")
    started = datetime.now(UTC)
    assert scheduler.serve(handle_signals=False) == 1
    assert (datetime.now(UTC) - started).total_seconds() < 30
