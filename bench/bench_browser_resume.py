"""In Chromium: how long from the shopper's change until kco-sync.js resumes the KCO widget.

kco-sync.js marks each change with performance.mark/measure (static/js/kco-sync.js):
`kco-sync:change` when the shopper starts changing, `kco-sync:debounce` (measure) while it waits for the
shopper to pause (none for an isolated change), `kco-sync:debounced`, then `kco-sync:resumed` once the shop
answered and the widget was
told to resume, and the measure `kco-sync:change-to-resumed` over the whole. The debounce is a fixed wait by
design, so it is shown apart from the work that follows it (the shop's request, its KCO update, the resume).

    .venv/bin/python -m bench.bench_browser_resume
"""

from __future__ import annotations

import sys

from bench.stand import (
    checkout_in_chromium,
    chromium_executable,
    markdown_table,
    percentile,
    print_report,
    running_stand,
)
from harness.shop_client import shop_text

CHANGES = 30
QUIET_MS = 300
MEASURES = """() => ({
  changeToResumed: performance.getEntriesByName("kco-sync:change-to-resumed").map((entry) => entry.duration),
  debounce: performance.getEntriesByName("kco-sync:debounce").map((entry) => entry.duration),
})"""


def main() -> int:
    executable = chromium_executable()
    if executable is None:
        print("bench_browser_resume: not run, no Chromium (apt-get install chromium)")
        return 0
    from playwright.sync_api import expect

    with running_stand() as stand:
        with checkout_in_chromium(executable, stand.shop_url, "Enamel mug") as page:
            widget = page.locator("#klarna-checkout-container")
            sync_root = page.locator("[data-kco-sync]")
            quantity = page.get_by_label(shop_text("Quantity of %(product)s", product="Enamel mug"))
            for number in range(CHANGES):
                page.wait_for_timeout(QUIET_MS)  # isolated: no request for longer than kco-sync's DEBOUNCE_MS
                quantity.fill(str(2 + number % 2))  # 2, 3, 2, ...: every change is a new cart
                expect(sync_root).to_have_attribute("data-kco-sync-state", "idle")
                expect(widget).to_have_attribute("data-kco-widget-state", "ready")
            measures = page.evaluate(MEASURES)
            updates = len(stand.emulator.calls("update"))
            bursts = []
            for name, pause_ms in (("Ten quick clicks", 0), ("Ten clicks 200 ms apart", 200)):
                page.wait_for_timeout(QUIET_MS)  # a quiet moment before the burst
                before = len(stand.emulator.calls("update"))
                for _ in range(10):
                    quantity.press("ArrowUp")
                    if pause_ms:
                        page.wait_for_timeout(pause_ms)
                expect(sync_root).to_have_attribute("data-kco-sync-state", "idle")
                expect(widget).to_have_attribute("data-kco-widget-state", "ready")
                bursts.append([name, str(len(stand.emulator.calls("update")) - before)])

    change_to_resumed, debounce = measures["changeToResumed"], measures["debounce"]
    if len(change_to_resumed) != CHANGES or not debounce:
        print(f"bench_browser_resume: expected {CHANGES} kco-sync:change-to-resumed measures and some "
              f"kco-sync:debounce, found {len(change_to_resumed)} and {len(debounce)}: does kco-sync.js emit "
              "them?")
        return 1

    def row(name: str, values: list[float]) -> list[str]:
        return [name, f"{percentile(values, 50):.0f}", f"{percentile(values, 95):.0f}", f"{max(values):.0f}"]

    print_report(f"Change to resumed widget in Chromium ({CHANGES} quantity changes, {updates} KCO updates)",
                 markdown_table(["Measure (ms)", "p50", "p95", "max"], [
                     row("Change to resumed (kco-sync:change-to-resumed)", change_to_resumed),
                     row("Debounce, waiting for the shopper to pause (kco-sync:debounce; also a repeat "
                         "event that needed no request)", debounce),
                 ]), [
                     "Headless Chromium, development-server shop on loopback, the local emulator as KCO.",
                     "Debounce: an isolated change goes at once; only changes during or just after a request "
                     "wait for the shopper's pause (DEBOUNCE_MS).",
                 ])
    print_report("Bursts of clicks in Chromium: KCO updates made",
                 markdown_table(["Clicks on the quantity's up arrow", "KCO updates"], bursts), [
                     "The last state wins: kco-sync.js sends the page's latest cart after the pause.",
                 ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
