"""Real search servers for the tests: the ``search_server`` fixture.

No Docker here: tools/search-node/ builds, from Maven Central only, small launchers
that start ONE real node embedded in a JVM, on a free 127.0.0.1 port, 512 MB heap:

- ``elasticsearch``: Elasticsearch 9.5.3 (server jar + its transport-netty4 module).
  Needs Java 21+. Elastic does not publish its other modules on Maven Central, so
  a test-only plugin stands in for the pieces of them Agora uses (analysis-common's
  elision/asciifolding/stemmer/french, rest-root's ``GET /``): see
  tools/search-node/elasticsearch-standins. No painless, reindex (``_delete_by_query``,
  ``_update_by_query``), mapper-extras or aggregations module on that node.
- ``opensearch``: OpenSearch 2.19.6 with its real transport-netty4, analysis-common
  and mapper-extras modules. Needs Java 17+.

``search_server`` is parametrized over those engines (session scope, each node
started once, stopped at the end of the session); it yields a :class:`SearchServer`
with ``.url``, ``.engine`` ("elasticsearch" | "opensearch"), ``.version`` and
``.client()`` (the official client of that engine). ``elasticsearch_server`` and
``opensearch_server`` give one engine only. Import them into tests/conftest.py
(``from tests.search_node import search_server, ...``): all share one pool.

Environment:

- ``AGORA_ELASTICSEARCH_URL``: use that server (Elasticsearch or OpenSearch, told
  apart by ``GET /``) and launch nothing; the other engine's tests are skipped.
- ``AGORA_SEARCH_ENGINES``: the engines to launch, comma-separated (default both).
- ``AGORA_REQUIRE_ELASTICSEARCH=1`` (set by .ci/run): a node that cannot be built or
  started fails the tests instead of skipping them.
- ``AGORA_SEARCH_NODE_TIMEOUT``: seconds to wait for a node (default 120).

Also a command: ``python tests/search_node.py [elasticsearch|opensearch]`` starts a
node and prints the ``AGORA_ELASTICSEARCH_URL=...`` line to use it, until Ctrl-C.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from opensearchpy import OpenSearch

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "tools" / "search-node"
TARGET = NODE_DIR / "target"

ENGINES = ("elasticsearch", "opensearch")
HEAP = "512m"  # AGORA_SEARCH_NODE_HEAP, read when a node starts, overrides it (benchmarks)


@dataclass(frozen=True)
class EngineSpec:
    engine: str
    version: str
    module: str            # Maven module under tools/search-node/
    min_java: int
    sources: tuple[str, ...]  # module dirs whose changes need a rebuild
    jvm_args: tuple[str, ...] = ()
    needs_home: bool = False

    @property
    def out(self) -> Path:
        return TARGET / f"search-node-{self.module}"

    @property
    def jar(self) -> Path:
        return self.out / f"search-node-{self.module}.jar"

    @property
    def classpath_file(self) -> Path:
        return self.out / "classpath.txt"

    @property
    def stamp(self) -> Path:
        return self.out / ".built"


SPECS = {
    "elasticsearch": EngineSpec(
        "elasticsearch", "9.5.3", "elasticsearch", 21, ("elasticsearch", "elasticsearch-standins"),
        jvm_args=("--enable-native-access=ALL-UNNAMED",), needs_home=True),
    "opensearch": EngineSpec("opensearch", "2.19.6", "opensearch", 17, ("opensearch",)),
}


@dataclass
class SearchServer:
    url: str
    engine: str
    version: str
    launched: bool = False
    log: Path | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def client(self, **kwargs: Any) -> Any:
        """The official Python client of this engine, on this server."""
        if self.engine == "elasticsearch":
            return Elasticsearch(self.url, request_timeout=30, **kwargs)
        return OpenSearch(self.url, timeout=30, **kwargs)


class NodeUnavailable(Exception):
    """A node could not be had; the message says why and what to do."""


class NotInThisRun(NodeUnavailable):
    """The user chose other servers (AGORA_ELASTICSEARCH_URL, AGORA_SEARCH_ENGINES): always a skip."""


def _required() -> bool:
    return os.environ.get("AGORA_REQUIRE_ELASTICSEARCH", "") not in ("", "0", "false", "no")


def _how_to(spec: EngineSpec) -> str:
    jdk = ("a JDK 21+ (Debian 13: openjdk-21-jdk-headless; else Temurin 21 or newer; "
           "point JAVA_HOME or AGORA_JAVA_HOME at it)" if spec.min_java > 17
           else "a JDK 17+ (Debian: default-jdk-headless)")
    return (f"To run the {spec.engine} tests: install {jdk} and Maven (`make system-deps` does the "
            "Debian part), or point AGORA_ELASTICSEARCH_URL at a running server "
            "(e.g. AGORA_ELASTICSEARCH_URL=http://127.0.0.1:9200).")


# --- Java and Maven --------------------------------------------------------------

def _java_major(java: Path) -> int | None:
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def _java_candidates() -> Iterator[Path]:
    seen: set[Path] = set()
    homes: list[Path] = []
    for var in ("AGORA_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            homes.append(Path(os.environ[var]))
    on_path = shutil.which("java")
    if on_path:
        homes.append(Path(on_path).resolve().parent.parent)
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        homes.extend(sorted(p for p in jvm.iterdir() if p.is_dir() and not p.is_symlink()))
    for home in homes:
        home = home.resolve()
        if home not in seen and (home / "bin" / "java").is_file():
            seen.add(home)
            yield home


_JAVA_CACHE: dict[Path, int | None] = {}


def find_java(min_major: int) -> tuple[Path | None, list[str]]:
    """A JDK home whose java is at least ``min_major``, and what was found."""
    found = []
    for home in _java_candidates():
        if home not in _JAVA_CACHE:
            _JAVA_CACHE[home] = _java_major(home / "bin" / "java")
        major = _JAVA_CACHE[home]
        found.append(f"{home} (Java {major})")
        if major is not None and major >= min_major and (home / "bin" / "javac").is_file():
            return home, found
    return None, found


# --- build ---------------------------------------------------------------------

def _newest_source(spec: EngineSpec) -> float:
    paths = [NODE_DIR / "pom.xml"]
    for module in spec.sources:
        paths.extend(p for p in (NODE_DIR / module).rglob("*") if p.is_file())
    return max(p.stat().st_mtime for p in paths)


def _outputs_present(spec: EngineSpec) -> bool:
    outputs = [spec.jar, spec.classpath_file] + ([spec.out / "home" / "modules"] if spec.needs_home else [])
    if not all(p.exists() for p in outputs):
        return False
    # the local Maven repository may have been cleaned since
    return all(Path(p).exists() for p in spec.classpath_file.read_text().strip().split(os.pathsep))


def _built(spec: EngineSpec) -> bool:
    return (spec.stamp.exists() and _outputs_present(spec)
            and spec.stamp.stat().st_mtime >= _newest_source(spec))


def _tail(path: Path | None, lines: int = 40) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def build(spec: EngineSpec, java_home: Path, java_major: int) -> Path:
    """Build the launcher of ``spec`` with Maven (offline first); returns the log."""
    TARGET.mkdir(parents=True, exist_ok=True)
    log = TARGET / f"build-{spec.engine}.log"
    mvn = shutil.which("mvn")
    if mvn is None:
        raise NodeUnavailable(f"Maven (mvn) is not installed. {_how_to(spec)}")
    env = dict(os.environ, JAVA_HOME=str(java_home))
    env["PATH"] = f"{java_home / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    if java_major >= 24:  # quiet Maven's own sun.misc.Unsafe warnings on new JDKs
        env["MAVEN_OPTS"] = (env.get("MAVEN_OPTS", "") + " --sun-misc-unsafe-memory-access=allow").strip()
    base = [mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(NODE_DIR / "pom.xml"), "-pl", spec.module, "-am", "package"]
    with _lock(TARGET / ".build.lock"):
        if _built(spec):
            return log
        with log.open("w") as out:
            for offline in (True, False):
                cmd = base[:1] + (["-o"] if offline else []) + base[1:]
                out.write(f"$ {' '.join(cmd)}\n")
                out.flush()
                started = time.monotonic()
                proc = subprocess.run(cmd, cwd=NODE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, timeout=1200)
                out.write(f"# exit {proc.returncode} after {time.monotonic() - started:.1f}s\n")
                out.flush()
                if proc.returncode == 0 and _outputs_present(spec):
                    spec.stamp.touch()
                    return log
        raise NodeUnavailable(f"building the {spec.engine} test node failed (log: {log}).\n"
                              f"{_tail(log)}\n{_how_to(spec)}")


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- HTTP ----------------------------------------------------------------------

def _get(url: str, timeout: float = 10) -> tuple[int, dict[str, str], Any]:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        body = e.read()
        with contextlib.suppress(ValueError):
            return e.code, dict(e.headers), json.loads(body or b"null")
        return e.code, dict(e.headers), None


def describe(url: str) -> SearchServer:
    """What server is at ``url``: its engine and version, from ``GET /``."""
    status, headers, body = _get(url.rstrip("/") + "/")
    if status != 200 or not isinstance(body, dict):
        raise NodeUnavailable(f"GET {url}/ answered {status}")
    version = body.get("version", {})
    product = {k.lower(): v for k, v in headers.items()}.get("x-elastic-product")
    if version.get("distribution") == "opensearch":
        engine = "opensearch"
    elif product == "Elasticsearch":
        engine = "elasticsearch"
    else:
        raise NodeUnavailable(f"{url} is neither OpenSearch nor Elasticsearch 7.14+ "
                              f"(no X-Elastic-Product header): {version}")
    return SearchServer(url.rstrip("/"), engine, version.get("number", "?"), info=body)


def wait_healthy(url: str, deadline: float) -> None:
    last = ""
    while time.monotonic() < deadline:
        try:
            status, _, body = _get(f"{url}/_cluster/health?wait_for_status=yellow&timeout=5s", timeout=10)
            if status == 200 and body.get("status") in ("yellow", "green"):
                return
            last = f"{status} {body}"
        except (OSError, ValueError) as e:
            last = repr(e)
        time.sleep(0.2)
    raise NodeUnavailable(f"{url} not healthy in time: {last}")


# --- nodes ---------------------------------------------------------------------

class SearchNode:
    """One launched node: a JVM running tools/search-node's SearchNode."""

    def __init__(self, spec: EngineSpec, java_home: Path) -> None:
        self.spec = spec
        self.java_home = java_home
        self.data = Path(tempfile.mkdtemp(prefix=f"agora-{spec.engine}-"))
        self.log = self.data / "node.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.server: SearchServer | None = None

    def start(self, timeout: float) -> SearchServer:
        spec = self.spec
        classpath = os.pathsep.join([str(spec.jar), spec.classpath_file.read_text().strip()])
        major = _JAVA_CACHE.get(self.java_home) or 0
        heap = os.environ.get("AGORA_SEARCH_NODE_HEAP", HEAP)
        cmd = [str(self.java_home / "bin" / "java"), f"-Xms{heap}", f"-Xmx{heap}",
               "-XX:+UseSerialGC", f"-Djava.io.tmpdir={self.data}", f"-XX:ErrorFile={self.data}/hs_err.log",
               *spec.jvm_args]
        if major >= 24:
            cmd.append("--sun-misc-unsafe-memory-access=allow")  # netty, on new JDKs
        cmd += ["-cp", classpath, "org.agora.searchnode.SearchNode",
                "-data", str(self.data), "-port", "0", "-exit-on-stdin-eof", "true"]
        if spec.needs_home:
            cmd += ["-home", str(spec.out / "home")]
        started = time.monotonic()
        deadline = started + timeout
        with self.log.open("wb") as out:
            # stdin is a pipe we hold: if this Python process dies, the node exits too.
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                                         cwd=self.data, start_new_session=True)
        url = None
        while url is None:
            m = re.search(rb"^READY (\S+) (\S+) (http://\S+)$", self.log.read_bytes(), re.M)
            if m:
                url = m.group(3).decode()
            elif self.proc.poll() is not None:
                raise NodeUnavailable(f"the {spec.engine} test node exited with {self.proc.returncode} "
                                      f"(log: {self.log}).\n{_tail(self.log)}")
            elif time.monotonic() > deadline:
                raise NodeUnavailable(f"the {spec.engine} test node did not start in {timeout:.0f}s "
                                      f"(log: {self.log}).\n{_tail(self.log)}")
            else:
                time.sleep(0.1)
        wait_healthy(url, deadline)
        self.server = describe(url)
        self.server.launched = True
        self.server.log = self.log
        self.startup_seconds = time.monotonic() - started
        return self.server

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc is not None and self.proc.stdin:
            self.proc.stdin.close()
        shutil.rmtree(self.data, ignore_errors=True)


