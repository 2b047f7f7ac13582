"""Journey: a presenter walks the script of docs/workshop.md step by step, and the room sees what it promises.

Each row of the script's table is a step here, under its time (`STEPS`). A step does what the row's "do"
column says, pressing, picking and opening exactly what the row names in bold (checked), then checks what
the "point at" column promises: in the KCO inspector's timeline, the room's view, and where the timeline
cannot tell (that nothing else reached KCO, when the emulator pushes), in what the emulator saw. The shop
runs with KCO_READ_TIMEOUT=2, as the doc's tip suggests, so the timeout step takes two seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from e2e.journeys import BrowserShopper, kco_operations, wait_for
from harness.local_stack import shop_process
from kco.checkout import UPDATE_RETRY_WAITS
from kco_emulator.testing import EmulatorProcess, KcoEmulator, ServerProcess

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "workshop.md"
ROW = re.compile(r"^\| (\d+:\d\d) \| (.+?) \| (.+?) \|$", re.MULTILINE)
BOLD = re.compile(r"\*\*(.+?)\*\*")
READ_TIMEOUT_SECONDS = 2
# shop/errors.py, for the shopper; the page shows it in its language.
KCO_UNREACHABLE = "The checkout could not be reached just now; nothing is lost. Please try again in a moment."

# The timeline's rows as the room reads them; `at` is the stamp the row shows (epoch milliseconds).
TIMELINE_ROWS = """rows => rows.map(row => ({
  source: row.dataset.source, operation: row.dataset.operation ?? null, at: Number(row.dataset.at),
  time: row.querySelector('.time').textContent, what: row.querySelector('.what').textContent,
  status: row.querySelector('.status')?.textContent ?? null,
  detail: row.querySelector('.detail')?.textContent ?? '',
  changes: row.querySelector('.changes')?.textContent ?? '',
}))"""
TIMELINE_HOLDS = """([since, source, name, count]) => {
  const rows = [...document.querySelectorAll("[data-inspector-timeline] > li")];
  const named = (row) => name === null || row.dataset.operation === name
    || row.querySelector(".what").textContent === name;
  return rows.filter((row) => Number(row.dataset.at) >= since && row.dataset.source === source && named(row))
    .length >= count;
}"""


def script_rows() -> list[tuple[str, str, str]]:
    """(time, do, point at) of each row of the script's table."""
    return ROW.findall(SCRIPT.read_text(encoding="utf-8"))


class Presenter:
    """The presenter at the checkout page, in the words of the script's "do" column. Each action notes the
    name it used, so a step can be held to the names its row gives in bold. The shop's controls speak the
    page's language (Swedish at first): they are found by the shop's words for the script's English names."""

    def __init__(self, page: Page, shop_url: str, emulator: KcoEmulator) -> None:
        self.page = page
        self.shopper = BrowserShopper(page, shop_url)
        self.emulator = emulator
        self.used: list[str] = []

    def _uses(self, name: str) -> None:
        if name not in self.used:
            self.used.append(name)

    # --- what the presenter does --------------------------------------------------------------------------

    def adds(self, product: str) -> None:
        self._uses(product)
        add = self.shopper.says("Add %(product)s to cart", product=product)
        self.page.get_by_role("button", name=add).click()
        expect(self.page.get_by_role("status")).to_contain_text(
            self.shopper.says("%(product)s is in your cart.", product=product))

    def opens(self, link: str) -> None:
        self._uses(link)
        navigation = self.page.get_by_role("navigation", name=self.shopper.says("Main"))
        navigation.get_by_role("link", name=self.shopper.says(link)).click()
        if link == "Checkout":
            self.shopper.widget.kco.wait_ready()

    def opens_the_inspector(self) -> None:
        self._uses("KCO inspector")
        self.page.get_by_text("KCO inspector", exact=True).click()
        expect(self.page.locator("[data-kco-inspector]")).to_have_attribute("open", "")

    def presses(self, button: str) -> None:
        """An emulator button; waits until the panel says what it did (a row of the timeline)."""
        self._uses(button)
        pressed = self.now()
        self.page.locator("[data-kco-inspector]").get_by_role("button", name=button, exact=True).click()
        self.waits_for("panel", button, since=pressed)

    def picks(self, option: str, select: str) -> None:
        self._uses(option)
        self.page.get_by_role("combobox", name=select, exact=True).select_option(label=option)

    def picks_country(self, name: str) -> None:
        """In the shop's Country select, which names the countries in the page's language."""
        self._uses(name)
        self.shopper.chooses_country(name)

    def sets_quantity(self, product: str, quantity: int) -> None:
        self.shopper.sets_quantity(product, quantity)

    def changes_a_quantity(self) -> None:
        mug = self.shopper.quantity_of("Enamel mug")
        self.shopper.sets_quantity("Enamel mug", int(mug.input_value()) + 1)

    # --- what the room sees -------------------------------------------------------------------------------

    def now(self) -> float:
        return self.page.evaluate("Date.now()")

    def waits_for(self, source: str, name: str | None = None, since: float = 0, count: int = 1) -> None:
        """Until the timeline holds, since `since`, `count` rows of `source` with that operation or name."""
        self.page.wait_for_function(TIMELINE_HOLDS, arg=[since, source, name, count])

    def timeline(self, since: float = 0) -> list[dict[str, Any]]:
        rows = self.page.locator("[data-inspector-timeline] > li").evaluate_all(TIMELINE_ROWS)
        return [row for row in rows if row["at"] >= since]

    def kco_calls(self, since: float = 0) -> list[dict[str, Any]]:
        return [row for row in self.timeline(since) if row["source"] == "KCO call"]

    def order_id(self) -> str:
        return self.shopper.order_id()


