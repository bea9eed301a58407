"""Fault injection for the replica servers: the bad days a crawler meets in the wild.

A ``FaultProfile`` gives per-request rates of server errors, slow answers,
timeouts (answers that come after the client gave up), truncated JSON, malformed
HTML and pagination drift, plus a rate of permanently broken records. Faults are
transient, as on real sites: the decision is a deterministic function of the
seed, the request path and how many times that path was asked, and no path
faults more than ``max_consecutive`` times in a row, so a crawler that retries
gets through. Pagination drift is passed to the platform app in the WSGI
environ (``replica.drift``: items inserted (+) or removed (-) ahead of the page).

Profiles are named (``none``, ``flaky``, ``hostile``) or written out:
``5xx=0.05,slow=0.02,timeout=0.01,truncated=0.03,malformed=0.03,drift=0.1``.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

from replicas.world import stable_hash

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]

FAULT_KINDS = ("5xx", "slow", "timeout", "truncated", "malformed", "drift")


@dataclass(frozen=True)
class FaultProfile:
    """Rates (0..1) of each fault per request, and how the faults behave."""

    server_error: float = 0.0
    slow: float = 0.0
    timeout: float = 0.0
    truncated: float = 0.0
    malformed: float = 0.0
    drift: float = 0.0
    bad_records: float = 0.0
    slow_seconds: float = 0.4
    timeout_seconds: float = 12.0
    max_consecutive: int = 2
    name: str = "none"

    @property
    def active(self) -> bool:
        return any((self.server_error, self.slow, self.timeout, self.truncated, self.malformed,
                    self.drift, self.bad_records))

    @classmethod
    def parse(cls, text: str | None) -> FaultProfile:
        """A named profile or a comma-separated ``kind=rate`` list."""
        if not text or text == "none":
            return cls()
        if text in PROFILES:
            return PROFILES[text]
        aliases = {"5xx": "server_error", "errors": "server_error", "bad": "bad_records"}
        known = {f.name for f in fields(cls)} - {"name"}
        values: dict[str, Any] = {}
        for item in text.split(","):
            key, sep, raw = item.strip().partition("=")
            key = aliases.get(key.strip(), key.strip())
            if not sep or key not in known:
                raise ValueError(
                    f"bad fault setting {item!r}: expected KIND=RATE with KIND one of "
                    f"{', '.join(sorted(known | set(aliases)))}")
            try:
                value = float(raw)
            except ValueError as exc:
                raise ValueError(f"bad fault rate {raw!r} for {key}") from exc
            if key == "max_consecutive":
                values[key] = int(value)
            else:
                if key not in ("slow_seconds", "timeout_seconds") and not 0 <= value <= 1:
                    raise ValueError(f"fault rate for {key} must be within 0..1, got {value}")
                values[key] = value
        return replace(cls(), name=text, **values)

    def describe(self) -> str:
        if not self.active:
            return "none"
        parts = [f"{k}={getattr(self, k):g}" for k in
                 ("server_error", "slow", "timeout", "truncated", "malformed", "drift",
                  "bad_records") if getattr(self, k)]
        return f"{self.name}: " + ", ".join(parts)


PROFILES: dict[str, FaultProfile] = {
    "none": FaultProfile(),
    "flaky": FaultProfile(server_error=0.04, slow=0.02, timeout=0.005, truncated=0.02,
                          malformed=0.02, drift=0.08, bad_records=0.004, name="flaky"),
    "hostile": FaultProfile(server_error=0.10, slow=0.05, timeout=0.02, truncated=0.05,
                            malformed=0.05, drift=0.2, bad_records=0.01, name="hostile"),
}


@dataclass
class FaultDecision:
    kind: str | None
    drift: int = 0


class FaultInjector:
    """Decides, request by request, which fault a path gets; counts what it did."""

    def __init__(self, profile: FaultProfile, seed: int, platform: str) -> None:
        self.profile = profile
        self.seed = seed
        self.platform = platform
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {k: 0 for k in FAULT_KINDS}

    def decide(self, path_and_query: str, *, content: str = "json",
               paginated: bool = False) -> FaultDecision:
        """The fault for this request (``kind`` None for a clean answer)."""
        p = self.profile
        if not p.active:
            return FaultDecision(None)
        with self._lock:
            attempt = self._attempts.get(path_and_query, 0)
            self._attempts[path_and_query] = attempt + 1
        if attempt >= p.max_consecutive:
            return FaultDecision(None)
        roll = (stable_hash(self.seed, self.platform, path_and_query, attempt) % 1_000_000) / 1e6
        ladder = [("5xx", p.server_error), ("slow", p.slow), ("timeout", p.timeout),
                  ("truncated" if content == "json" else "malformed",
                   p.truncated if content == "json" else p.malformed)]
        if paginated:
            ladder.append(("drift", p.drift))
        edge = 0.0
        for kind, rate in ladder:
            edge += rate
            if roll < edge:
                with self._lock:
                    self.injected[kind] += 1
                if kind == "drift":
                    return FaultDecision("drift", drift=1 + stable_hash(path_and_query) % 3
                                         if roll < edge - rate / 2 else
                                         -(1 + stable_hash(path_and_query) % 3))
                return FaultDecision(kind)
        return FaultDecision(None)

    def is_bad_record(self, key: str) -> bool:
        """Whether a record is permanently broken on this platform (never listed as truth)."""
        rate = self.profile.bad_records
        if rate <= 0:
            return False
        return (stable_hash(self.seed, self.platform, "bad", key) % 1_000_000) / 1e6 < rate


def request_body_digest(environ: dict) -> str:
    """A digest of a request's body (read, then put back for the app)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return hashlib.sha1(body).hexdigest()[:16]


