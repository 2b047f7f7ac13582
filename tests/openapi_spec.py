"""Validate KCO request and response bodies against the official Checkout v3 OpenAPI description.

The spec is not part of this repository. Its folder is found through `KCO_REFERENCE_DIR`, defaulting to
`../shared/reference` next to the repository root. The file is not valid UTF-8: it is read as Latin-1 with
the control bytes 0x18/0x19 mapped to the curly quotes they stand for (see SOURCES.md in that folder).

Use `validate_create_request`, `validate_update_request` and `validate_order_response`; each raises
AssertionError with every schema error listed by JSON path. Tests that need the spec call
`require_spec()` (or use `needs_spec`): without the file they skip locally, saying where to get it, and fail
in CI (environment variable `CI` set), where a spec test must never go quietly unrun.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEC_FILE = "checkout-v3-openapi.yml"
# Where the official file is published (an unchanged copy of Kustom's; the folder's SOURCES.md says more).
SPEC_SOURCE = ("https://raw.githubusercontent.com/api-evangelist/klarna/fdadf01d9646f79cf16c9528238e71b076322a8b/"
               "openapi/_original/kustom-checkout-api-openapi.yml")
SPEC_URI = "urn:kco:checkout-v3-openapi"
ORDER_SCHEMA = f"{SPEC_URI}#/components/schemas/order"


def reference_dir() -> Path:
    return Path(os.environ.get("KCO_REFERENCE_DIR") or REPO_ROOT.parent / "shared" / "reference")


def spec_available() -> bool:
    return (reference_dir() / SPEC_FILE).is_file()


def missing_spec_reason() -> str:
    return (
        f"KCO OpenAPI spec not found at {reference_dir() / SPEC_FILE}: save {SPEC_SOURCE} there as "
        f"{SPEC_FILE}, or set KCO_REFERENCE_DIR to the folder holding it"
    )


def require_spec() -> None:
    """Skip the calling test when the spec is absent, saying where to get it; fail it instead in CI."""
    if spec_available():
        return
    if os.environ.get("CI"):
        pytest.fail(missing_spec_reason(), pytrace=False)
    pytest.skip(missing_spec_reason())


# For a whole test: `@needs_spec`, which runs require_spec() through the fixture `reference_spec` of
# tests/conftest.py.
needs_spec = pytest.mark.usefixtures("reference_spec")


@cache
def load_spec() -> dict[str, Any]:
    raw = (reference_dir() / SPEC_FILE).read_bytes()
    text = raw.decode("latin-1").replace("\x18", "\u2018").replace("\x19", "\u2019")
    return yaml.safe_load(text)


@cache
def _registry() -> Registry:
    # Registering the whole document lets every `#/components/...` reference resolve inside it.
    return Registry().with_resource(SPEC_URI, Resource(contents=load_spec(), specification=DRAFT4))


def _partial_update_schema() -> dict[str, Any]:
    # checkout-v3-openapi.yml updateOrderMerchant reuses the create body (with its six required fields), but
    # its text says "Properties not provided in the request will stay the same" (kco-rules:
    # update-ongoing-order): an update may carry any subset.
    order = _absolute_refs(copy.deepcopy(load_spec()["components"]["schemas"]["order"]))
    order.pop("required", None)
    return order


def _absolute_refs(node: Any) -> Any:
    # A schema lifted out of the document must point its local `#/...` references back into the document.
    if isinstance(node, dict):
        return {
            key: f"{SPEC_URI}{value}" if key == "$ref" and value.startswith("#") else _absolute_refs(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_absolute_refs(item) for item in node]
    return node


def _check(validator: Any, body: Mapping[str, Any], what: str) -> None:
    errors = sorted(validator.iter_errors(body), key=lambda error: list(error.absolute_path))
    if errors:
        lines = [f"  {error.json_path}: {error.message}" for error in errors]
        raise AssertionError(f"{what} does not match the KCO OpenAPI spec:\n" + "\n".join(lines))


def validate_create_request(body: Mapping[str, Any]) -> None:
    """A create body: all required fields present; read-only fields neither required nor sent."""
    _check(OAS30WriteValidator({"$ref": ORDER_SCHEMA}, registry=_registry()), body, "create request")


def validate_update_request(body: Mapping[str, Any]) -> None:
    """An update body: the create rules, except that any subset of fields may be sent (partial merge)."""
    validator = OAS30WriteValidator(_partial_update_schema(), registry=_registry())
    _check(validator, body, "update request")


def validate_order_response(body: Mapping[str, Any]) -> None:
    """An order as returned by create/read/update/abort (200/201 body)."""
    _check(OAS30ReadValidator({"$ref": ORDER_SCHEMA}, registry=_registry()), body, "order response")
