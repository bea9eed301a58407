"""Fixture factories shared by the whole suite.

- ``agora_home``: an empty AGORA_HOME for the test.
- ``catalog_engine`` (parametrized: ``sqlite``, ``postgresql``), and on it
  ``catalog_location`` (an empty, migrated catalog: a SQLite file, or a database
  of the test PostgreSQL server emptied for the test) and ``engine_home`` (an
  AGORA_HOME whose catalog is on that engine: ``AGORA_CATALOG_URL`` is set for
  the test and the processes it starts). Tests where the catalog is the subject
  take these; ``AGORA_CATALOG_URL`` is unset for every other test.
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

import psycopg
import pytest
import yaml

from catalog.store import CATALOG_FILE, CATALOG_URL_VARIABLE, Catalog
from replicas.server import ReplicaCluster
from tests.postgres_server import (  # noqa: F401 - shared fixtures
    PostgresServer,
    postgres_server,
    postgres_url,
)
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


@pytest.fixture(autouse=True)
def _no_catalog_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalog URL of the developer's shell never leaks into a test."""
    monkeypatch.delenv(CATALOG_URL_VARIABLE, raising=False)


ENGINE_PARAMS = [pytest.param("sqlite", id="sqlite"),
                 pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINE_PARAMS)
def catalog_engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def shared_postgres_catalog(postgres_server: PostgresServer) -> str:  # noqa: F811
    """One migrated database for the session, emptied before each test that takes it."""
    url = postgres_server.create_database()
    Catalog.open(url).close()
    return url


def empty_postgres_catalog(url: str) -> str:
    """Empty every catalog table (their schema stays migrated), cutting off any connection
    a previous test left behind."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid != pg_backend_pid()")
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename != 'schema_version'")]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
    return url


@pytest.fixture
def catalog_location(catalog_engine: str, tmp_path: Path,
                     request: pytest.FixtureRequest) -> str:
    """An empty catalog on the engine: its location (a file path or a URL)."""
    if catalog_engine == "sqlite":
        return str(tmp_path / "home" / CATALOG_FILE)  # engine_home's
    return empty_postgres_catalog(request.getfixturevalue("shared_postgres_catalog"))


@pytest.fixture
def engine_home(catalog_engine: str, catalog_location: str, agora_home: Path,
                monkeypatch: pytest.MonkeyPatch) -> Path:
    """An AGORA_HOME whose catalog (``Catalog.in_home``) is on the engine."""
    if catalog_engine == "postgresql":
        monkeypatch.setenv(CATALOG_URL_VARIABLE, catalog_location)
    return agora_home


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
    data = yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))
    for key, values in overrides.items():
        data["sources"][key].update(values)
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