class SearchNodePool:
    """The session's servers: launched on first use, stopped by :meth:`close`."""

    def __init__(self) -> None:
        self.nodes: dict[str, SearchNode] = {}
        self.servers: dict[str, SearchServer] = {}
        self.failures: dict[str, str] = {}

    def external(self) -> SearchServer | None:
        url = os.environ.get("AGORA_ELASTICSEARCH_URL", "").strip()
        if not url:
            return None
        if "external" not in self.servers:
            try:
                self.servers["external"] = describe(url)
            except (NodeUnavailable, OSError, ValueError) as e:
                raise NodeUnavailable(f"AGORA_ELASTICSEARCH_URL={url} is not usable: {e}") from e
        return self.servers["external"]

    def get(self, engine: str) -> SearchServer:
        external = self.external()
        if external is not None:
            if external.engine != engine:
                raise NotInThisRun(f"AGORA_ELASTICSEARCH_URL is {external.engine} {external.version}: "
                                   f"no {engine} server in this run")
            return external
        wanted = [e.strip() for e in os.environ.get("AGORA_SEARCH_ENGINES", ",".join(ENGINES)).split(",")]
        if engine not in wanted:
            raise NotInThisRun(f"{engine} is not in AGORA_SEARCH_ENGINES={','.join(wanted)}")
        if engine in self.failures:
            raise NodeUnavailable(self.failures[engine])
        if engine not in self.servers:
            try:
                self.servers[engine] = self._launch(SPECS[engine])
            except NodeUnavailable as e:
                self.failures[engine] = str(e)
                raise
        return self.servers[engine]

    def _launch(self, spec: EngineSpec) -> SearchServer:
        java_home, found = find_java(spec.min_java)
        if java_home is None:
            raise NodeUnavailable(f"the {spec.engine} {spec.version} test node needs a JDK {spec.min_java}+ "
                                  f"(found: {', '.join(found) or 'no Java'}). {_how_to(spec)}")
        if not _built(spec):
            build(spec, java_home, _JAVA_CACHE[java_home] or 0)
        node = SearchNode(spec, java_home)
        self.nodes[spec.engine] = node
        timeout = float(os.environ.get("AGORA_SEARCH_NODE_TIMEOUT", "120"))
        try:
            return node.start(timeout)
        except Exception:
            node.stop()
            del self.nodes[spec.engine]
            raise

    def close(self) -> None:
        for node in self.nodes.values():
            node.stop()
        self.nodes.clear()


