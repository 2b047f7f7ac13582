/*
 * checkout-page.js: starts the demo shop's checkout page: its cart editor kept in step with KCO by kco-sync.js,
 * plus the instrumentation the tests, benchmarks and workshop inspector read.
 */
import { cartEditor } from "./cart-editor.js";
import { startKcoSync } from "./kco-sync.js";
import { instrumentKcoSync } from "./kco-sync-instrumentation.js";

const root = document.querySelector("[data-kco-sync]");
if (root) {
  instrumentKcoSync(root);
  startKcoSync(root, { editor: cartEditor(root) });
}
