/*
 * checkout-page.js: starts the demo shop's checkout page: its cart editor kept in step with KCO by kco-sync.js,
 * the widget's other events (kco-widget-events.js), plus the instrumentation the tests, benchmarks and
 * workshop inspector read.
 */
import { cartEditor } from "./cart-editor.js";
import { startKcoSync } from "./kco-sync.js";
import { instrumentKcoSync } from "./kco-sync-instrumentation.js";
import { startWidgetEvents } from "./kco-widget-events.js";

const root = document.querySelector("[data-kco-sync]");
if (root) {
  instrumentKcoSync(root);
  startWidgetEvents(root, startKcoSync(root, { editor: cartEditor(root) }));
}
