"""The web app over one small replica world built by the real pipeline (once per run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from search_ui.app import create_app
from search_ui.context import close_backend
from tests.search_ui.helpers import World, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.getbasetemp() / "world")


@pytest.fixture(scope="module")
def app(world: World) -> Iterator[Flask]:
    app = create_app({"AGORA_CATALOG": str(world.catalog), "AGORA_RATE_LIMIT": "off"})
    yield app
    close_backend(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
