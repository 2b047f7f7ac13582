"""Fixtures for the shop's tests: the shop in-process (`make_app`, `app`, `client`), a fresh shopper over HTTP
on the running shop (own cookies), and a counter of KCO calls."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from harness.shop_client import ApiShopper, KCOCalls
from kco_emulator.testing import KcoEmulator, ServerProcess, WsgiServer
from tests.openapi_spec import require_spec

IN_PROCESS_SECRET_KEY = "test-only-secret-of-the-in-process-shop"


@pytest.fixture(scope="session")
def make_app(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Flask]:
    """Builds the shop in this process (`create_app`), for Flask's test client: `make_app(NAME=value, ...)`
    sets variables on top of a fresh instance folder and a test secret key; `instance=` picks the folder."""

    def build(instance: Path | None = None, **config: str) -> Flask:
        folder = instance if instance is not None else tmp_path_factory.mktemp("shop-instance")
        return create_app({"INSTANCE_PATH": str(folder), "SECRET_KEY": IN_PROCESS_SECRET_KEY, **config})

    return build


@pytest.fixture
def app(make_app: Callable[..., Flask], emulator_server: ServerProcess) -> Flask:
    """The shop in-process, talking to the running emulator, in workshop mode as `make run` starts it."""
    return make_app(KCO_API_URL=emulator_server.url, KCO_USERNAME="demo", KCO_PASSWORD="demo",
                    KCO_INSPECTOR="1")


@pytest.fixture
def served_app(app: Flask) -> Iterator[str]:
    """The in-process shop also served over HTTP (real sockets, threads), so KCO's callbacks reach it;
    yields its URL."""
    with WsgiServer(app) as server:
        app.config["PUBLIC_BASE_URL"] = server.url
        yield server.url


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def shopper(shop_server: ServerProcess, emulator: KcoEmulator) -> ApiShopper:
    return ApiShopper(shop_server.url)


@pytest.fixture
def calls(emulator: KcoEmulator) -> KCOCalls:
    return KCOCalls(emulator)


@pytest.fixture(scope="session")
def reference_spec() -> None:
    """The official Checkout v3 OpenAPI file is at hand (tests.openapi_spec.needs_spec): a test without it is
    skipped, or failed in CI."""
    require_spec()
