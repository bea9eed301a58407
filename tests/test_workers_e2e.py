"""Crawl workers on several machines, as a deployment runs them.

The scheduler and three ``agora worker`` processes, each with its own AGORA_HOME
(as on separate hosts), share one PostgreSQL catalog and crawl the replicas of both
territories (Toulouse and the Grand Nancy, with the provider serving both); one
worker is SIGKILLed in the middle of a crawl. Its job is taken over and its run
resumed by another worker, and the crawl ends with every listing of the
replicas once: none lost, none stored or counted new twice.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from catalog.store import Catalog
from replicas.faults import FaultProfile
from replicas.geo import REGIONS
from tests.conftest import ROOT, agora_env, run_agora


def _agora(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "agora.cli", *args], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)


def _wait(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.postgres
@pytest.mark.slow
def test_three_workers_one_killed_mid_crawl_every_listing_once(
        replica_cluster: Any, postgres_url: str, tmp_path: Path) -> None:
    cluster = replica_cluster(shops=200, seed=31, regions=tuple(REGIONS),
                              faults=FaultProfile.parse("slow=0.25,slow_seconds=0.05"))
    expected = {(x["source"], x["source_id"]): x for x in cluster.expected_listings()}
    assert {x["postcode"][:2] for x in expected.values() if x["kind"] == "shop"
            and x.get("postcode")} >= {"31", "54"}  # both territories' shops are crawled
    homes = {name: tmp_path / name for name in ("scheduler", "w1", "w2", "w3")}
    envs = {name: agora_env(home, cluster, AGORA_CATALOG_URL=postgres_url)
            for name, home in homes.items()}
    for home in homes.values():
        home.mkdir()
    workers = {name: _agora(["worker", "--poll", "0.3"], envs[name], homes[name] / "out.log")
               for name in ("w1", "w2", "w3")}
    scheduler = None
    try:
        with Catalog.open(postgres_url) as catalog:
            _wait(lambda: len(catalog.jobs.live_workers()) == 3, 60, "three workers")
        scheduler = _agora(["schedule", "--once", "--crawl", "queue", "--wait", "10m"],
                           envs["scheduler"], homes["scheduler"] / "out.log")

        def busy_mid_crawl() -> tuple[str, int, int] | None:
            with Catalog.open(postgres_url) as catalog:
                for worker in catalog.jobs.live_workers():
                    job = catalog.jobs.get(worker.job_id) if worker.job_id else None
                    if job is None or job.run_id is None:
                        continue
                    run = catalog.get_run(job.run_id)
                    if run.status == "running" and run.listings >= 40:
                        return worker.id, job.id, run.id
            return None

        victim_id, job_id, run_id = _wait(busy_mid_crawl, 120, "a worker in mid-crawl")
        victim_pid = int(victim_id.split(":")[1])
        victim = next(n for n, p in workers.items() if p.pid == victim_pid)
        workers[victim].send_signal(signal.SIGKILL)  # its crawl process dies with it
        workers[victim].wait(10)
        with Catalog.open(postgres_url) as catalog:
            killed = catalog.get_run(run_id)
            assert killed.status == "running" and killed.listings < len(
                [k for k in expected if k[0] == killed.source])

        assert scheduler.wait(600) == 0, (homes["scheduler"] / "out.log").read_text()
    finally:
        for proc in [*workers.values(), *([scheduler] if scheduler else [])]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
    for name, proc in workers.items():
        if name != victim:
            assert proc.wait(60) == 0, (homes[name] / "out.log").read_text()

    with Catalog.open(postgres_url) as catalog:
        job = catalog.jobs.get(job_id)
        assert (job.status, job.attempts, job.run_id) == ("done", 2, run_id)
        assert f"taken over from worker {victim_id}" in job.message and job.worker != victim_id
        resumed = catalog.get_run(run_id)
        assert resumed.status == "complete" and resumed.resumed == 1
        # every listing once: exactly the replicas' listings, each counted new once
        assert {(x["source"], x["source_id"]): x for x in catalog.listings()} == expected
        assert catalog.count_listings(status="gone") == 0
        runs = [r for r in catalog.runs(limit=50) if r.kind == "crawl"]
        assert all(r.status == "complete" for r in runs) and len(runs) == len(cluster.urls)
        for run in runs:
            assert run.new == sum(1 for k in expected if k[0] == run.source), run
        statuses = {s["source"]: s["last_status"] for s in catalog.schedule_states().values()}
        assert set(statuses.values()) == {"complete"}
        assert catalog.entities.count() > 0  # the scheduler built once the jobs had ended
        states = {w.id: w.state for w in catalog.jobs.workers(include_stopped=True)}
        assert len(states) == 3 and states[victim_id] != "stopped"  # it never said goodbye
        assert all(state == "stopped" for w, state in states.items() if w != victim_id)

    # what an operator sees: the dead worker without heartbeat, the queue empty
    status = json.loads(run_agora(["status", "--json"], envs["scheduler"]).stdout)
    workers_seen = {w["id"]: w for w in status["workers"]}
    assert workers_seen[victim_id]["alive"] is False and status["queue"]["queued"] == 0
    assert status["catalog"]["engine"] == "postgresql" and "@" in status["catalog"]["location"]
    assert all(s["state"] == "ok" for s in status["sources"]) and status["problems"] == []


@pytest.mark.postgres
def test_auto_mode_crawls_inline_when_no_worker_is_alive(replica_cluster: Any,
                                                         postgres_url: str,
                                                         tmp_path: Path) -> None:
    cluster = replica_cluster(shops=30, seed=32, platforms=("clickandco",))
    home = tmp_path / "home"
    env = agora_env(home, cluster, AGORA_CATALOG_URL=postgres_url)
    run_agora(["schedule", "--once", "--no-build", "clickandco"], env)
    with Catalog.open(postgres_url) as catalog:
        assert catalog.jobs.jobs() == []  # nothing queued: the scheduler crawled itself
        assert catalog.schedule_states()["clickandco"]["last_status"] == "complete"
        assert catalog.count_listings("clickandco") == len(
            [x for x in cluster.expected_listings() if x["source"] == "clickandco"])


def test_a_crawl_enqueued_by_hand_is_run_by_a_worker_once(replica_cluster: Any,
                                                          tmp_path: Path) -> None:
    """On one machine's SQLite catalog too: `agora worker enqueue`, then `agora worker --once`."""
    cluster = replica_cluster(shops=30, seed=33, platforms=("clickandco",))
    env = agora_env(tmp_path / "home", cluster)
    queued = run_agora(["worker", "enqueue", "clickandco", "--full"], env).stdout
    assert "clickandco: job 1 queued" in queued
    assert "already queued" in run_agora(["worker", "enqueue", "clickandco"], env).stdout
    done = run_agora(["worker", "--once", "--source", "clickandco"], env).stdout
    assert "job 1 clickandco: complete (run 1" in done
    with Catalog.in_home(tmp_path / "home") as catalog:
        assert catalog.jobs.get(1).status == "done" and catalog.jobs.depth()["queued"] == 0
        assert catalog.count_listings("clickandco") == len(
            [x for x in cluster.expected_listings() if x["source"] == "clickandco"])
        [stopped] = catalog.jobs.workers(include_stopped=True)
        assert stopped.state == "stopped" and stopped.jobs_done == 1
