"""Journey: a change after a quiet moment is sent at once; a change right behind it waits for the pause.

kco-sync.js only waits when there is something to coalesce with: a request in flight, a pending pause, or an
answer that came in a moment ago. So the widget of a shopper who changes one quantity is suspended in the same
task as the change, with no timer in between, while a second change made during that request goes out once
the shopper pauses, carrying the last state. Checked by order of events, not by time.
"""

from e2e.journeys import BrowserShopper, assert_order_equals_cart, count_of

# Types each value in turn, in one task, as a shopper's input event does; for each, whether the widget was
# suspended before the input event returned (the request was sent at once).
TYPE_AND_SEE_WHAT_WENT_AT_ONCE = """([label, values]) => {
    const root = document.querySelector("[data-kco-sync]");
    const input = document.querySelector(`[aria-label="${label}"]`);
    return values.map((value) => {
        let suspended = false;
        const seen = () => { suspended = true; };
        root.addEventListener("kco-sync:suspend", seen);
        input.value = value;
        input.dispatchEvent(new Event("input", { bubbles: true }));
        root.removeEventListener("kco-sync:suspend", seen);
        return suspended;
    });
}"""


def test_an_isolated_change_is_sent_at_once_and_one_made_during_its_request_waits(
        page, shop_server, emulator):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Wool socks")
    shopper.opens_checkout()
    shopper.waits_until_the_page_is_quiet()
    label = shopper.says("Quantity of %(product)s", product="Wool socks")

    # The second change comes while the first one's request is running: it waits for the pause.
    assert page.evaluate(TYPE_AND_SEE_WHAT_WENT_AT_ONCE, [label, ["2", "3"]]) == [True, False]

    shopper.waits_until_the_page_is_quiet()
    cart = shopper.cart()
    assert [(item["sku"], item["quantity"]) for item in cart["items"]] == [("socks-004", 3)]
    assert count_of(emulator, "update") == 2
    assert_order_equals_cart(emulator.order(shopper.order_id()), cart)
