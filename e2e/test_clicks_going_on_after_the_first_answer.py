"""Journey: the shopper keeps clicking a quantity up before and after the first update is answered.

Seventeen clicks 70 ms apart while KCO takes its time over each update. The first click goes out at once;
every later click, whether it comes while that request runs or after its answer, only moves the pause on. So
KCO sees two updates: the first click's quantity and the last one, never a state in between.

The page's clock is Playwright's (page.clock): the 70 ms between clicks and the debounce pause are run on it,
so the journey is the same on a slow machine. KCO's delay is real; the journey waits for the first answer to
arrive between the ninth and the tenth click, and checks that none had arrived before.
"""

from datetime import datetime, timedelta
from urllib.parse import urlparse

from playwright.sync_api import expect

from e2e.journeys import assert_order_equals_cart, shopper_at_checkout

CLICK_INTERVAL_MS = 70
CLICKS_BEFORE_THE_ANSWER = 9
CLICKS_AFTER_THE_ANSWER = 8
DEBOUNCE_MS = 150  # kco-sync.js's pause
# Much longer than nine clicks take, so the first answer certainly comes after them (checked below).
UPDATE_DELAY_MS = 1500

# Counts on the root how many requests the page has finished with (its kco-sync:resume events).
COUNT_ANSWERS = """
document.addEventListener("DOMContentLoaded", () => {
  const root = document.querySelector("[data-kco-sync]");
  root?.addEventListener("kco-sync:resume", () => {
    root.dataset.answersSeen = String(Number(root.dataset.answersSeen ?? 0) + 1);
  });
});
"""


def test_clicks_going_on_after_the_first_answer_send_only_the_first_and_the_last_quantity(
        page, shop_server, kco_emulator):
    page.clock.install()
    page.add_init_script(COUNT_ANSWERS)
    shopper = shopper_at_checkout(page, shop_server.url, "Wool socks")
    sent: list[int] = []
    page.on("request", lambda request: sent.append(request.post_data_json["items"][0]["quantity"])
            if request.method == "POST" and urlparse(request.url).path == "/api/cart" else None)
    kco_emulator.fail_next("update", status=None, delay_ms=UPDATE_DELAY_MS, times=3)
    quantity = shopper.quantity_of("Wool socks")
    # From here the page's time moves only when the journey runs it.
    page.clock.pause_at(datetime.now() + timedelta(seconds=1))

    def click_and_wait() -> None:
        quantity.press("ArrowUp")
        page.clock.run_for(CLICK_INTERVAL_MS)

    for _ in range(CLICKS_BEFORE_THE_ANSWER):
        click_and_wait()
    assert shopper.sync_root.get_attribute("data-answers-seen") is None, (
        "the first update was answered during the first clicks; this journey did not happen")
    expect(shopper.sync_root).to_have_attribute("data-answers-seen", "1", timeout=UPDATE_DELAY_MS + 10_000)
    for _ in range(CLICKS_AFTER_THE_ANSWER):
        click_and_wait()
    page.clock.run_for(DEBOUNCE_MS)
    page.clock.resume()
    shopper.waits_until_the_page_is_quiet()

    last = 1 + CLICKS_BEFORE_THE_ANSWER + CLICKS_AFTER_THE_ANSWER
    assert sent == [2, last]
    expect(quantity).to_have_value(str(last))
    cart = shopper.cart()
    assert [(item["sku"], item["quantity"]) for item in cart["items"]] == [("socks-004", last)]
    assert [call["operation"] for call in kco_emulator.calls()].count("update") == 2
    assert_order_equals_cart(kco_emulator.order(shopper.order_id()), cart)