Step = Callable[[Presenter], None]


def opens_the_checkout_and_the_inspector(presenter: Presenter) -> None:
    presenter.page.goto(f"{presenter.shopper.shop_url}/")
    presenter.adds("Enamel mug")
    presenter.adds("Steel water bottle")
    presenter.opens("Checkout")
    presenter.opens_the_inspector()

    presenter.waits_for("KCO call", "create")
    presenter.waits_for("widget", "change")
    [create] = presenter.kco_calls()
    assert (create["what"], create["status"]) == ("POST /checkout/v3/orders", "201")
    assert "purchase_country: — → SE" in create["changes"]  # every field is new
    widget_events = [row for row in presenter.timeline() if row["source"] == "widget"]
    names = [row["what"] for row in widget_events]
    assert names.index("load") < names.index("change")
    assert widget_events[names.index("change")]["detail"] == "country swe"


def reloads(presenter: Presenter) -> None:
    calls_before = len(presenter.emulator.calls())
    since = presenter.now()
    presenter.shopper.reloads_checkout()

    presenter.waits_for("KCO call", "read", since=since)
    presenter.shopper.waits_until_the_page_is_quiet()
    [read] = presenter.kco_calls(since)
    assert read["what"] == f"GET /checkout/v3/orders/{presenter.order_id()}" and read["status"] == "200"
    assert kco_operations(presenter.emulator)[calls_before:] == ["read"]


def sets_the_mug_to_three(presenter: Presenter) -> None:
    since = presenter.now()
    presenter.sets_quantity("Enamel mug", 3)

    presenter.waits_for("widget", "state: ready", since=since)
    presenter.waits_for("KCO call", "update", since=since)
    rows = presenter.timeline(since)
    order = [f"{row['source']} {row['what']}" for row in rows]
    update = next(row for row in rows if row["source"] == "KCO call")
    assert update["what"] == f"POST /checkout/v3/orders/{presenter.order_id()}" and update["status"] == "200"
    assert "mug-001: quantity 1 → 3" in update["changes"] and "order_amount" in update["changes"]
    the_update = f"KCO call {update['what']}"
    assert (order.index("widget state: suspended") < order.index(the_update)
            < order.index("widget state: resuming") < order.index("widget order_total_change")
            < order.index("widget state: ready"))


def picks_germany(presenter: Presenter) -> None:
    order_id = presenter.order_id()
    since = presenter.now()
    presenter.picks_country("Germany")

    presenter.shopper.waits_until_the_page_is_quiet()
    presenter.waits_for("KCO call", "update", since=since)
    [update] = presenter.kco_calls(since)
    assert update["what"] == f"POST /checkout/v3/orders/{order_id}" and update["status"] == "200"
    for change in ("purchase_country: SE → DE", "purchase_currency: SEK → EUR", "locale: sv-se → de-de",
                   "mug-001: unit_price", "bottle-003: unit_price", "standard: unit_price"):
        assert change in update["changes"]


def expires_the_order(presenter: Presenter) -> None:
    expired = presenter.order_id()
    since = presenter.now()
    presenter.presses("Expire order")
    presenter.changes_a_quantity()

    presenter.waits_for("KCO call", "read", since=since)  # the page's load of the new order
    update, create, read = presenter.kco_calls(since)
    assert (update["operation"], update["status"]) == ("update", "404")
    assert create["status"] == "201" and f"replaces {expired}" in create["detail"]
    new_order = presenter.order_id()
    assert new_order != expired and f"new order {new_order}" in create["detail"]
    assert read["what"] == f"GET /checkout/v3/orders/{new_order}" and "for GET /checkout" in read["detail"]
    expect(presenter.shopper.sync_root).to_have_attribute("data-kco-order-id", new_order)


