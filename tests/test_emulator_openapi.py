"""The control API's description, kco_emulator/openapi.json (served at /_emulator/openapi.json), is the
emulator's: every /_emulator route is documented with its methods, nothing documented is missing, and what
the emulator answers fits the schemas, with every setting and every field of an order's state named.

These tests use the pytest plugin's `kco_emulator` fixture, as a merchant's tests would.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import requests
from jsonschema import Draft202012Validator

from harness.emulator_samples import sample_order
from kco_emulator.app import create_app
from kco_emulator.store import Settings
from kco_emulator.testing import KcoEmulator

DOCUMENT = json.loads(resources.files("kco_emulator").joinpath("openapi.json").read_text(encoding="utf-8"))
SCHEMAS = DOCUMENT["components"]["schemas"]
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def served_routes() -> set[tuple[str, str]]:
    """(path in OpenAPI's spelling, method) of every control route the emulator's Flask app has."""
    app = create_app(Settings.from_env({}))
    return {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules() if rule.rule.startswith("/_emulator/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def documented_routes() -> set[tuple[str, str]]:
    return {(path, method) for path, item in DOCUMENT["paths"].items() for method in item
            if method in HTTP_METHODS}


def assert_fits(instance: Any, schema_name: str) -> None:
    # The components travel with the schema so that its "#/components/..." references resolve.
    Draft202012Validator({"$ref": f"#/components/schemas/{schema_name}",
                          "components": DOCUMENT["components"]}).validate(instance)


def test_every_control_route_is_documented_with_its_methods_and_nothing_else() -> None:
    served, documented = served_routes(), documented_routes()
    assert served - documented == set(), "routes missing from kco_emulator/openapi.json"
    assert documented - served == set(), "documented in kco_emulator/openapi.json, but no such route"


def test_every_schema_of_the_document_is_valid_json_schema() -> None:
    assert DOCUMENT["openapi"].startswith("3.1")
    for schema in SCHEMAS.values():
        Draft202012Validator.check_schema(schema)


def test_the_emulator_serves_the_document(kco_emulator: KcoEmulator) -> None:
    response = requests.get(f"{kco_emulator.url}/_emulator/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == DOCUMENT


def test_the_settings_and_the_status_fit_the_document_and_every_setting_is_in_it(
        kco_emulator: KcoEmulator) -> None:
    settings = kco_emulator.settings()
    assert_fits(settings, "Settings")
    assert set(settings) == set(SCHEMAS["Settings"]["properties"])
    assert_fits(kco_emulator.status(), "Status")


def test_an_order_its_state_and_the_request_log_fit_the_document(kco_emulator: KcoEmulator) -> None:
    created = requests.post(f"{kco_emulator.url}/checkout/v3/orders", json=sample_order(),
                            auth=kco_emulator.credentials, timeout=10)
    assert created.status_code == 201
    order_id = created.json()["order_id"]

    outcome = kco_emulator.complete(order_id)
    stored = requests.get(f"{kco_emulator.url}/_emulator/orders/{order_id}", timeout=10).json()

    assert_fits(outcome, "ShopperOutcome")
    assert_fits(stored, "StoredOrder")
    assert set(stored["state"]) == set(SCHEMAS["StoredOrder"]["properties"]["state"]["properties"])
    for entry in kco_emulator.calls():
        assert_fits(entry, "LoggedRequest")
