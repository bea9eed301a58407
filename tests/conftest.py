"""Fixture factories shared by the whole suite.

- ``agora_home``: an empty AGORA_HOME for the test.
- ``replica_cluster``: a factory starting replica platforms of a small world on
  free loopback ports (stopped at the end of the test).
- ``crawl``: runs ``agora crawl`` in a subprocess against given replicas, the way
  an operator would, and returns the parsed JSON summary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from replicas.server import ReplicaCluster
from tests.postgres_server import postgres_server, postgres_url  # noqa: F401 - shared fixtures
from tests.search_node import (  # noqa: F401 - shared fixtures: real search engines
    elasticsearch_server,
    opensearch_server,
    search_node_pool,
    search_server,
)

ROOT = Path(__file__).resolve().parents[1]
SOURCES_FILE = ROOT / "config" / "sources.yaml"


@pytest.fixture
def agora_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def replica_cluster() -> Iterator[Callable[..., ReplicaCluster]]:
    started: list[ReplicaCluster] = []

    def start(shops: int = 60, seed: int = 7, **kwargs: Any) -> ReplicaCluster:
        kwargs.setdefault("ports", {})
        cluster = ReplicaCluster(seed, shops, **kwargs).start()
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


def agora_env(home: Path, cluster: ReplicaCluster | None = None,
              sources_file: Path | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["AGORA_HOME"] = str(home)
    env["AGORA_SOURCES"] = str(sources_file or SOURCES_FILE)
    if cluster is not None:
        env.update(cluster.env())
    env.update(extra)
    return env


def run_agora(args: list[str], env: dict[str, str], *, timeout: float = 240,
              check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the agora CLI in a subprocess, as a user would."""
    proc = subprocess.run([sys.executable, "-m", "agora.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode not in (0,):
        raise AssertionError(f"agora {' '.join(args)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


@pytest.fixture
def crawl(agora_home: Path) -> Callable[..., list[dict[str, Any]]]:
    def do(cluster: ReplicaCluster, *sources: str, sources_file: Path | None = None,
           full: bool = False, check: bool = True, **extra: str) -> list[dict[str, Any]]:
        args = ["crawl", "--json", *sources] + (["--full"] if full else [])
        proc = run_agora(args, agora_env(agora_home, cluster, sources_file, **extra),
                         check=False)
        if check and proc.returncode not in (0, 2):
            raise AssertionError(f"crawl exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return json.loads(proc.stdout)
    return do


def sources_with(tmp_path: Path, **overrides: dict[str, Any]) -> Path:
    """A copy of config/sources.yaml with some keys of some sources replaced."""
    import yaml

    data = yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))
    for key, values in overrides.items():
        data["sources"][key].update(values)
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
