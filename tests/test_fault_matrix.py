"""The fault matrix: each KCO operation the shop uses, under each failure KCO (or the network) can produce.

One table, `FAULT_MATRIX`, says what must happen in every cell; the tests are generated from it, and
docs/fault-matrix.md carries the same table (a test keeps the two equal). Every cell proves, over real HTTP:

* the shop never answers 500 (and logs no traceback);
* the cart is never lost (GET /api/cart still holds what the shopper last sent);
* at most one live KCO order belongs to the session: the KCO calls are exactly the table's, the session points
  at the order the table says, and no other order was made (except the one orphan a timed-out create may
  leave, which expires after 48 h, kco-rules: expiry-48h);
* the shopper (or KCO, for a push) is told something useful: a message on the page, a working checkout, or
  an error code and message in the JSON answer;
* once the fault has passed, the shopper's next step (a reload, KCO's next push) ends with one live order
  equal to the cart.

`times`: kco.client retries reads and acknowledge up to 3 attempts on 502/503/504 and on a dropped connection,
so those faults are armed 3 times to fail the operation. kco/checkout.py tries an update refused with a status
that may pass (409, 423, 429, 5xx) twice more after a read, so such a fault once costs a retry, and armed
3 times it makes the shop replace the order. Create is never retried.
The timeout cells run against a second shop whose KCO read timeout is 0.5 s, with a 1.5 s delay.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from harness.local_stack import shop_process
from harness.shop_client import ApiShopper, KCOCalls, callback_url, csrf_token_in, kco_quantities, shop_text
from kco_emulator.testing import KcoEmulator, ServerProcess

ROOT = Path(__file__).resolve().parent.parent
SHORT_READ_TIMEOUT = "0.5"
DELAY_PAST_TIMEOUT_MS = 1500
WAIT_FOR_KCO_SECONDS = 10

FAULT_MATRIX = """
| operation   | fault              | times | shop answers        | KCO calls                      | order | orphans |
|-------------|--------------------|-------|---------------------|--------------------------------|-------|---------|
| create      | 400                | 1     | page, message       | create                         | none  | 0       |
| create      | 401                | 1     | page, message       | create                         | none  | 0       |
| create      | 403                | 1     | page, message       | create                         | none  | 0       |
| create      | 404 empty body     | 1     | page, message       | create                         | none  | 0       |
| create      | 409                | 1     | page, message       | create                         | none  | 0       |
| create      | 500 JSON           | 1     | page, message       | create                         | none  | 0       |
| create      | 502 HTML           | 1     | page, message       | create                         | none  | 0       |
| create      | 503                | 1     | page, message       | create                         | none  | 0       |
| create      | 504                | 1     | page, message       | create                         | none  | 0       |
| create      | delay past timeout | 1     | page, message       | create                         | none  | 1       |
| create      | dropped connection | 1     | page, message       | create                         | none  | 0       |
| read        | 400                | 1     | page, new order     | read, abort, create            | new   | 0       |
| read        | 401                | 1     | page, new order     | read, abort, create            | new   | 0       |
| read        | 403                | 1     | page, new order     | read, abort, create            | new   | 0       |
| read        | 404 empty body     | 1     | page, new order     | read, create                   | new   | 0       |
| read        | 409                | 1     | page, new order     | read, abort, create            | new   | 0       |
| read        | 500 JSON           | 1     | page, new order     | read, abort, create            | new   | 0       |
| read        | 502 HTML           | 3     | page, new order     | read ×3, abort, create         | new   | 0       |
| read        | 503                | 3     | page, new order     | read ×3, abort, create         | new   | 0       |
| read        | 504                | 3     | page, new order     | read ×3, abort, create         | new   | 0       |
| read        | delay past timeout | 1     | page, new order     | read, abort, create            | new   | 0       |
| read        | dropped connection | 3     | page, new order     | read ×3, abort, create         | new   | 0       |
| update      | 400                | 1     | JSON, same order    | update ×2, read                | same  | 0       |
| update      | 401                | 1     | JSON, new snippet   | update, abort, create          | new   | 0       |
| update      | 403                | 1     | JSON, same order    | update ×2, read                | same  | 0       |
| update      | 404 empty body     | 1     | JSON, new snippet   | update, create                 | new   | 0       |
| update      | 409                | 1     | JSON, same order    | update ×2, read                | same  | 0       |
| update      | 409                | 3     | JSON, new snippet   | update ×3, read, abort, create | new   | 0       |
| update      | 423                | 1     | JSON, same order    | update ×2, read                | same  | 0       |
| update      | 429                | 1     | JSON, same order    | update ×2, read                | same  | 0       |
| update      | 500 JSON           | 1     | JSON, same order    | update ×2, read                | same  | 0       |
| update      | 502 HTML           | 1     | JSON, same order    | update ×2, read                | same  | 0       |
| update      | 503                | 1     | JSON, same order    | update ×2, read                | same  | 0       |
| update      | 503                | 3     | JSON, new snippet   | update ×3, read, abort, create | new   | 0       |
| update      | 504                | 1     | JSON, same order    | update ×2, read                | same  | 0       |
| update      | delay past timeout | 1     | 503 kco_unreachable | update                         | same  | 0       |
| update      | dropped connection | 1     | 503 kco_unreachable | update                         | same  | 0       |
| acknowledge | 400                | 1     | 503 kco_unreachable | om_read, acknowledge           | same  | 0       |
| acknowledge | 401                | 1     | 503 kco_unreachable | om_read, acknowledge           | same  | 0       |
| acknowledge | 403                | 1     | 503 kco_unreachable | om_read, acknowledge           | same  | 0       |
| acknowledge | 404 empty body     | 1     | 503 kco_unreachable | om_read, acknowledge           | same  | 0       |
| acknowledge | 409                | 1     | 503 kco_unreachable | om_read, acknowledge           | same  | 0       |
| acknowledge | 500 JSON           | 1     | 503 kco_unreachable | om_read, acknowledge           | same  | 0       |
| acknowledge | 502 HTML           | 3     | 503 kco_unreachable | om_read, acknowledge ×3        | same  | 0       |
| acknowledge | 503                | 3     | 503 kco_unreachable | om_read, acknowledge ×3        | same  | 0       |
| acknowledge | 504                | 3     | 503 kco_unreachable | om_read, acknowledge ×3        | same  | 0       |
| acknowledge | delay past timeout | 1     | 503 kco_unreachable | om_read, acknowledge           | same  | 0       |
| acknowledge | dropped connection | 3     | 503 kco_unreachable | om_read, acknowledge ×3        | same  | 0       |
"""

# How each fault of the table is armed in the emulator (kco_emulator/faults.py): `KcoEmulator.fail_next` with
# these arguments, except the dropped connection, which is `disconnect_next`.
DROPPED_CONNECTION = "dropped connection"
FAULTS: dict[str, dict[str, Any]] = {
    "400": {"status": 400},
    "401": {"status": 401},
    "403": {"status": 403},
    "404 empty body": {"status": 404, "body": "empty"},
    "409": {"status": 409},
    "423": {"status": 423},
    "429": {"status": 429},
    "500 JSON": {"status": 500},
    "502 HTML": {"status": 502, "body": "html"},
    "503": {"status": 503},
    "504": {"status": 504},
    "delay past timeout": {"status": None, "delay_ms": DELAY_PAST_TIMEOUT_MS},  # no failure, only the delay
    DROPPED_CONNECTION: {},
}
UPDATE_ONLY_FAULTS = ("423", "429")
FIRST_CART = {"mug-001": 2}
CHANGED_CART = {"mug-001": 3, "tee-002": 1}


def table_rows(markdown: str) -> list[tuple[str, ...]]:
    """The body rows of the first markdown table in `markdown`, as tuples of trimmed cells."""
    rows = []
    for line in markdown.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            if rows:
                break
            continue
        rows.append(tuple(cell.strip() for cell in line.strip("|").split("|")))
    return [row for row in rows[1:] if not set("".join(row)) <= set("-: ")]


@dataclass(frozen=True)
class Cell:
    operation: str
    fault: str
    times: int
    answer: str
    calls: Counter[str]
    session_order: str
    orphans: int

    @property
    def id(self) -> str:
        return f"{self.operation}-{self.fault.replace(' ', '_')}-x{self.times}"


def parse_calls(text: str) -> Counter[str]:
    calls: Counter[str] = Counter()
    for part in text.split(","):
        name, _, count = part.strip().partition(" ×")
        calls[name] += int(count or 1)
    return calls


CELLS = [Cell(operation, fault, int(times), answer, parse_calls(calls), order, int(orphans))
         for operation, fault, times, answer, calls, order, orphans in table_rows(FAULT_MATRIX)]


def test_the_documented_fault_matrix_is_the_tested_one() -> None:
    documented = table_rows((ROOT / "docs" / "fault-matrix.md").read_text(encoding="utf-8"))
    assert documented == table_rows(FAULT_MATRIX)
    # 423 and 429 are refusals of an update KCO may answer while it calls the merchant back
    # (kco-rules: callback-lock); the other operations get every other fault.
    assert {(cell.operation, cell.fault) for cell in CELLS} == {
        (operation, fault) for operation in ("create", "read", "update", "acknowledge") for fault in FAULTS
        if operation == "update" or fault not in UPDATE_ONLY_FAULTS}


# --- the shops ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def short_timeout_shop(emulator_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
                       ) -> Iterator[ServerProcess]:
    """A second shop whose KCO read timeout is short, so a delayed KCO answer times out quickly."""
    server = shop_process(emulator_server.url, port=0, env={
        "SECRET_KEY": "test-only-secret-key-of-the-short-timeout-shop",
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("short-timeout-shop")),
        "KCO_USERNAME": "demo",
        "KCO_PASSWORD": "demo",
        "KCO_READ_TIMEOUT": SHORT_READ_TIMEOUT,
    })
    server.start()
    yield server
    server.stop()


@pytest.fixture
def shop_for(request: pytest.FixtureRequest) -> Any:
    def choose(cell: Cell) -> ServerProcess:
        name = "short_timeout_shop" if cell.fault == "delay past timeout" else "shop_server"
        return request.getfixturevalue(name)
    return choose


# --- pieces of a cell -------------------------------------------------------------------------------------

def wait_for_calls(calls: KCOCalls, expected: Counter[str]) -> Counter[str]:
    """The KCO calls since the mark, once KCO has answered them all: a delayed call is logged when the
    emulator finally answers it, after the shop gave up waiting."""
    deadline = time.monotonic() + WAIT_FOR_KCO_SECONDS
    while True:
        made = Counter(calls.since())
        if made == expected or time.monotonic() > deadline:
            return made
        time.sleep(0.05)


def created_orders(emulator: KcoEmulator, since: int) -> list[str]:
    return [entry["order_id"] for entry in emulator.calls()[since:]
            if entry["operation"] == "create" and entry["status"] == 201]


def page_message(page: str) -> str:
    start = page.index("data-kco-message")
    return page[page.index(">", start) + 1:page.index("</p>", start)].strip()


@pytest.mark.parametrize("cell", CELLS, ids=[cell.id for cell in CELLS])
def test_fault_cell(cell: Cell, shop_for: Any, emulator: KcoEmulator, calls: KCOCalls) -> None:
    shop = shop_for(cell)
    shopper = ApiShopper(shop.url)
    output_start = len(shop.output)
    emulator.settings(push_retry_seconds=[])  # only the pushes this test sends
    shopper.add_to_cart("mug-001", FIRST_CART["mug-001"])
    order_before = None
    if cell.operation != "create":
        assert shopper.open_checkout().status_code == 200
        order_before = shopper.order_id()
    if cell.operation == "acknowledge":
        assert emulator.complete(order_before)["result"] == "completed"

    log_start = len(emulator.calls())
    calls.mark()
    if cell.fault == DROPPED_CONNECTION:
        emulator.disconnect_next(cell.operation, times=cell.times)
    else:
        emulator.fail_next(cell.operation, times=cell.times, **FAULTS[cell.fault])
    cart_sent = CHANGED_CART if cell.operation == "update" else FIRST_CART
    answer = act(cell, shopper, emulator, order_before)

    # No 500, and what the shopper (or KCO) was told.
    assert answer.status_code != 500
    check_answer(cell, answer)
    # Exactly the KCO calls of the table (waiting for a delayed one to be answered).
    assert wait_for_calls(calls, cell.calls) == cell.calls
    # The cart is never lost, and the session points at the order the table says.
    assert shopper.quantities() == cart_sent
    session_order = shopper.cart()["order"]
    session_order_id = session_order["order_id"] if session_order else None
    if cell.session_order == "none":
        assert session_order_id is None
    elif cell.session_order == "same":
        assert session_order_id == order_before
    else:
        assert session_order_id not in (None, order_before)
        assert created_orders(emulator, log_start) == [session_order_id]
        # The given-up order can no longer be paid: aborted, or already unknown/expired (404).
        assert emulator.order_state(order_before)["aborted"] == bool(cell.calls["abort"])

    recover(cell, shopper, emulator)
    final_order_id = shopper.order_id()
    orphans = [order_id for order_id in created_orders(emulator, log_start) if order_id != final_order_id]
    assert len(orphans) == cell.orphans
    state = emulator.order_state(final_order_id)
    assert not state["expired"] and not state["aborted"]
    assert kco_quantities(emulator, final_order_id) == shopper.quantities() == cart_sent
    assert not [line for line in shop.output[output_start:] if "Traceback" in line]


def act(cell: Cell, shopper: ApiShopper, emulator: KcoEmulator, order_id: str | None
        ) -> requests.Response:
    """The shopper's (or KCO's) step that makes the shop call the faulted operation."""
    if cell.operation in ("create", "read"):
        return shopper.open_checkout()
    if cell.operation == "update":
        return shopper.set_cart(CHANGED_CART)
    assert order_id is not None
    return requests.post(callback_url(emulator, order_id, "push"), data=b"", timeout=15)


def check_answer(cell: Cell, answer: requests.Response) -> None:
    status, _, what = cell.answer.partition(" ") if cell.answer[0].isdigit() else ("200", "", cell.answer)
    assert answer.status_code == int(status), answer.text
    if what == "page, message":
        assert csrf_token_in(answer.text)
        assert page_message(answer.text) == shop_text(
            "The checkout could not be reached just now. Your cart is saved; please reload the page in a moment.")
        assert "klarna-checkout-container" not in answer.text
    elif what == "page, new order":
        assert "klarna-checkout-container" in answer.text and page_message(answer.text) == ""
    elif what == "JSON, new snippet":
        assert "klarna-checkout-container" in answer.json()["html_snippet"]
    elif what == "JSON, same order":
        assert "html_snippet" not in answer.json() and answer.json()["order"]["order_id"]
    else:
        error = answer.json()["error"]
        assert error["code"] == what and error["message"]


def recover(cell: Cell, shopper: ApiShopper, emulator: KcoEmulator) -> None:
    """The fault has passed: the shopper reloads the checkout, or KCO pushes again."""
    if cell.operation == "acknowledge":
        order_id = shopper.order_id()
        push = requests.post(callback_url(emulator, order_id, "push"), data=b"", timeout=15)
        assert push.status_code == 200
        assert emulator.order_state(order_id)["acknowledged"]
        return
    page = shopper.open_checkout()
    assert page.status_code == 200 and "klarna-checkout-container" in page.text
