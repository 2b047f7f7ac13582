"""KCO calls per checkout scenario, counted in the emulator's request log, beside the fewest possible.

Each KCO call costs the shopper a round trip and counts against KCO's rate limits, so the shop makes only the
calls a scenario needs (kco/checkout.py, kco-rules: update-ongoing-order). The HTTP scenarios drive the shop's
pages and JSON API as the browser would; the ten-click burst runs in Chromium, because coalescing quick clicks
into few updates is kco-sync.js's job (debounce, one request in flight), which plain HTTP cannot show.

    .venv/bin/python -m bench.bench_kco_calls
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.stand import (
    Stand,
    checkout_in_chromium,
    chromium_executable,
    markdown_table,
    print_report,
    running_stand,
)
from harness.shop_client import ApiShopper, KCOCalls, kco_order, shop_text

CLICKS = 10


@dataclass(frozen=True)
class Scenario:
    name: str
    minimum: str  # the fewest KCO calls that can do the job, and why
    target: Callable[[list[str]], bool] | None = None


def shopper_at_checkout(stand: Stand, **cart: int) -> tuple[ApiShopper, KCOCalls]:
    shopper = ApiShopper(stand.shop_url)
    for sku, quantity in cart.items():
        shopper.add_to_cart(sku, quantity)
    assert shopper.open_checkout().status_code == 200
    calls = KCOCalls(stand.emulator)
    calls.mark()
    return shopper, calls


def count(operations: list[str]) -> str:
    if not operations:
        return "none"
    names = sorted(set(operations), key=operations.index)
    return ", ".join(f"{operations.count(name)} {name}" for name in names)


def http_scenarios(stand: Stand) -> list[tuple[Scenario, list[str]]]:
    measured: list[tuple[Scenario, list[str]]] = []

    shopper = ApiShopper(stand.shop_url)
    shopper.add_to_cart("mug-001")
    calls = KCOCalls(stand.emulator)
    calls.mark()
    assert shopper.open_checkout().status_code == 200
    measured.append((Scenario("First load of the checkout", "1 create (there is no order yet)",
                              lambda ops: ops == ["create"]), calls.since()))

    calls.mark()
    assert shopper.open_checkout().status_code == 200
    measured.append((Scenario("Reload, cart unchanged", "1 read (is the order still open? its snippet)",
                              lambda ops: ops == ["read"]), calls.since()))

    calls.mark()
    assert shopper.set_cart({"mug-001": 2}).status_code == 200
    measured.append((Scenario("One quantity change", "1 update", lambda ops: ops == ["update"]),
                     calls.since()))

    calls.mark()
    assert shopper.set_cart({"mug-001": 2}).status_code == 200
    measured.append((Scenario("The same cart sent again", "none (KCO already holds it)",
                              lambda ops: ops == []), calls.since()))

    calls.mark()
    for quantity in range(3, 3 + CLICKS):
        assert shopper.set_cart({"mug-001": quantity}).status_code == 200
    measured.append((Scenario(f"{CLICKS} changes over plain HTTP (no browser, so no debounce)",
                              f"{CLICKS} update (each request is a new cart)"), calls.since()))

    calls.mark()
    assert shopper.set_market("DE").status_code == 200
    measured.append((Scenario("Country switch SE to DE", "1 update (country, currency, locale, prices)",
                              lambda ops: ops == ["update"]), calls.since()))

    shopper, calls = shopper_at_checkout(stand, **{"bottle-003": 1})
    stand.emulator.advance(hours=49)  # kco-rules: expiry-48h
    assert shopper.open_checkout().status_code == 200
    measured.append((Scenario("Reload after the order expired", "1 read (404) + 1 create",
                              lambda ops: ops == ["read", "create"]), calls.since()))

    shopper, calls = shopper_at_checkout(stand, **{"bottle-003": 1})
    stand.emulator.advance(hours=49)
    assert shopper.set_cart({"bottle-003": 2}).status_code == 200
    measured.append((Scenario("Change after the order expired", "1 update (404) + 1 create",
                              lambda ops: ops == ["update", "create"]), calls.since()))
    return measured


def browser_burst(stand: Stand) -> tuple[Scenario, list[str] | str]:
    """Ten quick presses of the quantity's up arrow in Chromium; the operations, or why it could not run."""
    scenario = Scenario(f"{CLICKS} quick steps up on a quantity (ArrowUp) in Chromium",
                        "1 update (target: at most 3)", lambda ops: 1 <= ops.count("update") <= 3
                        and set(ops) == {"update"})
    executable = chromium_executable()
    if executable is None:
        return scenario, "not run: no Chromium (apt-get install chromium)"
    from playwright.sync_api import expect

    with checkout_in_chromium(executable, stand.shop_url, "Wool socks") as page:
        widget = page.locator("#klarna-checkout-container")
        calls = KCOCalls(stand.emulator)
        calls.mark()
        quantity = page.get_by_label(shop_text("Quantity of %(product)s", product="Wool socks"))
        for _ in range(CLICKS):
            quantity.press("ArrowUp")
        expect(page.locator("[data-kco-sync]")).to_have_attribute("data-kco-sync-state", "idle")
        expect(widget).to_have_attribute("data-kco-widget-state", "ready")
        operations = calls.since()
        order_id = page.request.get(f"{stand.shop_url}/api/cart").json()["order"]["order_id"]
        lines = [(line["reference"], line["quantity"])
                 for line in kco_order(stand.emulator, order_id)["order_lines"]
                 if line.get("type", "physical") == "physical"]
        assert lines == [("socks-004", 1 + CLICKS)], f"KCO holds {lines}, not the final cart"
    return scenario, operations


def main() -> None:
    with running_stand() as stand:
        measured: list[tuple[Scenario, list[str] | str]] = list(http_scenarios(stand))
        measured.insert(4, browser_burst(stand))
    rows = []
    for scenario, operations in measured:
        if isinstance(operations, str):
            rows.append([scenario.name, operations, scenario.minimum, "n/a"])
            continue
        verdict = "n/a" if scenario.target is None else ("yes" if scenario.target(operations) else "**no**")
        rows.append([scenario.name, count(operations), scenario.minimum, verdict])
    print_report("KCO calls per scenario", markdown_table(
        ["Scenario", "KCO calls made", "Fewest possible", "At the minimum / target"], rows), [
        "Counted from the emulator's request log (GET /_emulator/requests); the widget's own requests "
        "are not API calls and are not counted.",
        "Expiry: the emulator's clock is moved 49 h on; an expired order can only be discovered by asking "
        "KCO, so 1 failed call + 1 create is the floor.",
    ])


if __name__ == "__main__":
    main()
