"""A TCP proxy that spoils answers: server errors, connection resets, slow and truncated answers.

``FaultyProxy(upstream_port)`` listens on loopback and forwards each request to the
upstream server on a connection of its own (one request per connection: it answers
``Connection: close``). Per request, a draw seeded by the request (its line and a
digest of its body, so that each page of a POST API is its own) and by how many
times it was asked decides: a ``503``, a reset (the connection closed with an RST,
nothing answered), a slow answer, or a truncated one (the head and part of the
body, then the connection closed), or the answer as it came. No request is spoiled
more than ``max_consecutive`` times in a row, as on a flaky network a crawler that
retries gets through. ``spoiled`` counts what it did.
"""

from __future__ import annotations

import hashlib
import random
import socket
import struct
import threading
import time
from collections import Counter

KINDS = ("5xx", "reset", "slow", "truncated")


class FaultyProxy:
    """Spoils a share of the answers of the server on ``upstream_port`` (see the module)."""

    def __init__(self, upstream_port: int, *, rate: float = 0.25, seed: int = 1,
                 max_consecutive: int = 2, slow_seconds: float = 0.3) -> None:
        self.upstream_port, self.rate, self.seed = upstream_port, rate, seed
        self.max_consecutive, self.slow_seconds = max_consecutive, slow_seconds
        self.spoiled: Counter[str] = Counter()
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._stop = False

    def __enter__(self) -> FaultyProxy:
        threading.Thread(target=self._accept, daemon=True, name="faulty-proxy").start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._server.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _decide(self, key: str) -> str | None:
        with self._lock:
            attempt = self._attempts[key]
            self._attempts[key] += 1
        if attempt >= self.max_consecutive:
            return None
        draw = random.Random(f"{self.seed}:{key}:{attempt}").random()
        if draw >= self.rate:
            return None
        kind = KINDS[int(draw / self.rate * len(KINDS))]
        with self._lock:
            self.spoiled[kind] += 1
        return kind

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            request = _read_request(conn)
            if request is None:
                return
            line = request.split(b"\r\n", 1)[0].decode("latin-1")
            body = request.split(b"\r\n\r\n", 1)[1]
            kind = self._decide(f"{line}#{hashlib.sha1(body).hexdigest()}")
            if kind == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if kind == "5xx":
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                return
            answer = self._forward(request)
            if kind == "slow":
                time.sleep(self.slow_seconds)
            if kind == "truncated":
                head, _, rest = answer.partition(b"\r\n\r\n")
                answer = head + b"\r\n\r\n" + rest[:max(1, len(rest) // 3)]
            try:
                conn.sendall(answer)
            except OSError:
                pass

    def _forward(self, request: bytes) -> bytes:
        head, _, body = request.partition(b"\r\n\r\n")
        lines = [h for h in head.split(b"\r\n") if not h.lower().startswith(
            (b"connection:", b"keep-alive:"))]
        with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as up:
            up.sendall(b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + body)
            chunks = []
            while chunk := up.recv(65536):
                chunks.append(chunk)
        answer = b"".join(chunks)
        head, _, rest = answer.partition(b"\r\n\r\n")
        lines = [h for h in head.split(b"\r\n") if not h.lower().startswith(b"connection:")]
        return b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + rest


def _read_request(conn: socket.socket) -> bytes | None:
    """One HTTP request (head and Content-Length body), or None if the client went."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for header in head.split(b"\r\n")[1:]:
            name, _, value = header.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            body += chunk
    except (OSError, ValueError):
        return None
    return head + b"\r\n\r\n" + body
