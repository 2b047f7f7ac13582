/*
 * kco-sync-instrumentation.js: turns kco-sync.js's events into what tests, benchmarks and the workshop inspector
 * read. Optional: kco-sync.js works the same without it. Call instrumentKcoSync(root) before startKcoSync.
 *
 * - data-kco-sync-state on the root: "pending" from a change until every change is answered, then "idle", or
 *   "error" when the last request failed.
 * - Performance marks and measures, for bench/bench_browser_resume.py: kco-sync:change when a burst of edits
 *   starts, kco-sync:debounced when the shopper paused (measure kco-sync:debounce from the change), and
 *   kco-sync:resumed once the widget was told to resume (measure kco-sync:change-to-resumed over the whole).
 */
export function instrumentKcoSync(root) {
  let burstStart = null; // when the edits not yet sent began
  let requestStart = null; // when the edits the running request carries began
  const on = (name, handler) => root.addEventListener(`kco-sync:${name}`, handler);

  on("change", () => {
    root.dataset.kcoSyncState = "pending";
    burstStart ??= performance.mark("kco-sync:change").startTime;
  });
  on("debounced", () => {
    const end = performance.mark("kco-sync:debounced").startTime;
    performance.measure("kco-sync:debounce", { start: burstStart ?? end, end });
  });
  on("suspend", () => {
    requestStart = burstStart;
    burstStart = null;
  });
  on("resume", () => {
    const end = performance.mark("kco-sync:resumed").startTime;
    performance.measure("kco-sync:change-to-resumed", { start: requestStart ?? end, end });
    requestStart = null;
  });
  on("settled", (event) => {
    root.dataset.kcoSyncState = event.detail.ok ? "idle" : "error";
    burstStart = null;
  });
}
