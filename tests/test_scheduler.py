"""The scheduler: cadences and jitter, a fake clock through ``tick``, restarts, locks, signals;
every test that touches the catalog runs on both engines (``home`` is ``engine_home``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner

from agora.commands.schedule import schedule_cmd
from agora.scheduler import Cadence, Scheduler, SchedulerBusy, SourceTrigger, _Aborted
from catalog.store import Catalog, Run
from crawlers.config import SourceConfig
from crawlers.errors import SourceConfigError
from replicas.server import ReplicaCluster

ROOT = Path(__file__).resolve().parents[1]
PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2025, 3, 28, 8, 0, tzinfo=UTC)  # a Friday, two days before summer time


def source(key: str, **schedule: Any) -> SourceConfig:
    return SourceConfig(key=key, name=key.title(), connector="tout_toulouse",
                        base_url="http://127.0.0.1:9", schedule=schedule)


A = source("alpha", interval="6h", jitter="20m")
B = source("bravo", cron="30 3 * * *", jitter="15m")
C = source("charlie", interval="1h")


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class FakeCrawl:
    """Crawls nothing: records a run in the catalog, takes ``minutes`` of fake time."""

    def __init__(self, home: Path, clock: FakeClock, minutes: float = 10,
                 listings: int = 1) -> None:
        self.home, self.clock, self.minutes, self.listings = home, clock, minutes, listings
        self.calls: list[tuple[str, datetime]] = []
        self.version = 0

    def __call__(self, config: SourceConfig, should_stop: Callable[[], bool]) -> Run:
        self.calls.append((config.key, self.clock()))
        self.version += 1
        with Catalog.in_home(self.home) as catalog:
            run_id = catalog.begin_run(config.key)
            items = [{"kind": "shop", "source": config.key, "source_id": str(i),
                      "name": f"Shop {i} v{self.version}"} for i in range(self.listings)]
            catalog.write_page(run_id, items)
            self.clock.advance(minutes=self.minutes)
            return catalog.finish_run(run_id, "complete", stats={"kinds": {"shop": 1}})

    def times(self, key: str) -> list[datetime]:
        return [t for k, t in self.calls if k == key]


class FakeBuild:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, catalog: Catalog) -> Any:
        self.calls += 1
        build_id = catalog.entities.begin_build("full")
        catalog.entities.complete_build(build_id, "full", {})
        return SimpleNamespace(build_id=build_id, mode="full")


@pytest.fixture
def home(engine_home: Path) -> Path:
    return engine_home


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def make(home: Path, clock: FakeClock) -> Iterator[Callable[..., Scheduler]]:
    made: list[Scheduler] = []

    def build(configs: list[SourceConfig] = (A, B, C), **kwargs: Any) -> Scheduler:
        kwargs.setdefault("crawl", FakeCrawl(home, clock))
        kwargs.setdefault("build", None)
        scheduler = Scheduler(configs, home, clock=clock, **kwargs)
        made.append(scheduler)
        return scheduler

    yield build
    for scheduler in made:
        scheduler.close()


# --------------------------------------------------------------------------- cadences
def test_interval_slots_do_not_drift_and_jitter_stays_in_bounds() -> None:
    cadence = Cadence.of(A)
    trigger = SourceTrigger(cadence, T0, T0)
    fire, slots, offsets = T0, [], []
    for _ in range(200):  # APScheduler asks with the previous fire time, at that time
        fire = trigger.get_next_fire_time(fire, fire)
        slot = trigger.slot_of(fire)
        slots.append(slot)
        offsets.append((fire - slot).total_seconds())
    assert all(b - a == timedelta(hours=6) for a, b in zip(slots, slots[1:], strict=False))
    assert slots[-1] == T0 + timedelta(hours=6 * 200)  # no drift after 200 runs
    assert all(0 <= o < 20 * 60 for o in offsets)
    assert max(offsets) - min(offsets) > 10 * 60  # really spread over the jitter
    # the jitter depends on the source and the slot only: a restart plans the same
    assert Cadence.of(A).fire_time(slots[5]) == cadence.fire_time(slots[5])
    other = Cadence.of(source("delta", interval="6h", jitter="20m"))
    assert other.offset(slots[5]) != cadence.offset(slots[5])


def test_a_late_scheduler_runs_once_not_once_per_missed_time() -> None:
    cadence = Cadence.of(C)
    trigger = SourceTrigger(cadence, T0, T0)
    now = T0 + timedelta(hours=5, minutes=30)
    assert trigger.get_next_fire_time(T0, now) == T0 + timedelta(hours=6)
    cron = Cadence.of(B)
    late = datetime(2025, 3, 20, tzinfo=UTC)
    slot = cron.first_after(late, late + timedelta(days=5))
    assert slot == datetime(2025, 3, 25, 3, 30, tzinfo=PARIS)


def test_cron_is_read_in_local_time_across_the_clock_change() -> None:
    cadence = Cadence.of(B)
    slot, slots = T0, []
    for _ in range(4):
        slot = cadence.next_slot(slot)
        slots.append(slot)
    assert [s.astimezone(PARIS).strftime("%d %H:%M") for s in slots] == [
        "29 03:30", "30 03:30", "31 03:30", "01 03:30"]
    assert slots[1] - slots[0] == timedelta(hours=23)  # the night the clocks go forward
    for s in slots:
        assert s <= cadence.fire_time(s) < s + timedelta(minutes=15)


@pytest.mark.parametrize(("schedule", "words"), [
    ({"interval": "1h", "jitter": "1h"}, "jitter .* must be shorter"),
    ({"cron": "*/5 * * * *", "jitter": "5m"}, "jitter .* must be shorter"),
    ({"cron": "61 3 * * *"}, "bad cron"),
    ({"interval": "often"}, "bad duration"),
    ({"interval": 0}, "must be positive"),
])
def test_bad_schedules_are_config_errors(schedule: dict[str, Any], words: str) -> None:
    with pytest.raises(SourceConfigError, match=words):
        Cadence.of(source("echo", **schedule))


def test_a_source_without_schedule_or_with_bad_health_is_refused(home: Path) -> None:
    with pytest.raises(SourceConfigError, match="no schedule"):
        Scheduler([SourceConfig(key="x", name="X", connector="c", base_url="http://x")], home)
    bad = SourceConfig(key="x", name="X", connector="c", base_url="http://x",
                       schedule={"interval": "1h"}, health={"min_listings": -1})
    with pytest.raises(SourceConfigError, match="health"):
        Scheduler([bad], home)


# --------------------------------------------------------------------------- the fake clock
def test_first_start_runs_every_source_soon_but_staggered(make: Callable[..., Scheduler],
                                                          clock: FakeClock) -> None:
    scheduler = make(stagger=120)
    plan = scheduler.start()
    assert sorted(plan.values()) == [T0, T0 + timedelta(minutes=2), T0 + timedelta(minutes=4)]
    crawl = scheduler.crawl
    assert [o.source for o in scheduler.tick(T0)] == [min(plan, key=plan.get)]
    clock.now = T0 + timedelta(minutes=1)
    assert scheduler.tick(clock.now) == []
    clock.now = T0 + timedelta(minutes=5)
    outcomes = scheduler.tick(clock.now)
    assert len(outcomes) == 2 and all(o.status == "complete" for o in outcomes)
    assert {k for k, _ in crawl.calls} == {"alpha", "bravo", "charlie"}


def test_two_days_on_a_fake_clock(make: Callable[..., Scheduler], clock: FakeClock) -> None:
    scheduler = make(stagger=60)
    crawl = scheduler.crawl
    end = T0 + timedelta(days=2)
    while clock.now < end:
        scheduler.tick(clock.now)
        clock.advance(minutes=5)
    alpha, bravo, charlie = crawl.times("alpha"), crawl.times("bravo"), crawl.times("charlie")
    # alpha every 6h (within the 20 min jitter and the 5 min ticks), from its first run
    gaps = [(b - a).total_seconds() / 60 for a, b in zip(alpha, alpha[1:], strict=False)]
    assert len(alpha) == 8 and all(360 - 25 <= g <= 360 + 25 for g in gaps), gaps
    # bravo: its first run at start, then 03:30 Paris (+ up to 15 min) each night
    assert [t.astimezone(PARIS).strftime("%d %H") for t in bravo[1:]] == ["29 03", "30 03"]
    assert all(timedelta(0) <= t.astimezone(PARIS) - t.astimezone(PARIS).replace(
        hour=3, minute=30) < timedelta(minutes=20) for t in bravo[1:])
    # charlie hourly, its runs taking 10 minutes
    assert 47 <= len(charlie) <= 49
    state = Catalog.in_home(scheduler.home).schedule_states()
    assert state["alpha"]["last_status"] == "complete"
    assert datetime.fromisoformat(state["alpha"]["next_run_at"]) > alpha[-1]


def test_a_run_longer_than_its_interval_is_not_doubled(make: Callable[..., Scheduler],
                                                       home: Path, clock: FakeClock) -> None:
    crawl = FakeCrawl(home, clock, minutes=150)  # 2.5 hours for an hourly source
    scheduler = make([C], crawl=crawl)
    while clock.now < T0 + timedelta(hours=10):
        scheduler.tick(clock.now)
        clock.advance(minutes=5)
    times = crawl.times("charlie")
    assert all(b - a >= timedelta(minutes=150) for a, b in zip(times, times[1:], strict=False))
    assert 3 <= len(times) <= 4


def test_a_restart_keeps_the_plan(make: Callable[..., Scheduler], clock: FakeClock) -> None:
    first = make()
    first.start()
    clock.advance(minutes=10)
    first.tick(clock.now)
    plan = first.next_runs()
    first.close()

    clock.advance(minutes=20)
    again = make()
    assert again.start() == plan  # nothing overdue: the same times
    again.close()

    # a week off: every source overdue, run soon, most overdue first, a minute apart
    clock.advance(days=7)
    late = make(stagger=60)
    restarted = late.start()
    order = sorted(plan, key=plan.get)
    assert [restarted[k] for k in order] == [clock.now + timedelta(minutes=i) for i in range(3)]
    assert [o.source for o in late.tick(clock.now)] == [order[0]]


def test_a_run_cut_short_runs_again_at_the_next_start(make: Callable[..., Scheduler],
                                                      home: Path, clock: FakeClock) -> None:
    scheduler = make([A])
    scheduler.start()
    scheduler.tick(clock.now)
    with Catalog.in_home(home) as catalog:  # the process was killed during its next run
        catalog.save_schedule_state("alpha", last_status="running",
                                    last_started_at=clock.now.isoformat())
    scheduler.close()
    again = make([A])
    assert again.start() == {"alpha": clock.now}


def test_a_changed_schedule_is_planned_from_the_last_run(make: Callable[..., Scheduler],
                                                         clock: FakeClock) -> None:
    clock.now = datetime.now(UTC).replace(microsecond=0)  # runs carry real times
    scheduler = make([C])
    scheduler.tick(clock.now)
    scheduler.close()
    faster = source("charlie", interval="2h")
    plan = make([faster]).start(clock.now + timedelta(minutes=30))
    started = clock.now - timedelta(minutes=10)  # the fake crawl took 10 minutes
    assert abs(plan["charlie"] - (started + timedelta(hours=2))) < timedelta(minutes=11)


def test_a_run_much_too_late_is_skipped(make: Callable[..., Scheduler],
                                        clock: FakeClock) -> None:
    scheduler = make([C], misfire_grace=600)
    scheduler.start()
    outcomes = scheduler.tick(clock.now + timedelta(minutes=30))
    assert outcomes == [] and scheduler.crawl.calls == []
    assert scheduler.next_runs()["charlie"] == T0 + timedelta(hours=1)


# --------------------------------------------------------------------------- never twice at once
def test_a_source_locked_elsewhere_is_skipped(make: Callable[..., Scheduler], home: Path,
                                              clock: FakeClock) -> None:
    scheduler = make([C])
    scheduler.start()
    with Catalog.in_home(home) as catalog:  # another process holds the lock while it runs
        assert catalog.acquire_lock("crawl:charlie", "another", pid=os.getppid()) is None
        [outcome] = scheduler.tick(clock.now)
        assert outcome.status == "skipped" and f"pid {os.getppid()}" in outcome.message
        assert scheduler.crawl.calls == []
        catalog.release_lock("crawl:charlie", "another")
    with Catalog.in_home(home) as catalog:
        run_id = catalog.begin_run("charlie")  # `agora crawl charlie` running in this process
    [outcome] = scheduler.tick(clock.advance(hours=1))
    assert outcome.status == "skipped" and f"run {run_id}" in outcome.message
    with Catalog.in_home(home) as catalog:
        catalog.finish_run(run_id, "complete")
    [outcome] = scheduler.tick(clock.advance(hours=1))
    assert outcome.status == "complete"


def test_a_dead_holder_does_not_block(make: Callable[..., Scheduler], home: Path,
                                      clock: FakeClock) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Catalog.in_home(home) as catalog:
        catalog.acquire_lock("crawl:charlie", "dead", pid=dead.pid)
        catalog.acquire_lock("scheduler", "dead", pid=dead.pid)
    scheduler = make([C])
    [outcome] = scheduler.tick(clock.now)
    assert outcome.status == "complete"


def test_one_scheduler_per_catalog(make: Callable[..., Scheduler]) -> None:
    first = make([C])
    first.start()
    with pytest.raises(SchedulerBusy, match=f"pid {os.getpid()}"):
        make([C]).start()
    first.close()
    make([C]).start()


def test_the_build_follows_a_crawl_that_changed_something(make: Callable[..., Scheduler],
                                                          home: Path,
                                                          clock: FakeClock) -> None:
    build = FakeBuild()
    crawl = FakeCrawl(home, clock)
    scheduler = make([C], crawl=crawl, build=build)
    [outcome] = scheduler.tick(clock.now)
    assert build.calls == 1 and outcome.build_id == 1
    crawl.version -= 1  # the next crawl finds the same listings: nothing to build
    [outcome] = scheduler.tick(clock.advance(hours=1))
    assert build.calls == 1 and outcome.build_id is None
    [outcome] = scheduler.tick(clock.advance(hours=1))
    assert build.calls == 2


def test_a_failing_crawl_or_build_does_not_stop_the_scheduler(
        make: Callable[..., Scheduler], home: Path, clock: FakeClock) -> None:
    def broken(config: SourceConfig, should_stop: Callable[[], bool]) -> Run:
        raise RuntimeError("disk full")

    scheduler = make([A, C], crawl=broken)
    outcomes = scheduler.tick(clock.now)
    assert [o.status for o in outcomes] == ["error"]
    assert "disk full" in outcomes[0].message
    with Catalog.in_home(home) as catalog:
        assert catalog.schedule_states()[outcomes[0].source]["last_status"] == "error"
        assert catalog.lock_holder(f"crawl:{outcomes[0].source}") is None
    scheduler.close()

    def no_index(catalog: Catalog) -> Any:
        raise ModuleNotFoundError("No module named 'catalog.indexing'")

    scheduler = make([C], build=no_index)
    [outcome] = scheduler.tick(clock.advance(minutes=2))  # charlie came a minute after alpha
    assert outcome.status == "complete" and "build failed: ModuleNotFoundError" in (
        outcome.build_error)
    with Catalog.in_home(home) as catalog:
        assert "build failed" in catalog.schedule_states()["charlie"]["last_message"]
    [outcome] = scheduler.tick(clock.advance(hours=1))  # and it goes on
    assert outcome.status == "complete"


# --------------------------------------------------------------------------- real time
def test_apscheduler_never_runs_a_source_twice_at_once(home: Path) -> None:
    running, overlaps, starts = set(), [], []

    def slow(config: SourceConfig, should_stop: Callable[[], bool]) -> Run:
        if config.key in running:
            overlaps.append(config.key)
        running.add(config.key)
        starts.append(time.monotonic())
        time.sleep(1.4)
        running.discard(config.key)
        with Catalog.in_home(home) as catalog:
            return catalog.finish_run(catalog.begin_run(config.key), "complete")

    scheduler = Scheduler([source("fast", interval="1s")], home, crawl=slow, build=None)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.serve, kwargs={"stop": stop,
                                                              "handle_signals": False})
    thread.start()
    time.sleep(3.6)
    stop.set()
    thread.join(10)
    assert not thread.is_alive() and not overlaps
    assert len(starts) >= 2
    assert all(b - a >= 1.4 for a, b in zip(starts, starts[1:], strict=False))


def test_sigterm_lets_the_scheduler_stop_a_crawl_and_exit(home: Path) -> None:
    started = threading.Event()

    def endless(config: SourceConfig, should_stop: Callable[[], bool]) -> Run:
        started.set()
        while not should_stop():
            time.sleep(0.02)
        raise _Aborted()  # what the real crawl raises from its progress

    scheduler = Scheduler([C], home, crawl=endless, build=None, shutdown_grace=0.3)

    def kill() -> None:
        started.wait(10)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=kill, daemon=True).start()
    assert scheduler.serve() == 0
    assert signal.getsignal(signal.SIGTERM) is previous
    with Catalog.in_home(home) as catalog:
        state = catalog.schedule_states()["charlie"]
        assert state["last_status"] == "interrupted"
        assert catalog.lock_holder("scheduler") is None
        assert catalog.lock_holder("crawl:charlie") is None
    # the interrupted run comes first at the next start
    again = Scheduler([C], home, crawl=endless, build=None)
    now = datetime.now(UTC)
    assert again.start(now) == {"charlie": now}
    again.close()


# --------------------------------------------------------------------------- the command
def sources_file(tmp_path: Path, cluster: ReplicaCluster, **changes: Any) -> Path:
    data = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
    entry = data["sources"]["toulouse_boutiques"]
    entry.update(base_url=cluster.urls["toulouse_boutiques"],
                 schedule={"interval": "1h", "jitter": "1m"}, **changes)
    path = tmp_path / f"sources-{len(changes)}.yaml"
    path.write_text(yaml.safe_dump({"sources": {"toulouse_boutiques": entry}},
                                   allow_unicode=True), encoding="utf-8")
    return path


def territories_file(tmp_path: Path) -> Path:
    """A territories file whose one territory is served by the one source of
    ``sources_file`` (a territory naming a source the file lacks is refused)."""
    data = yaml.safe_load((ROOT / "config" / "territories.yaml").read_text(encoding="utf-8"))
    entry = data["territories"]["toulouse"]
    entry["sources"] = ["toulouse_boutiques"]
    path = tmp_path / "territories.yaml"
    path.write_text(yaml.safe_dump({"territories": {"toulouse": entry}}, allow_unicode=True),
                    encoding="utf-8")
    return path


def test_schedule_once_then_sigterm_on_the_daemon(tmp_path: Path, home: Path,
                                                  replica_cluster: Any, catalog_engine: str,
                                                  request: pytest.FixtureRequest,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = replica_cluster(shops=40, seed=3, platforms=("toulouse_boutiques",))
    path = sources_file(tmp_path, cluster)
    territories = str(territories_file(tmp_path))
    env = {"AGORA_HOME": str(home), "AGORA_SOURCES": str(path), "AGORA_SCHEDULE_CRAWL": "inline",
           "AGORA_TERRITORIES_FILE": territories}
    result = CliRunner().invoke(schedule_cmd, ["--once", "--no-build"], env=env)
    assert result.exit_code == 0, result.output
    assert "toulouse_boutiques: next run at" in result.output
    with Catalog.in_home(home) as catalog:
        state = catalog.schedule_states()["toulouse_boutiques"]
        assert state["last_status"] == "complete"
        assert catalog.get_run(state["last_run_id"]).listings == len(
            cluster.platforms["toulouse_boutiques"].records)
    result = CliRunner().invoke(schedule_cmd, ["--once", "--no-build"], env=env)
    assert "Nothing due." in result.output  # the next run is an hour away
    result = CliRunner().invoke(schedule_cmd, ["--once", "--no-build", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["runs"] == [] and list(data["next_runs"]) == ["toulouse_boutiques"]

    # the daemon, on a new catalog: its first run starts at once; SIGTERM during the
    # crawl lets it finish (within --grace), then the process exits 0
    home2 = tmp_path / "home2"
    slow = sources_file(tmp_path, cluster, concurrency=1, delay=0.02)
    env = {**os.environ, "AGORA_HOME": str(home2), "AGORA_SOURCES": str(slow),
           "AGORA_TERRITORIES_FILE": territories}
    if catalog_engine == "postgresql":  # a new catalog: a new database
        env["AGORA_CATALOG_URL"] = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("AGORA_CATALOG_URL", env["AGORA_CATALOG_URL"])  # this test's reads
    proc = subprocess.Popen([sys.executable, "-m", "agora.commands.schedule", "--no-build",
                             "--grace", "60s"], cwd=ROOT, env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 30
    state: dict[str, Any] = {}
    while state.get("last_status") != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
        with Catalog.in_home(home2) as catalog:
            state = catalog.schedule_states().get("toulouse_boutiques", {})
    assert state.get("last_status") == "running"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "SIGTERM received" in stderr and "toulouse_boutiques: run 1 complete" in stderr
    assert stderr.index("SIGTERM received") < stderr.index("run 1 complete")  # it finished
    with Catalog.in_home(home2) as catalog:
        assert catalog.schedule_states()["toulouse_boutiques"]["last_status"] == "complete"
        assert catalog.lock_holder("scheduler") is None
