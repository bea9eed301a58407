"""``agora serve``: the app under gunicorn, over real sockets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.search_ui.helpers import World, build_world

ROOT = Path(__file__).resolve().parents[2]
# the command object itself, so the test does not depend on how agora/cli.py registers it
SERVE = "from agora.commands.serve import serve_cmd; serve_cmd(prog_name='agora serve')"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.getbasetemp() / "world")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_serve_under_gunicorn(world: World) -> None:
    port = free_port()
    env = dict(os.environ, AGORA_HOME=str(world.catalog.parent), AGORA_RATE_LIMIT="5/minute")
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "--port", str(port), "--workers", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, headers, body = fetch(base + "/?q=fromagerie")
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert status == 200 and b"Fromagerie" in body
        assert headers["Server"].startswith("gunicorn")
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        status, _, body = fetch(base + "/api/search?q=pain")
        assert status == 200 and json.loads(body)["total"] > 0
        status, _, body = fetch(base + "/api/search?per_page=1000")
        assert status == 400 and json.loads(body)["parameter"] == "per_page"
        statuses = [fetch(base + "/api/search?q=pain")[0] for _ in range(6)]
        assert 429 in statuses  # the limit holds under gunicorn (one worker here)
        status, _, body = fetch(base + "/nope")
        assert status == 404 and b"Traceback" not in body
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"Agora is served at http://127.0.0.1:{port}/" in out.replace("\n", " ")


def test_serve_refuses_a_busy_port(world: World) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run([sys.executable, "-c", SERVE, "--port", str(port)], cwd=ROOT,
                              env=dict(os.environ, AGORA_HOME=str(world.catalog.parent)),
                              capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "already in use" in proc.stderr


def test_serve_without_catalog(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", SERVE, "--port", str(free_port())], cwd=ROOT,
                          env=dict(os.environ, AGORA_HOME=str(tmp_path / "empty")),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "no catalog" in proc.stderr
