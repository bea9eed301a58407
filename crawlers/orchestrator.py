"""Crawl several sources at once, one worker process each, and report per source.

``crawl_sources`` decides each source's run (resume a killed one, or start a
full or incremental one), starts the workers, follows their progress through
the catalog, records a worker that died as a failed run, and returns one
``RunReport`` per source. A source failing never stops the others.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from catalog.store import Catalog, Run
from crawlers import registry
from crawlers.errors import CrawlError
from crawlers.source import SourceConfig

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child before exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


@dataclass
class RunReport:
    """A source's run as it ended, with the figures of the per-source table."""

    source: str
    run: Run
    errors_by_kind: dict[str, int]
    resumed: bool
    skipped: bool = False  # another process was already crawling the source

    @property
    def duration_s(self) -> float:
        return self.run.duration_s or 0.0


def start_worker(cmd: list[str], config: SourceConfig, *, env: dict[str, str] | None = None,
                 stderr_file: Path | None = None) -> subprocess.Popen[bytes]:
    """A worker process started with ``cmd``, the source's configuration written to its
    standard input (``--config-stdin``) and the pipe closed."""
    stderr = open(stderr_file, "ab") if stderr_file else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=stderr, preexec_fn=_die_with_parent)
    finally:
        if not isinstance(stderr, int):  # a file we opened, not DEVNULL
            stderr.close()
    assert proc.stdin is not None
    try:
        with proc.stdin:
            proc.stdin.write(json.dumps(dataclasses.asdict(config)).encode("utf-8"))
    except BrokenPipeError:  # it died at once: its exit code tells, the run is failed
        log.warning("%s: worker %d exited before reading its configuration", config.key,
                    proc.pid)
    return proc


def plan_mode(catalog: Catalog, config: SourceConfig, *, full: bool) -> tuple[str, str | None]:
    """('full' | 'incremental', since) for the source's next run.

    Incremental only when the source asks for it, its connector supports it, a
    complete run exists to start from, and fewer than ``full_every - 1``
    incremental runs followed the last complete full one. ``since`` is the
    platform's own latest change time seen (its clock, not ours) when known.
    """
    if full or not config.incremental:
        return "full", None
    try:
        incremental = registry.resolve(config).supports_incremental()
    except CrawlError:
        return "full", None
    if not incremental:
        return "full", None
    last_ok = catalog.last_run(config.key, statuses=("complete",))
    if last_ok is None:
        return "full", None
    incremental_in_a_row = 0
    for run in catalog.runs(config.key, limit=max(1, config.full_every) + 5):
        if run.status != "complete":
            continue
        if run.mode == "full":
            break
        incremental_in_a_row += 1
    if incremental_in_a_row + 1 >= config.full_every:
        return "full", None
    return "incremental", last_ok.stats.get("high_water") or last_ok.started_at


def crawl_sources(configs: list[SourceConfig], home: str | os.PathLike[str], *,
                  sources_file: str | None = None, full: bool = False,
                  on_progress: Callable[[dict[str, Run]], None] | None = None,
                  poll_seconds: float = 0.5) -> list[RunReport]:
    """Crawl the sources concurrently; return one report per source, in order.

    Each worker gets its source's configuration exactly as given here, on its
    standard input (secrets never touch the disk), so callers may adjust a loaded
    configuration.
    """
    home = Path(home)
    catalog = Catalog.in_home(home)
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for stale in logs.glob("config-*.json"):  # left by versions that wrote secrets there
        stale.unlink(missing_ok=True)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    run_ids: dict[str, int] = {}
    resumed: dict[str, bool] = {}
    env = dict(os.environ)
    if sources_file:
        env["AGORA_SOURCES"] = str(sources_file)
    busy: dict[str, int] = {}
    for config in configs:
        last = catalog.last_run(config.key)
        run = catalog.resumable_run(config.key)
        if last is not None and last.status == "running" and run is None:
            # another process is crawling this source right now: never two runs at once
            log.warning("%s: run %d is under way in process %s; not starting another",
                        config.key, last.id, last.pid)
            busy[config.key] = last.id
            continue
        if run is not None:
            run_ids[config.key], resumed[config.key] = run.id, True
            log.info("%s: resuming killed run %d", config.key, run.id)
        else:
            mode, since = plan_mode(catalog, config, full=full)
            run_id = catalog.begin_run(config.key, mode=mode)
            if since:
                catalog.set_run_stats(run_id, {"since": since})
            run_ids[config.key], resumed[config.key] = run_id, False
        cmd = [sys.executable, "-m", "crawlers.worker", "--source", config.key,
               "--run-id", str(run_ids[config.key]), "--home", str(home), "--config-stdin"]
        if resumed[config.key]:
            cmd.append("--resume")
        procs[config.key] = start_worker(cmd, config, env=env,
                                         stderr_file=logs / f"worker-{config.key}.err")
    try:
        while procs:
            time.sleep(poll_seconds)
            for key, proc in list(procs.items()):
                code = proc.poll()
                if code is None:
                    continue
                del procs[key]
                run = catalog.get_run(run_ids[key])
                if run.status == "running":
                    catalog.finish_run(run.id, "failed",
                                       message=f"worker exited with code {code}; see "
                                               f"{logs / f'worker-{key}.err'}")
            if on_progress:
                on_progress({key: catalog.get_run(rid) for key, rid in run_ids.items()})
    finally:
        for proc in procs.values():
            proc.terminate()
    reports = []
    for config in configs:
        if config.key in busy:
            run = catalog.get_run(busy[config.key])
            reports.append(RunReport(config.key, run, catalog.errors_by_kind(run.id), False,
                                     skipped=True))
            continue
        run = catalog.get_run(run_ids[config.key])
        reports.append(RunReport(config.key, run, catalog.errors_by_kind(run.id),
                                 resumed[config.key]))
    if on_progress:
        on_progress({key: catalog.get_run(rid) for key, rid in run_ids.items()})
    catalog.close()
    return reports
