"""Fixtures for the web tests: a tiny generated model, an app per settings, real photos as bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
from fastapi.testclient import TestClient

from emolens.apps.accounts import password_hasher
from emolens.web import Settings, create_app
from emolens.web.auth import get_hasher

from helpers import astronaut_bgr, make_tiny_model

SCREENSHOTS = pytest.StashKey[Path]()


def pytest_terminal_summary(terminalreporter, config) -> None:
    if SCREENSHOTS in config.stash:
        terminalreporter.write_line(f"web screenshots: {config.stash[SCREENSHOTS]}")


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory, pytestconfig) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    pytestconfig.stash[SCREENSHOTS] = folder
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("web-model"))


@pytest.fixture(scope="session")
def astronaut_jpeg() -> bytes:
    ok, buf = cv2.imencode(".jpg", astronaut_bgr(), [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return buf.tobytes()


@pytest.fixture
def settings(tiny_model, tmp_path) -> Settings:
    # TestClient calls the server "testserver" (its WebSockets always do); test_web_guards checks the default hosts
    return Settings(model=str(tiny_model), data_dir=tmp_path / "data", trusted_hosts="testserver,127.0.0.1,localhost")


@pytest.fixture
def make_client(settings) -> Iterator:
    """make_client(**changes) -> a started TestClient on an app with those settings changed."""
    clients = []

    def make(**changes) -> TestClient:
        app = create_app(settings.with_(**changes))
        fast = password_hasher(fast=True)  # argon2id with tiny costs: tests hash many passwords
        app.dependency_overrides[get_hasher] = lambda: fast
        client = TestClient(app)
        client.__enter__()  # runs lifespan: builds the engine and the job store
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()