def fails_an_update_with_503(presenter: Presenter) -> None:
    since = presenter.now()
    presenter.presses("Fail next update (503)")
    presenter.changes_a_quantity()

    presenter.waits_for("KCO call", "read", since=since, count=2)  # the second: the page loads the new order
    calls = presenter.kco_calls(since)
    assert [(row["operation"], row["status"]) for row in calls] == [
        ("update", "503"), ("read", "200"), ("update", "503"), ("update", "503"), ("abort", "200"),
        ("create", "201"), ("read", "200")]
    # The stamps the room reads show each wait: a retry starts at least its wait after the call before it
    # started, a lower bound the shop guarantees (kco.checkout.UPDATE_RETRY_WAITS).
    read, first_retry, second_retry = (shown_time(row) for row in calls[1:4])
    assert first_retry - read >= timedelta(seconds=UPDATE_RETRY_WAITS[0])
    assert second_retry - first_retry >= timedelta(seconds=UPDATE_RETRY_WAITS[1])


def times_an_update_out(presenter: Presenter) -> None:
    calls_before = len(presenter.emulator.calls())
    since = presenter.now()
    presenter.presses("Fail next update (timeout)")
    presenter.changes_a_quantity()

    presenter.shopper.waits_until_the_page_gives_up()
    expect(presenter.shopper.message).to_have_text(presenter.shopper.says(KCO_UNREACHABLE))
    wanted = presenter.shopper.quantity_of("Enamel mug").input_value()
    presenter.waits_for("KCO call", "update", since=since)
    [update] = presenter.kco_calls(since)
    assert update["status"].startswith("no answer")
    # The emulator applies the update once its delay is over, a second after the shop gave up, and logs it
    # once it has answered.
    wait_for(lambda: [call["status"] for call in presenter.emulator.calls()[calls_before:]] == [200],
             "the late update to be applied", timeout=READ_TIMEOUT_SECONDS + 5)
    since = presenter.now()
    presenter.shopper.reloads_checkout()

    presenter.waits_for("KCO call", "read", since=since)
    presenter.shopper.waits_until_the_page_is_quiet()
    assert [row["operation"] for row in presenter.kco_calls(since)] == ["read"]
    assert kco_operations(presenter.emulator)[calls_before:] == ["update", "read"]  # no create, no 2nd update
    expect(presenter.shopper.quantity_of("Enamel mug")).to_have_value(wanted)


def changes_the_country_in_the_widget(presenter: Presenter) -> None:
    calls_before = len(presenter.emulator.calls())
    since = presenter.now()
    presenter.picks("Sweden", "Market the shopper picks in the widget")
    presenter.presses("Change country in widget")

    presenter.waits_for("callback", "country_change", since=since)
    presenter.shopper.widget.kco.wait_ready()
    presenter.waits_for("KCO call", "read", since=since)
    presenter.shopper.waits_until_the_page_is_quiet()
    [callback] = [row for row in presenter.timeline(since) if row["source"] == "callback"]
    assert callback["status"] == "200" and "purchase_currency: EUR → SEK" in callback["changes"]
    assert "mug-001: unit_price" in callback["changes"] and "quantity" not in callback["changes"]
    assert [row["operation"] for row in presenter.kco_calls(since)] == ["read"]
    assert kco_operations(presenter.emulator)[calls_before:] == ["read"]
    expect(presenter.shopper.country).to_have_value("SE")


def completes_and_delivers_the_push(presenter: Presenter) -> None:
    order_id = presenter.order_id()
    since = presenter.now()
    presenter.presses("Hold the automatic push")
    presenter.presses("Complete the purchase")
    # Held: the emulator's first push is due two minutes after the purchase, as KCO's, not in seconds.
    now = datetime.fromisoformat(presenter.emulator.status()["now"])
    assert datetime.fromisoformat(presenter.emulator.order_state(order_id)["push_due"][0]) - now > timedelta(
        minutes=1)
    pressed = presenter.now()
    presenter.presses("Deliver push now")

    presenter.waits_for("KCO call", "acknowledge", since=since)
    rows = presenter.timeline(since)
    callbacks = [row["operation"] for row in rows if row["source"] == "callback"]
    assert callbacks == ["address_update", "validation", "push"]
    push = next(row for row in rows if row["operation"] == "push")
    assert push["at"] >= pressed  # the first push is the one the button delivered
    after_push = [(row["operation"], row["status"]) for row in presenter.kco_calls(push["at"])]
    assert after_push == [("om_read", "200"), ("acknowledge", "204")]

    calls_before = len(presenter.emulator.calls())
    again = presenter.now()
    presenter.presses("Deliver push now")
    presenter.waits_for("callback", "push", since=again)
    assert presenter.kco_calls(again) == []
    assert kco_operations(presenter.emulator)[calls_before:] == []
    assert len(presenter.emulator.order_state(order_id)["push_attempts"]) == 2


