"""Workshop mode: the inspector logs this session's KCO calls and callbacks; its emulator buttons work."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cachelib import SimpleCache

from harness.redis_server import redis_server_binary, start_redis
from harness.shop_client import ApiShopper
from kco.checkout import UPDATE_RETRY_WAITS, order_content
from kco.client import ClientConfig
from kco_emulator.testing import KcoEmulator
from shop.settings import SettingsError, inspector_enabled
from workshop.call_log import MAX_ENTRIES, CallLog, ProcessCallLog, RedisCallLog
from workshop.inspector import content_changes

PLAYGROUND_VARIABLES = {"KCO_ENVIRONMENT": "playground", "KCO_API_KEY": "kco_test_api_x",
                        "KCO_SNIPPET_ORIGINS": "https://js.playground.kustom.co",
                        "PUBLIC_BASE_URL": "https://shop.example.com"}
EMULATOR = ClientConfig(base_url="http://127.0.0.1:5001")
PLAYGROUND = ClientConfig(base_url="https://api.playground.kustom.co", api_key="kco_test_api_x")
KCO_DELAY_MS = 300


def kco_entries(shopper: ApiShopper, kind: str = "kco") -> list[dict[str, Any]]:
    response = shopper.http.get(shopper.url("/api/inspector"), timeout=15)
    assert response.status_code == 200, response.text
    return [entry for entry in response.json()["entries"] if entry["kind"] == kind]


def press(shopper: ApiShopper, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = shopper.post_json(f"/api/inspector/emulator/{action}", body or {})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def shopper(shop_server, emulator) -> ApiShopper:
    shopper = ApiShopper(shop_server.url)
    shopper.add_to_cart("mug-001", 1)
    assert shopper.open_checkout().status_code == 200
    return shopper


# --- on or off -------------------------------------------------------------------------------------------

def test_the_inspector_is_on_only_when_asked_for_never_for_a_local_kco_address_alone() -> None:
    assert inspector_enabled({}, EMULATOR) is False
    assert inspector_enabled({}, PLAYGROUND) is False
    assert inspector_enabled({"KCO_INSPECTOR": "1"}, PLAYGROUND) is True
    assert inspector_enabled({"KCO_INSPECTOR": "0"}, EMULATOR) is False
    with pytest.raises(SettingsError, match="KCO_INSPECTOR"):
        inspector_enabled({"KCO_INSPECTOR": "maybe"}, EMULATOR)


@pytest.mark.parametrize(("variables", "log_route", "emulator_route"), [
    ({"KCO_API_URL": "http://127.0.0.1:5001"}, False, False),
    ({"KCO_API_URL": "http://127.0.0.1:5001", "KCO_INSPECTOR": "1"}, True, True),
    ({"KCO_API_URL": "http://127.0.0.1:5001", "KCO_INSPECTOR": "0"}, False, False),
    ({**PLAYGROUND_VARIABLES}, False, False),
    ({**PLAYGROUND_VARIABLES, "KCO_INSPECTOR": "1"}, True, False),
])
def test_the_emulator_buttons_exist_only_with_the_local_emulator(make_app, monkeypatch, variables, log_route,
                                                                 emulator_route) -> None:
    for name in ("KCO_API_URL", "KCO_ENVIRONMENT", "KCO_INSPECTOR", "KCO_USERNAME", "KCO_PASSWORD",
                 "KCO_API_KEY", "KCO_SNIPPET_ORIGINS", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    app = make_app(**variables)
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert ("/api/inspector" in rules) is log_route
    assert ("/api/inspector/emulator/<action>" in rules) is emulator_route


# --- what changed ----------------------------------------------------------------------------------------

def line(reference: str, quantity: int, unit_price: int = 1000) -> dict[str, Any]:
    return {"type": "physical", "reference": reference, "name": reference, "quantity": quantity,
            "unit_price": unit_price, "tax_rate": 2500, "total_amount": quantity * unit_price,
            "total_discount_amount": 0, "total_tax_amount": quantity * unit_price // 5}


def order(lines: list[dict[str, Any]], country: str = "SE", currency: str = "SEK") -> dict[str, Any]:
    return order_content({"purchase_country": country, "purchase_currency": currency, "locale": "sv-SE",
                          "order_amount": sum(item["total_amount"] for item in lines),
                          "order_tax_amount": sum(item["total_tax_amount"] for item in lines),
                          "order_lines": lines})


def test_a_quantity_change_names_the_line_the_quantity_and_the_amounts_but_not_the_market() -> None:
    before, after = order([line("mug", 1), line("pen", 2)]), order([line("mug", 3), line("pen", 2)])
    changes = content_changes(before, after)
    assert [change["field"] for change in changes] == ["order_lines", "order_amount", "order_tax_amount"]
    assert changes[0]["lines"] == ["mug: quantity 1 → 3, total_amount, total_tax_amount"]
    assert changes[1] == {"field": "order_amount", "before": 3000, "after": 5000}


def test_added_and_removed_lines_and_a_new_market_are_named() -> None:
    changes = content_changes(order([line("mug", 1)]), order([line("pen", 1)], country="DE", currency="EUR"))
    assert changes[0] == {"field": "order_lines", "lines": ["+ pen × 1", "− mug"]}
    assert {"field": "purchase_country", "before": "SE", "after": "DE"} in changes
    assert {"field": "purchase_currency", "before": "SEK", "after": "EUR"} in changes


def test_a_first_order_counts_every_field_as_new() -> None:
    changes = content_changes(None, order([line("mug", 1)]))
    assert {change["field"] for change in changes} == {
        "order_lines", "purchase_country", "purchase_currency", "locale", "order_amount", "order_tax_amount"}


def test_the_log_keeps_the_last_entries_and_their_ids_keep_counting_so_the_panel_sees_new_ones() -> None:
    log = CallLog(SimpleCache())
    log.append("checkout", [{"kind": "kco", "at": number} for number in range(MAX_ENTRIES + 10)])
    log.append("checkout", [{"kind": "kco", "at": 999}])

    entries = log.entries("checkout")
    assert len(entries) == MAX_ENTRIES
    assert [entries[0]["id"], entries[-1]["id"]] == [12, MAX_ENTRIES + 11]
    assert log.entries("another checkout") == []


@pytest.mark.parametrize("store", ["process", "redis"])
def test_each_store_keeps_the_last_entries_counting_ids_and_the_last_content(
        store: str, tmp_path: Path) -> None:
    server = None
    if store == "redis":
        if redis_server_binary() is None:
            pytest.skip("redis-server is not installed")
        import redis

        server = start_redis(tmp_path)
        log: CallLog = RedisCallLog(redis.Redis.from_url(server.url))
    else:
        log = ProcessCallLog()
    try:
        content = {"order_id": "o-1", "content": order_content({"order_amount": 100, "order_lines": []})}
        log.record("checkout", [{"kind": "kco", "at": number} for number in range(MAX_ENTRIES + 10)], content)
        log.record("checkout", [{"kind": "callback", "at": 999, "changes": [{"field": "locale"}]}])

        entries = log.entries("checkout")
        assert len(entries) == MAX_ENTRIES
        assert [entries[0]["id"], entries[-1]["id"]] == [12, MAX_ENTRIES + 11]
        assert entries[-1] == {"id": MAX_ENTRIES + 11, "kind": "callback", "at": 999,
                               "changes": [{"field": "locale"}]}
        assert log.content("checkout") == content  # kept: the second record set none
        assert log.entries("another checkout") == [] and log.content("another checkout") is None
    finally:
        if server is not None:
            server.stop()


# --- against the running shop and emulator ----------------------------------------------------------------

def test_opening_the_checkout_logs_the_create_with_status_correlation_id_and_order(
        shopper: ApiShopper) -> None:
    [create] = kco_entries(shopper)
    assert (create["method"], create["path"], create["status"]) == ("POST", "/checkout/v3/orders", 201)
    assert create["operation"] == "create" and create["trigger"] == "GET /checkout"
    assert create["order_id"] == shopper.order_id()
    assert create["correlation_id"]


def test_a_logged_call_lasts_at_least_as_long_as_kco_held_back_its_answer(shop_server, emulator) -> None:
    # A lower bound the emulator guarantees (it answers only after the delay), so no timing can flake it.
    shopper = ApiShopper(shop_server.url)
    shopper.add_to_cart("mug-001", 1)
    emulator.fail_next("create", status=None, delay_ms=KCO_DELAY_MS)
    assert shopper.open_checkout().status_code == 200

    [create] = kco_entries(shopper)
    assert create["status"] == 201 and create["duration_ms"] >= KCO_DELAY_MS


def test_a_quantity_change_logs_one_update_with_the_fields_it_changed(shopper: ApiShopper) -> None:
    assert shopper.set_cart({"mug-001": 3}).status_code == 200

    update = kco_entries(shopper)[-1]
    assert (update["operation"], update["status"], update["trigger"]) == ("update", 200, "POST /api/cart")
    assert update["path"] == f"/checkout/v3/orders/{shopper.order_id()}"
    fields = [change["field"] for change in update["changes"]]
    assert fields == ["order_lines", "order_amount", "order_tax_amount"]
    assert update["changes"][0]["lines"][0].startswith("mug-001: quantity 1 → 3")


def test_the_log_belongs_to_one_session_and_never_holds_credentials(shopper: ApiShopper, shop_server) -> None:
    stranger = ApiShopper(shop_server.url)
    assert kco_entries(stranger) == []
    answer = shopper.http.get(shopper.url("/api/inspector"), timeout=15).text
    assert "Authorization" not in answer and "Basic " not in answer and "ZGVtbzpkZW1v" not in answer


def test_expire_order_makes_the_next_change_replace_the_order_with_a_create(shopper: ApiShopper) -> None:
    expired = shopper.order_id()
    press(shopper, "expire")

    assert shopper.set_cart({"mug-001": 2}).status_code == 200

    update, create = kco_entries(shopper)[-2:]
    assert (update["operation"], update["status"]) == ("update", 404)
    assert (create["operation"], create["status"]) == ("create", 201)
    assert create["replaces"] == expired and create["order_id"] == shopper.order_id() != expired


def test_fail_next_update_503_is_logged_and_the_shop_moves_to_a_new_order(shopper: ApiShopper) -> None:
    press(shopper, "fail-update-503")

    assert shopper.set_cart({"mug-001": 2}).status_code == 200

    update, read, *retries, abort, create = kco_entries(shopper)[-6:]
    assert (update["operation"], update["status"], update["error"]) == ("update", 503, "HTTP 503")
    assert (read["operation"], read["status"]) == ("read", 200)  # still checkout_incomplete: worth a retry
    assert [(retry["operation"], retry["status"]) for retry in retries] == [("update", 503)] * 2
    assert (abort["operation"], abort["status"]) == ("abort", 200)  # the given-up order can't be paid
    assert (create["operation"], create["status"]) == ("create", 201)


def test_each_kco_call_is_stamped_with_its_own_start_so_the_retry_waits_show(shopper: ApiShopper) -> None:
    press(shopper, "fail-update-503")

    assert shopper.set_cart({"mug-001": 2}).status_code == 200

    update, read, first_retry, second_retry = kco_entries(shopper)[-6:-2]
    operations = [entry["operation"] for entry in (update, read, first_retry, second_retry)]
    assert operations == ["update", "read", "update", "update"]
    # Each retry starts only after its wait (kco.checkout.UPDATE_RETRY_WAITS), counted from the end of the
    # call before it: a lower bound the shop guarantees. Stamps are rounded to the millisecond, hence the 1.
    for before, retry, wait in ((read, first_retry, UPDATE_RETRY_WAITS[0]),
                                (first_retry, second_retry, UPDATE_RETRY_WAITS[1])):
        assert retry["at"] - before["at"] >= before["duration_ms"] + wait * 1000 - 1


def test_the_timeout_button_arms_a_delay_longer_than_the_shops_read_timeout(shopper: ApiShopper,
                                                                           emulator) -> None:
    answer = press(shopper, "fail-update-timeout")
    assert answer["emulator"]["fault"]["operation"] == "update"
    assert answer["emulator"]["fault"]["delay_ms"] > 10_000  # KCO_READ_TIMEOUT default: 10 s
    emulator.reset()  # the test does not wait for it


def test_the_widget_country_button_runs_country_change_and_logs_the_callback_with_its_changes(
        shopper: ApiShopper) -> None:
    press(shopper, "country", {"country": "DE"})

    [callback] = kco_entries(shopper, "callback")
    assert (callback["name"], callback["status"]) == ("country_change", 200)
    changed = {change["field"]: change for change in callback["changes"]}
    assert changed["purchase_country"]["after"] == "DE"
    assert changed["purchase_currency"]["after"] == "EUR"
    assert shopper.cart()["cart"]["country"] == "DE"


def test_complete_purchase_and_push_show_validation_push_and_the_acknowledge(shopper: ApiShopper) -> None:
    assert press(shopper, "complete")["emulator"]["result"] == "completed"
    assert press(shopper, "push")["emulator"]["attempt"]["status"] == 200

    callbacks = [entry["name"] for entry in kco_entries(shopper, "callback")]
    # The emulator's shopper enters the test person's address first (address_update), then KCO validates.
    assert callbacks.index("address_update") < callbacks.index("validation") < callbacks.index("push")
    operations = [entry["operation"] for entry in kco_entries(shopper)]
    assert "om_read" in operations and "acknowledge" in operations


def test_held_the_automatic_push_waits_for_kcos_two_minutes_so_deliver_push_now_is_the_first_push(
        shopper: ApiShopper, emulator: KcoEmulator) -> None:
    order_id = shopper.order_id()
    assert press(shopper, "hold-push", {"held": True})["emulator"]["push_schedule"] == "real"
    assert press(shopper, "complete")["emulator"]["result"] == "completed"

    # Held: nothing is scheduled before KCO's first push, two minutes after the purchase.
    now = datetime.fromisoformat(emulator.status()["now"])
    first_due = datetime.fromisoformat(emulator.order_state(order_id)["push_due"][0])
    assert first_due - now > timedelta(minutes=1)
    assert emulator.status()["active_push_schedules"] == 1  # that one, and no quick schedule beside it
    assert press(shopper, "push")["emulator"]["attempt"]["status"] == 200
    assert len(emulator.order_state(order_id)["push_attempts"]) == 1
    assert [entry["name"] for entry in kco_entries(shopper, "callback")].count("push") == 1

    assert press(shopper, "hold-push", {"held": False})["emulator"]["push_schedule"] == "fast"


def test_the_page_shows_whether_the_automatic_push_is_held(shopper: ApiShopper) -> None:
    hold = re.compile(r'<button[^>]*data-emulator-action="hold-push"[^>]*aria-pressed="(true|false)"')
    assert hold.findall(shopper.open_checkout().text) == ["false"]
    press(shopper, "hold-push", {"held": True})
    assert hold.findall(shopper.open_checkout().text) == ["true"]


def test_after_a_confirmed_purchase_the_buttons_act_on_the_new_checkouts_order(
        shopper: ApiShopper, emulator: KcoEmulator) -> None:
    paid = shopper.order_id()
    press(shopper, "complete")
    assert shopper.get(f"/confirmation?order_id={paid}").status_code == 200
    # The confirmation started a new checkout: with no order yet, Push acts on the one just paid for.
    assert press(shopper, "push")["emulator"]["attempt"]["status"] == 200

    shopper.add_to_cart("mug-001", 1)
    assert shopper.open_checkout().status_code == 200
    pending = shopper.order_id()
    press(shopper, "complete-pending")
    decided = press(shopper, "fraud-decision", {"event_type": "FRAUD_RISK_ACCEPTED"})

    assert decided["emulator"]["fraud_status"] == "ACCEPTED"
    assert emulator.order_state(pending)["notifications"]
    assert not emulator.order_state(paid)["notifications"]


def test_the_buttons_need_the_pages_csrf_token_and_an_order(shop_server, emulator) -> None:
    newcomer = ApiShopper(shop_server.url)
    refused = newcomer.post_json("/api/inspector/emulator/expire", {}, csrf="wrong")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    no_order = newcomer.post_json("/api/inspector/emulator/complete", {})
    assert no_order.status_code == 409 and no_order.json()["error"]["code"] == "no_order"
    unknown = newcomer.post_json("/api/inspector/emulator/format-disk", {})
    assert unknown.status_code == 404 and json.loads(unknown.text)["error"]["code"] == "not_found"
