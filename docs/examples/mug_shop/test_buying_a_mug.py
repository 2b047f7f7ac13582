import pytest
import requests
from playwright.sync_api import Page, expect

from kco_emulator.playwright import KcoWidget


@pytest.mark.kco_emulator_settings(push_retry_seconds=[])  # no push on its own: the test sends it
def test_a_shopper_buys_a_mug_and_the_shop_acknowledges_it(page: Page, shop_url, kco_emulator):
    page.goto(f"{shop_url}/checkout")
    widget = KcoWidget(page)
    widget.wait_ready()
    assert widget.total().startswith("149,00")

    widget.fill_shopper()
    widget.complete()

    page.wait_for_url(f"{shop_url}/confirmation?order_id=*")
    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    order_id = page.url.split("order_id=")[1]
    assert kco_emulator.order(order_id)["status"] == "checkout_complete"
    assert kco_emulator.push(order_id)["status"] == 204
    assert len(kco_emulator.calls("acknowledge")) == 1


def test_the_shop_says_so_when_kco_is_down(page: Page, shop_url, kco_emulator):
    kco_emulator.fail_next("create", status=503)  # one fault is enough: the kco client never retries a create
    assert page.goto(f"{shop_url}/checkout").status == 503
    expect(page.get_by_role("heading")).to_have_text("The checkout is not available, please try again")
    assert len(kco_emulator.calls("create")) == 1

    # The fault is spent: the shopper's next try gets a checkout.
    assert page.goto(f"{shop_url}/checkout").status == 200


def test_the_shop_as_production_runs_it_creates_the_order(gunicorn_shop_url, kco_emulator):
    answer = requests.get(f"{gunicorn_shop_url}/checkout", timeout=30)
    assert answer.status_code == 200
    assert [call["status"] for call in kco_emulator.calls("create")] == [201]