def changes_a_quantity_after_paying(presenter: Presenter) -> None:
    order_id = presenter.order_id()
    calls_before = len(presenter.emulator.calls())
    presenter.changes_a_quantity()

    presenter.page.wait_for_url(f"**/confirmation?order_id={order_id}")
    thanks = presenter.shopper.says("Thank you for your order")
    expect(presenter.page.get_by_role("heading", name=thanks)).to_be_visible()
    # The change itself reached no KCO; the confirmation page read the order for KCO's confirmation snippet.
    assert kco_operations(presenter.emulator)[calls_before:] == ["read"]


def decides_a_fraud_review(presenter: Presenter) -> None:
    presenter.opens("Products")
    presenter.adds("Enamel mug")
    presenter.opens("Checkout")
    order_id = presenter.order_id()
    since = presenter.now()
    presenter.presses("Complete, pending fraud review")
    presenter.presses("Deliver push now")
    presenter.waits_for("KCO call", "acknowledge", since=since)
    assert presenter.emulator.order_state(order_id)["fraud_status"] == "PENDING"
    decided = presenter.now()
    presenter.picks("Accepted", "Fraud review of the completed order")
    presenter.presses("Decide fraud review")

    presenter.waits_for("callback", "notification", since=decided)
    presenter.waits_for("KCO call", "om_read", since=decided)
    rows = presenter.timeline(decided)
    [notification] = [row for row in rows if row["source"] == "callback"]
    assert notification["status"] == "200"
    assert [row["operation"] for row in presenter.kco_calls(decided)] == ["om_read"]
    assert presenter.emulator.order_state(order_id)["fraud_status"] == "ACCEPTED"


STEPS: dict[str, Step] = {
    "0:00": opens_the_checkout_and_the_inspector,
    "0:45": reloads,
    "1:15": sets_the_mug_to_three,
    "2:00": picks_germany,
    "2:30": expires_the_order,
    "3:00": fails_an_update_with_503,
    "3:30": times_an_update_out,
    "4:00": changes_the_country_in_the_widget,
    "4:15": completes_and_delivers_the_push,
    "4:40": changes_a_quantity_after_paying,
    "5:00": decides_a_fraud_review,
}


def shown_time(row: dict[str, Any]) -> datetime:
    """The stamp a row shows (HH:MM:SS.mmm, the browser's local time), on the day of its `at`."""
    day = datetime.fromtimestamp(row["at"] / 1000)
    return datetime.combine(day.date(), datetime.strptime(row["time"], "%H:%M:%S.%f").time())


@pytest.fixture(scope="module")
def workshop_shop(emulator_server: EmulatorProcess, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[ServerProcess]:
    """The shop as the doc starts it, `KCO_READ_TIMEOUT=... make run`: workshop mode beside the emulator."""
    with shop_process(emulator_server.url, port=0, env={
        "SECRET_KEY": "test-only-secret-key-for-the-workshop-script",
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("workshop-shop")),
        "KCO_USERNAME": "demo",
        "KCO_PASSWORD": "demo",
        "KCO_INSPECTOR": "1",
        "KCO_READ_TIMEOUT": str(READ_TIMEOUT_SECONDS),
    }) as server:
        yield server


def test_every_row_of_the_script_is_a_step_walked_here() -> None:
    assert [time for time, _, _ in script_rows()] == list(STEPS)


# The expired order's widget asks KCO for its state until the page loads the new one (404), and the shop
# answers a change it could not bring to KCO with 503 and one to a paid order with 409.
@pytest.mark.expected_console_errors("/widget/orders/", "status of 503", "status of 409")
def test_each_step_of_the_workshop_script_shows_what_it_promises(page, workshop_shop, emulator) -> None:
    presenter = Presenter(page, workshop_shop.url, emulator)
    for time, do, _ in script_rows():
        presenter.used = []
        STEPS[time](presenter)
        assert presenter.used == BOLD.findall(do), f"step {time} does not do what the script says"
