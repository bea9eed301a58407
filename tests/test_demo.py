"""``agora demo``: replicas, crawl, build and index, then serve (a small world here)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from agora.demo import DemoStage, run_demo
from catalog.backends import SearchQuery, open_backend
from catalog.store import Catalog
from replicas.platforms import PLATFORM_CLASSES

ROOT = Path(__file__).resolve().parents[1]
DEMO = "from agora.commands.demo import demo_cmd; demo_cmd(prog_name='agora demo')"


def test_run_demo_without_serving(tmp_path: Path) -> None:
    seen: list[DemoStage] = []
    before = dict(os.environ)
    report = run_demo(tmp_path / "home", shops=40, seed=3, serve=False, on_stage=seen.append)
    assert [s.name for s in report.stages] == ["replicas", "crawl", "build"] == [
        s.name for s in seen]
    assert all(s.seconds > 0 for s in report.stages)
    crawl = report.stages[1].figures
    assert crawl["sources"] == len(PLATFORM_CLASSES) and crawl["listings"] > 100 and not crawl["failed"]
    assert set(report.stages[2].figures["stages"]) == {"normalize", "dedup", "index"}
    assert report.seconds < 120
    with Catalog.open(report.home / "catalog.sqlite") as catalog:
        shops = catalog.conn.execute("SELECT count(*) FROM entities WHERE kind = 'shop'")
        assert shops.fetchone()[0] > 20
    backend = open_backend(report.home / "catalog.sqlite")
    try:
        assert backend.search(SearchQuery(kinds=("shop",))).total > 20
    finally:
        backend.close()
    # the replicas are stopped and the environment is given back
    assert dict(os.environ) == before
    for url in report.replica_urls.values():
        with pytest.raises(OSError):
            urllib.request.urlopen(url, timeout=2)


def test_demo_command_serves_until_interrupted(tmp_path: Path) -> None:
    env = dict(os.environ, AGORA_HOME=str(tmp_path / "var"))
    proc = subprocess.Popen([sys.executable, "-c", DEMO, "--shops", "30", "--port", "18431",
                             "--workers", "1"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    url = None
    try:
        deadline = time.monotonic() + 150
        assert proc.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"Agora is ready: (http://127\.0\.0\.1:\d+/)", line)
            url = found.group(1) if found else None
        assert url, "".join(lines)
        with urllib.request.urlopen(url + "?q=boulangerie", timeout=10) as r:
            assert r.status == 200 and b"boulangerie" in r.read().lower()
        text = "".join(lines)
        for stage in ("replicas", "crawl", "build", "serve", "total"):
            assert re.search(rf"{stage}\s+│\s+[\d.]+ s", text), text
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest
    assert rest.count("Stopped.") == 1  # the workers leave quietly; only the demo says so
    assert "Traceback" not in rest and "Exception ignored" not in rest, rest
