"""The demo, end to end: replicas, crawl, build (with the embedded index), serve.

``run_demo`` starts the replica platforms in a background process (``agora
replicas serve``, on their usual ports 8701-8706 when free, else on any free
ports), crawls every enabled source of the sources file against them, builds
the catalog (normalize, dedup, index) and, unless ``serve`` is False, serves the
site with gunicorn on 127.0.0.1 (the port asked for, or the next free one) until
Ctrl-C, when the replicas are stopped too. Each stage's duration is reported
through ``on_stage`` as it ends and in the returned ``DemoReport``.

Example (a small world, without serving):
    >>> report = run_demo("/tmp/agora-demo", shops=40, serve=False)  # doctest: +SKIP
    >>> [s.name for s in report.stages]  # doctest: +SKIP
    ['replicas', 'crawl', 'build']
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agora import settings
from agora.errors import DemoError
from agora.pipeline import build
from catalog.store import Catalog
from crawlers.config import load_sources
from crawlers.orchestrator import crawl_sources
from replicas.platforms import DEFAULT_PORTS
from replicas.server import env_var_for
from search_ui.server import free_port, port_free
from search_ui.server import serve as run_server

REPLICA_START_TIMEOUT_S = 180.0
_PR_SET_PDEATHSIG = 1


@dataclass
class DemoStage:
    name: str
    seconds: float
    detail: str = ""
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class DemoReport:
    home: Path
    stages: list[DemoStage] = field(default_factory=list)
    url: str | None = None
    replica_urls: dict[str, str] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.stages)


def _die_with_parent() -> None:  # runs in the child before exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class Replicas:
    """The replica platforms in a child process (``agora replicas serve``)."""

    def __init__(self, *, seed: int, shops: int, host: str = "127.0.0.1",
                 log_path: Path | None = None) -> None:
        self.seed, self.shops, self.host = seed, shops, host
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.urls: dict[str, str] = {}

    def start(self, timeout: float = REPLICA_START_TIMEOUT_S) -> dict[str, str]:
        ready = Path(tempfile.mkdtemp(prefix="agora-demo-")) / "replicas.json"
        cmd = [sys.executable, "-m", "agora.cli", "replicas", "serve", "--seed", str(self.seed),
               "--shops", str(self.shops), "--host", self.host, "--ready-file", str(ready)]
        if not all(port_free(self.host, p) for p in DEFAULT_PORTS.values()):
            cmd.append("--any-port")
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log,
                                         preexec_fn=_die_with_parent)
        finally:
            if not isinstance(log, int):  # a file we opened, not DEVNULL
                log.close()
        deadline = time.monotonic() + timeout
        while not ready.exists() or not ready.stat().st_size:
            if self.proc.poll() is not None:
                raise DemoError(f"the replicas exited with code {self.proc.returncode}"
                                + (f"; see {self.log_path}" if self.log_path else ""))
            if time.monotonic() > deadline:
                self.stop()
                raise DemoError(f"the replicas did not start within {timeout:.0f} s")
            time.sleep(0.1)
        self.urls = json.loads(ready.read_text(encoding="utf-8"))["urls"]
        ready.unlink(missing_ok=True)
        ready.parent.rmdir()
        return self.urls

    def env(self) -> dict[str, str]:
        return {env_var_for(key): url for key, url in self.urls.items()}

    def disown(self) -> None:
        """Forget the child without touching it (in a forked process: the gunicorn workers
        inherit this handle and must neither stop the replicas nor warn about them)."""
        if self.proc is not None:
            self.proc.returncode = 0
            self.proc = None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def run_demo(home: str | os.PathLike[str] | None = None, *, shops: int = 1500, seed: int = 42,
             host: str = "127.0.0.1", port: int = 8000, serve: bool = True,
             sources_file: str | os.PathLike[str] | None = None, workers: int | None = None,
             on_stage: Callable[[DemoStage], None] | None = None,
             on_ready: Callable[[DemoReport], None] | None = None) -> DemoReport:
    """Replicas, crawl, build and index, then (when ``serve``) serve until interrupted.

    Args:
        home: AGORA_HOME for the demo's catalog and logs (default: the setting, ./var).
        shops: shops in the replica world.
        seed: the world's seed.
        host, port: where to serve (the next free port when ``port`` is taken).
        serve: False stops after the build (tests), stopping the replicas.
        sources_file: the sources file (default: the setting).
        workers: gunicorn workers (default: 2 x CPUs + 1, at most 8).
        on_stage: called with each stage as it ends.
        on_ready: called once the site listens (``report.url`` is set).

    Returns:
        the ``DemoReport`` (after the server stopped, when serving).

    Raises:
        DemoError: when the replicas do not start or no source could be crawled.
    """
    home_path = Path(home) if home is not None else settings.home()
    home_path.mkdir(parents=True, exist_ok=True)
    (home_path / "logs").mkdir(exist_ok=True)
    sources = Path(sources_file) if sources_file else settings.sources_file()
    report = DemoReport(home_path)

    def done(stage: DemoStage) -> None:
        report.stages.append(stage)
        if on_stage:
            on_stage(stage)

    replicas = Replicas(seed=seed, shops=shops, host="127.0.0.1",
                        log_path=home_path / "logs" / "demo-replicas.log")
    # gunicorn forks its workers from inside ``run_server``: when a worker exits, its
    # SystemExit unwinds through this function in the worker process, which must then
    # leave at once and never stop the replicas or print anything.
    parent = os.getpid()
    saved_env = {k: os.environ.get(k) for k in ("AGORA_HOME", "AGORA_SOURCES")}
    try:
        t0 = time.perf_counter()
        report.replica_urls = replicas.start()
        done(DemoStage("replicas", time.perf_counter() - t0,
                       f"{len(report.replica_urls)} platforms, world of {shops} shops "
                       f"(seed {seed})", {"platforms": len(report.replica_urls)}))

        # the sources file reads the replicas' addresses from the environment
        replica_env = replicas.env()
        saved_env.update({k: os.environ.get(k) for k in replica_env})
        os.environ.update(replica_env)
        os.environ["AGORA_HOME"] = str(home_path)
        os.environ["AGORA_SOURCES"] = str(sources)
        t0 = time.perf_counter()
        every = load_sources(sources)
        with Catalog.open(home_path / "catalog.sqlite") as catalog:
            catalog.register_sources(every.values())
        configs = [c for c in every.values() if c.enabled]
        runs = crawl_sources(configs, home_path, sources_file=str(sources))
        listings = sum(r.run.listings for r in runs)
        failed = [r.source for r in runs if r.run.status == "failed"]
        if len(failed) == len(runs):
            raise DemoError(f"every crawl failed; see {home_path / 'logs'}")
        done(DemoStage("crawl", time.perf_counter() - t0,
                       f"{len(runs)} sources, {listings} listings"
                       + (f" (failed: {', '.join(failed)})" if failed else ""),
                       {"sources": len(runs), "listings": listings, "failed": failed,
                        "per_source": {r.source: {"status": r.run.status,
                                                  "listings": r.run.listings,
                                                  "seconds": round(r.duration_s, 2)}
                                       for r in runs}}))

        t0 = time.perf_counter()
        with Catalog.open(home_path / "catalog.sqlite") as catalog:
            built = build(catalog, index=True)
        figures = {s.name: round(s.seconds, 2) for s in built.stages}
        index = built.stage("index")
        dedup = built.stage("dedup")
        done(DemoStage("build", time.perf_counter() - t0,
                       ", ".join(f"{k} {v:.1f} s" for k, v in figures.items())
                       + (f"; {index.figures.get('documents')} documents indexed"
                          if index else "")
                       + (f"; {dedup.figures.get('entities_written')} entities"
                          if dedup and dedup.figures.get("entities_written") else ""),
                       {"build_id": built.build_id, "stages": figures}))

        if not serve:
            return report
        chosen = free_port(host, port)
        started = time.perf_counter()

        def ready(url: str) -> None:
            report.url = url + "/"
            done(DemoStage("serve", time.perf_counter() - started, f"gunicorn at {report.url}"))
            if on_ready:
                on_ready(report)

        try:
            run_server(host, chosen, workers=workers,
                       config={"AGORA_CATALOG": str(home_path / "catalog.sqlite")},
                       on_ready=ready)
        except SystemExit as exc:  # gunicorn's arbiter exits when stopped (Ctrl-C)
            if os.getpid() != parent:
                replicas.disown()
                raise
            if exc.code not in (0, None):
                raise
        return report
    finally:
        if os.getpid() == parent:
            replicas.stop()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
