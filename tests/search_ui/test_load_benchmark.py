"""A short run of the load benchmark (benchmarks/load.py): the machinery, not the figures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.search_ui.helpers import World, build_world

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.getbasetemp() / "world")


def test_load_benchmark_runs_without_errors(world: World) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        # benchmarks/ is a folder of scripts, not a package: importable only on this path
        import load  # type: ignore[import-not-found]  # noqa: PLC0415
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    queries = load.real_queries(world.catalog, 50, 1)
    assert len(queries) == 50 and all(q.startswith("/api/search?") for q in queries)
    result = load.run(world.catalog, duration=2.0, concurrency=4, warmup=0.5, workers=1,
                      threads=4, seed=1)
    assert result["requests"] > 10 and result["errors"] == 0
    assert result["statuses"] == {"200": result["requests"]}
    latency = result["latency_ms"]
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
