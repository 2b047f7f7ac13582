"""A contract test nobody here wrote the cases for: Schemathesis generates requests from the official
`checkout-v3-openapi.yml` and checks every answer of the running emulator against it.

Its phases send the spec's examples, boundary and wrong values of every field, methods the spec does not
declare, and sequences that follow the OpenAPI links added below: read, update and abort then work on a real
order id from a create. The only adjustments to the official file are named in `contract_spec`, and each
answer the spec would not predict is a row of the emulator's behaviour table (docs/emulator.md).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from kco_emulator.testing import KcoEmulator
from tests.openapi_spec import load_spec, require_spec

# Few examples per operation keep the run well under 40 s; the seed keeps it the same run every time.
MAX_EXAMPLES = 10
SEED = 1
ORDER_ID = {"order_id": "$response.body#/order_id"}
# Schema-valid is not KCO-valid: the spec states in its descriptions, not its schema, that amounts must add
# up, currencies match the market and callback URLs be https (kco-rules: order-amount-sum, markets,
# https-callbacks), and answers each broken rule with 400 BAD_VALUE (createOrderMerchant,
# updateOrderMerchant).
CONFIG = """
[[operations]]
include-operation-id = ["createOrderMerchant", "updateOrderMerchant"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]
"""


def contract_spec() -> dict[str, Any]:
    """The official spec plus what it lacks for a stateful run."""
    spec = copy.deepcopy(load_spec())
    links = {
        "ReadOrder": {"operationId": "readOrderMerchant", "parameters": ORDER_ID},
        "UpdateOrder": {"operationId": "updateOrderMerchant", "parameters": ORDER_ID},
        "AbortOrder": {"operationId": "abortOrder", "parameters": ORDER_ID},
    }
    paths = spec["paths"]
    paths["/checkout/v3/orders"]["post"]["responses"]["201"]["links"] = links
    paths["/checkout/v3/orders/{order_id}"]["post"]["responses"]["200"]["links"] = links
    # updateOrderMerchant reuses the create body with its six required fields, but its description says
    # "Properties not provided in the request will stay the same" (kco-rules: update-ongoing-order).
    schemas = spec["components"]["schemas"]
    schemas["order_update"] = {key: value for key, value in schemas["order"].items() if key != "required"}
    paths["/checkout/v3/orders/{order_id}"]["post"]["requestBody"] = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/order_update"}}}}
    # The schema gives no example, so Schemathesis would send [""]; the description's own example is
    # ["person","organization"] and names the only two supported types (kco-rules: order-options).
    options = spec["components"]["schemas"]["options"]["properties"]
    options["allowed_customer_types"]["example"] = ["person", "organization"]
    return spec


def test_every_answer_of_the_emulator_matches_the_official_checkout_spec(
    emulator: KcoEmulator, tmp_path: Path
) -> None:
    require_spec()
    spec_file = tmp_path / "checkout-v3-openapi.json"
    spec_file.write_text(json.dumps(contract_spec()), encoding="utf-8")
    config_file = tmp_path / "schemathesis.toml"
    config_file.write_text(CONFIG, encoding="utf-8")
    username, password = emulator.credentials
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config_file), "--no-color", "run",
         str(spec_file), "--url", emulator.url, "--auth", f"{username}:{password}",
         "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1",
         "--generation-database", "none", "--report-dir", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    # The links worked: updates and aborts reached real orders, not only 404s.
    calls = emulator.calls()
    assert any(entry["operation"] == "update" and entry["status"] == 200 for entry in calls)
    assert any(entry["operation"] == "abort" and entry["status"] == 200 for entry in calls)