def fault_middleware(app: WSGIApp, injector: FaultInjector,
                     classify: Callable[[str], tuple[str, bool] | None]) -> WSGIApp:
    """Wrap a platform app so that its answers suffer the injector's faults (a POST's
    attempts are counted per body: each page of a search API is its own request).

    ``classify(path)`` says what the path serves: (``"json"`` or ``"html"``,
    paginated?), or None for paths never faulted (robots.txt, auth).
    """

    def wrapped(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        query = environ.get("QUERY_STRING", "")
        kind = classify(path)
        if kind is None:
            return app(environ, start_response)
        content, paginated = kind
        where = path + ("?" + query if query else "")
        if environ.get("REQUEST_METHOD") == "POST":  # the page asked is in the body
            where += "#" + request_body_digest(environ)
        decision = injector.decide(where, content=content, paginated=paginated)
        if decision.kind is None:
            return app(environ, start_response)
        if decision.kind == "5xx":
            status = ("500 Internal Server Error", "502 Bad Gateway",
                      "503 Service Unavailable")[stable_hash(path, query) % 3]
            body = b"<html><body><h1>Erreur serveur</h1></body></html>"
            start_response(status, [("Content-Type", "text/html; charset=utf-8"),
                                    ("Content-Length", str(len(body)))])
            return [body]
        if decision.kind == "slow":
            time.sleep(injector.profile.slow_seconds)
            return app(environ, start_response)
        if decision.kind == "timeout":
            time.sleep(injector.profile.timeout_seconds)
            return app(environ, start_response)
        if decision.kind == "drift":
            environ["replica.drift"] = decision.drift
            return app(environ, start_response)
        # truncated JSON / malformed HTML: the body is cut short, headers still say 200.
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(app(environ, capture))
        if not captured.get("status", "").startswith("200") or len(body) < 20:
            start_response(captured["status"], captured["headers"])
            return [body]
        cut = body[: max(10, int(len(body) * (0.3 + 0.4 * (stable_hash(path, query) % 100) / 100)))]
        if decision.kind == "malformed":
            cut = cut.replace(b"</div>", b"</dvi>", 3) + b"<div class=\"<"
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(cut))))
        start_response(captured["status"], headers)
        return [cut]

    return wrapped
