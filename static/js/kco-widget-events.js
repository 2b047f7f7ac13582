/*
 * kco-widget-events.js: what the checkout page does with KCO's client-side events besides keeping the cart in
 * step, which is kco-sync.js's job (kco-rules: widget-events). Event data is for display only: amounts always
 * come from the shop.
 *   shipping_option_change         the shipping line follows the option picked in the widget at once, also when
 *                                  the total stays the same (then no order_total_change fires), and the page asks
 *                                  the shop for the cart, whose amounts the shop's shipping_option_update set;
 *   shipping_address_update_error  updating the order for the shopper's address failed: say so;
 *   can_not_complete_order         the shopper cannot pay with what KCO offers: say so;
 *   redirect_initiated             KCO is completing the purchase: the cart is locked, since a change now would
 *                                  only be refused by the validation callback.
 * Texts in the cart's language: kco-sync-messages.js. Markup: [data-kco-message], [data-kco-shipping-name];
 * the root gets data-kco-locked and its controls are disabled once locked.
 * Call startWidgetEvents(root, sync) with the {refresh, cart} handle startKcoSync returned.
 */
import { messagesFor } from "./kco-sync-messages.js";

export function startWidgetEvents(root, sync) {
  const say = (key) => {
    root.querySelector("[data-kco-message]").textContent = messagesFor(sync.cart().locale)[key];
  };
  widget((api) => api.on({
    shipping_option_change: ({ name } = {}) => {
      const label = root.querySelector("[data-kco-shipping-name]");
      if (label && typeof name === "string" && name) label.textContent = name;
      sync.refresh();
    },
    shipping_address_update_error: () => say("shippingFailed"),
    can_not_complete_order: () => say("cannotComplete"),
    redirect_initiated: () => lockCart(root),
  }));
}

function lockCart(root) {
  root.dataset.kcoLocked = "";
  for (const control of root.querySelectorAll("input, select, button")) control.disabled = true;
}

/** KCO's JS API, absent without a snippet; calls made before the widget loaded wait in its queue. */
function widget(action) {
  try { window._klarnaCheckout?.(action); } catch (error) { console.error("KCO widget call failed", error); }
}
