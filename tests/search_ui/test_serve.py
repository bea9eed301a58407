"""``agora serve``: the app under gunicorn, over real sockets.

Rate limits shared by two workers, proxy trust, gunicorn's own error answers with
the app's headers, and an access log without secrets.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from catalog.store import CATALOG_FILE
from tests.search_ui.helpers import World, build_world

ROOT = Path(__file__).resolve().parents[2]
# the command object itself, so the test does not depend on how agora/cli.py registers it
SERVE = "from agora.commands.serve import serve_cmd; serve_cmd(prog_name='agora serve')"
SECRET = "op-secret-4d2f"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.getbasetemp() / "world")


@pytest.fixture
def home(world: World, tmp_path: Path) -> Path:
    """An AGORA_HOME of the test's own, with a copy of the world's catalog (SQLite's backup
    API) and of its search index: the servers write their rate-limit counters there, not
    where other tests read."""
    home = tmp_path / "home"
    home.mkdir()
    source, copy = sqlite3.connect(world.catalog), sqlite3.connect(home / CATALOG_FILE)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    index = Path(world.catalog).with_suffix(".search")
    shutil.copytree(index, home / index.name)
    return home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def raw(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (a request no client library would send); parse the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), headers, body


@dataclass
class Served:
    base: str
    port: int
    proc: subprocess.Popen[str]
    out: str = ""
    err: str = ""


@contextmanager
def served(home: Path, *args: str, **env: str) -> Iterator[Served]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "--port", str(port), *args], cwd=ROOT,
                            env=dict(os.environ, AGORA_HOME=str(home), **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = Served(f"http://127.0.0.1:{port}", port, proc)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield server
    finally:
        proc.send_signal(signal.SIGINT)
        server.out, server.err = proc.communicate(timeout=30)
    assert proc.returncode == 0, server.err


def test_serve_under_gunicorn(home: Path) -> None:
    with served(home, "--workers", "1", "--access-log", AGORA_RATE_LIMIT="5/minute",
                AGORA_OPERATOR_TOKEN=SECRET) as server:
        base = server.base
        status, headers, body = fetch(base + "/?q=fromagerie")
        assert status == 200 and b"Fromagerie" in body
        assert headers["Server"].startswith("gunicorn")
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        status, _, body = fetch(base + "/api/search?q=pain")
        assert status == 200 and json.loads(body)["total"] > 0
        status, _, body = fetch(base + "/api/search?per_page=1000")
        assert status == 400 and json.loads(body)["parameter"] == "per_page"
        statuses = [fetch(base + "/api/search?q=pain")[0] for _ in range(6)]
        assert 429 in statuses  # the limit holds under gunicorn
        status, _, body = fetch(base + "/nope")
        assert status == 404 and b"Traceback" not in body
        # the token in a URL is refused, and kept out of the access log
        assert fetch(f"{base}/sources?token={SECRET}&tri=etat")[0] == 401
        assert fetch(base + "/sources", {"Authorization": f"Bearer {SECRET}"})[0] == 200
    assert f"Agora is served at http://127.0.0.1:{server.port}/" in server.out.replace("\n", " ")
    logs = server.out + server.err  # gunicorn writes its access log on stdout
    assert re.search(r'"GET /sources\?token=\*\*\*&tri=etat HTTP/1\.1" 401', logs)
    assert SECRET not in logs


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"NOT A REQUEST\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    (b"GET /?token=" + SECRET.encode() + b" HTTP/9.9\r\nHost: x\r\n\r\n", 400),
])
def test_gunicorns_own_errors_carry_the_app_headers_and_page(
        home: Path, request_bytes: bytes, status: int) -> None:
    with served(home, "--workers", "1", "--access-log") as server:
        got, headers, body = raw(server.port, request_bytes)
    assert got == status
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                 "Referrer-Policy", "Permissions-Policy", "Cross-Origin-Opener-Policy"):
        assert name in headers, name
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body)
    html = body.decode()
    assert '<link rel="stylesheet" href="/static/agora.css">' in html  # the site's page
    assert f"({status})" in html and "Revenir à la recherche" in html
    assert SECRET not in server.out + server.err  # an invalid request is logged masked


def test_two_workers_share_one_budget_and_a_trusted_proxy_splits_clients(home: Path) -> None:
    """One budget across workers: never more than ``budget`` answers for a client, even
    when both workers answer it. The sliding window is optimistic (a hit that lands with
    another worker's is taken back), so a race may refuse one more, never admit one more;
    and gunicorn may give one worker every connection of a round: several rounds, each a
    client of its own, and both workers must have answered within one of them."""
    budget, words = 12, ("pain", "vin", "fromage", "fleurs")
    rounds = len(words)
    with served(home, "--workers", "2", "--threads", "2", "--trust-proxy", "1",
                "--access-log", AGORA_RATE_LIMIT=f"{budget}/day") as server:
        for n in range(rounds):
            url = server.base + f"/api/search?q={words[n]}"
            client = {"X-Forwarded-For": f"203.0.113.{20 + n}"}
            with ThreadPoolExecutor(6) as pool:  # concurrent connections reach both workers
                codes = [c for c, *_ in pool.map(fetch, [url] * (budget + 1),
                                                 [client] * (budget + 1))]
            assert set(codes) == {200, 429}, codes
            assert budget - 2 <= codes.count(200) <= budget, codes
            assert fetch(url, client)[0] == 429
        # behind the trusted proxy, another client has its own budget
        assert fetch(server.base + "/api/search?q=pain", {"X-Forwarded-For": "203.0.113.10"}
                     )[0] == 200
    both = [n for n in range(rounds) if len(set(re.findall(
        rf'"GET /api/search\?q={words[n]} HTTP/1\.1" 200 .* <(\d+)>', server.out))) == 2]
    assert both, server.out  # both workers answered one client from the one budget


def test_without_proxy_trust_forwarded_for_is_ignored(home: Path) -> None:
    with served(home, "--workers", "2", AGORA_RATE_LIMIT="2/day") as server:
        url = server.base + "/api/search?q=pain"
        codes = [fetch(url, {"X-Forwarded-For": f"203.0.113.{i}"})[0] for i in range(3)]
    assert codes == [200, 200, 429]


def test_serve_refuses_a_setting_it_cannot_honour(home: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", SERVE, "--port", str(free_port()),
                           "--trust-proxy", "9"], cwd=ROOT,
                          env=dict(os.environ, AGORA_HOME=str(home)),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "AGORA_TRUST_PROXY" in proc.stderr
    proc = subprocess.run([sys.executable, "-c", SERVE, "--port", str(free_port())], cwd=ROOT,
                          env=dict(os.environ, AGORA_HOME=str(home),
                                   AGORA_RATE_LIMIT_PAGES="lots"),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "AGORA_RATE_LIMIT_PAGES" in proc.stderr
    assert "Traceback" not in proc.stderr


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
