"""Serve the replica platforms on loopback, in this process, on threads.

``ReplicaCluster`` is what tests use in-process and what
``agora replicas serve`` runs in the foreground for the demo.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler, make_server

from replicas.faults import FaultProfile
from replicas.platforms import PLATFORM_CLASSES
from replicas.platforms.base import Platform
from replicas.world import DEFAULT_REGIONS, World

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            log.debug(message, *args)


def platform_class(key: str) -> type[Platform]:
    module_name, _, class_name = PLATFORM_CLASSES[key].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def env_var_for(key: str) -> str:
    """The environment variable sources.yaml reads a platform's base URL from."""
    return f"AGORA_URL_{key.upper()}"


class ReplicaCluster:
    """The replica platforms of one world, each on its own loopback port."""

    def __init__(self, seed: int = 42, shops: int = 1500, *, epoch: int = 0,
                 offers_per_shop: int = 8, faults: FaultProfile | str | None = None,
                 host: str = "127.0.0.1", ports: dict[str, int] | None = None,
                 platforms: tuple[str, ...] | None = None, noise: str = "default",
                 regions: tuple[str, ...] = DEFAULT_REGIONS) -> None:
        self.seed, self.shops, self.offers_per_shop = seed, shops, offers_per_shop
        self.host, self.noise, self.regions = host, noise, regions
        self.faults = faults if isinstance(faults, FaultProfile) else FaultProfile.parse(faults)
        self.world = World.generate(seed, shops, epoch, offers_per_shop, noise, regions)
        keys = platforms or tuple(PLATFORM_CLASSES)
        self.platforms: dict[str, Platform] = {
            key: platform_class(key)(self.world, faults=self.faults) for key in keys
        }
        self._ports = ports  # None: each platform's default port; 0: any free port
        self._servers: list[tuple[BaseWSGIServer, threading.Thread]] = []

    @property
    def epoch(self) -> int:
        return self.world.epoch

    def start(self) -> ReplicaCluster:
        for key, platform in self.platforms.items():
            port = platform.default_port if self._ports is None else self._ports.get(key, 0)
            server = make_server(self.host, port, platform.wsgi(), threaded=True,
                                 request_handler=_QuietHandler)
            assert isinstance(server, ThreadedWSGIServer)  # threaded=True
            server.daemon_threads = True
            platform.base_url = f"http://{self.host}:{server.server_port}"
            thread = threading.Thread(target=server.serve_forever, name=f"replica-{key}",
                                      daemon=True)
            thread.start()
            self._servers.append((server, thread))
        return self

    def stop(self) -> None:
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._servers.clear()

    def __enter__(self) -> ReplicaCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def urls(self) -> dict[str, str]:
        return {key: p.base_url for key, p in self.platforms.items()}

    def env(self) -> dict[str, str]:
        """Environment variables pointing sources.yaml at these replicas."""
        return {env_var_for(key): url for key, url in self.urls.items()}

    def set_epoch(self, epoch: int) -> None:
        """Serve the same world ``epoch`` steps later, on the same ports."""
        self.world = World.generate(self.seed, self.shops, epoch, self.offers_per_shop,
                                    self.noise, self.regions)
        for platform in self.platforms.values():
            platform.set_world(self.world)

    def truth(self) -> Iterator[tuple[str, str, str, str]]:
        for platform in self.platforms.values():
            yield from platform.truth()

    def expected_listings(self) -> Iterator[dict[str, Any]]:
        for platform in self.platforms.values():
            yield from platform.expected_listings()