def _unavailable(message: str) -> None:
    if _required():
        pytest.fail(f"AGORA_REQUIRE_ELASTICSEARCH=1 and no search server: {message}", pytrace=False)
    pytest.skip(message)


# --- fixtures ------------------------------------------------------------------

# One pool per process, whatever module the fixtures are imported into: a node is
# never started twice, and it is stopped at the end of the session (or at exit).
POOL = SearchNodePool()
atexit.register(POOL.close)


@pytest.fixture(scope="session")
def search_node_pool() -> Iterator[SearchNodePool]:
    yield POOL
    POOL.close()


def _server(pool: SearchNodePool, engine: str) -> SearchServer:
    try:
        return pool.get(engine)
    except NotInThisRun as e:
        pytest.skip(str(e))
    except NodeUnavailable as e:
        _unavailable(str(e))
    raise AssertionError("unreachable")


@pytest.fixture(scope="session", params=ENGINES)
def search_server(request: pytest.FixtureRequest, search_node_pool: SearchNodePool) -> SearchServer:
    """A real search server, once per engine (the contract suite runs against each)."""
    return _server(search_node_pool, request.param)


@pytest.fixture(scope="session")
def elasticsearch_server(search_node_pool: SearchNodePool) -> SearchServer:
    return _server(search_node_pool, "elasticsearch")


@pytest.fixture(scope="session")
def opensearch_server(search_node_pool: SearchNodePool) -> SearchServer:
    return _server(search_node_pool, "opensearch")


def main(argv: list[str]) -> int:
    engine = argv[0] if argv else "elasticsearch"
    pool = SearchNodePool()
    os.environ.pop("AGORA_ELASTICSEARCH_URL", None)
    try:
        server = pool.get(engine)
        node = pool.nodes[engine]
        print(f"{server.engine} {server.version} up in {node.startup_seconds:.1f}s, log {node.log}")
        print(f"AGORA_ELASTICSEARCH_URL={server.url}")
        print("Ctrl-C to stop.", flush=True)
        while node.proc is not None and node.proc.poll() is None:
            time.sleep(1)
        return 1
    except NodeUnavailable as e:
        print(e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        pool.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
