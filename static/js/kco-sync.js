/*
 * kco-sync.js: keeps the Kustom Checkout (KCO) order in step with the cart on the checkout page. Nothing
 * runs on import: the page calls startKcoSync(root, { editor }) once (see checkout-page.js).
 *
 * Markup: root [data-kco-sync] with data-cart-url, data-market-url, data-kco-cart (the rendered Cart, JSON),
 * data-kco-order-id (the order its widget shows), data-timeout-ms (the shop's worst case for one answer),
 * holding [data-kco-snippet], [data-kco-message], options with data-alpha3 (value: alpha-2);
 * <meta name="csrf-token">. Returns {refresh(), cart()} for other modules (kco-widget-events.js).
 * editor (cart-editor.js in the demo): listen(changed) calls changed("cart" | "country" | "language");
 * wanted() is {items: [{sku, quantity}], country, locale} as the shopper set them; render(cart) draws a
 * Cart.
 * Events on the root (kco-sync-instrumentation.js): kco-sync:change, :debounced, :suspend, :resume,
 * :settled.
 *
 * JSON contract (POSTs send X-CSRFToken; amounts are integer minor units):
 *   GET  data-cart-url                                    -> Answer, no KCO call
 *   POST data-cart-url   {"items": [{"sku", "quantity"}]} -> Answer (the whole cart; quantity 0 drops a
 *                                                            line)
 *   POST data-market-url {"country", "locale"?}           -> Answer (no locale: the country's default)
 *   Answer {"cart": Cart, "order": {"order_id", "status"} | null, "html_snippet"?}: an order_id other than
 *          the page's (a replaced order) reloads the page once the shop has every change
 *          (docs/cart-change.md).
 *   Cart   {"items": [{"sku", "name", "quantity", "unit_price", "total_amount"}], "country", "currency",
 *           "locale", "locales", "order_amount", "order_tax_amount",
 *           "shipping": {"id", "name", "total_amount"} | null}
 *   Error  {"error": {"code", "message" (for the shopper)}}, plus the Answer's keys where the shop holds a
 *          cart: 400 invalid_cart, invalid_quantity, unknown_sku, unsupported_country, unsupported_locale,
 *          malformed_json (nothing changed); 403 csrf_failed; 409 purchase_completed + "redirect" (paid),
 *          session_renewed (sent again once after each accepted request), checkout_busy (another tab's
 *          change came first); 413 body_too_large; 429 too_many_checkouts; 500 internal_error;
 *          502 kco_error, 503 kco_unreachable (cart kept, KCO order behind it: resent), store_unavailable.
 */
import { messagesFor } from "./kco-sync-messages.js";

// A change after a quiet moment goes out at once; one during a request, or this soon after, waits until the
// shopper pauses this long, so a burst of quick clicks becomes one more update carrying the last state.
const DEBOUNCE_MS = 150;
// No data-timeout-ms: the shop's worst case with default KCO timeouts.
const FALLBACK_TIMEOUT_MS = 110_000;

export function startKcoSync(root, { editor }) {
  let serverCart = JSON.parse(root.dataset.kcoCart); // the shop's truth, shown again after a failure
  let unsent = {}; // kinds of change the shop has not seen (cart, market, countryChosen, refresh)
  let debounceTimer = null, requestRunning = false; // the timer runs while the shopper is still busy
  let lastAnswerAt = -Infinity; // a change DEBOUNCE_MS after it, with no request running, is isolated
  let orderBehindCart = false; // the shop could not update KCO: resend even an unchanged cart
  const shownOrderId = root.dataset.kcoOrderId || null;
  let reloadWanted = false; // the shop holds another order than the widget shows
  let renewalResent = false; // a session_renewed answer was sent again; re-armed by an accepted request

  editor.render(serverCart); // browsers restore form values on reload: start from what the shop rendered
  editor.listen(changed);
  listenToWidget();
  // The back button may show a stored copy of this page, e.g. with the widget of an order paid for since.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) window.location.reload();
  });
  const [navigation] = performance.getEntriesByType("navigation");
  if (navigation?.type === "back_forward" && navigation.transferSize === 0) window.location.reload();

  function changed(kind) {
    unsent[kind === "country" || kind === "language" ? "market" : kind] = true;
    if (kind === "country") unsent.countryChosen = true;
    announce("change", { kind });
    if (requestRunning || debounceTimer !== null || performance.now() - lastAnswerAt < DEBOUNCE_MS) {
      // The shopper is busy: the running loop stops, and the latest state goes at the pause.
      clearTimeout(debounceTimer);
      debounceTimer = setTimeout(() => {
        debounceTimer = null;
        announce("debounced");
        sendUnsentChanges();
      }, DEBOUNCE_MS);
    } else {
      // An isolated change: nothing to coalesce with.
      announce("debounced");
      sendUnsentChanges();
    }
  }

  /** KCO's client-side events, again for each new snippet. A country chosen in the widget (lower-case
   * alpha-3, kco-rules: widget-events) or a total of its own already reached the shop (kco-rules:
   * refine-callbacks): the page asks the shop, never asserts the country: KCO keeps typed addresses
   * (kco-rules: typed-address-kept). */
  function listenToWidget() {
    const onAddress = ({ country } = {}) => {
      const option = country && root.querySelector(`[data-alpha3="${CSS.escape(country.toLowerCase())}"]`);
      if (option && option.value !== editor.wanted().country) changed("refresh");
    };
    widget((api) => api.on({
      change: onAddress, billing_address_change: onAddress, shipping_address_change: onAddress,
      order_total_change: ({ order_total: total } = {}) => {
        if (typeof total === "number" && total !== serverCart.order_amount) changed("refresh");
      },
    }));
  }

  async function sendUnsentChanges() {
    if (requestRunning) return; // the running loop sends the latest state as soon as its request is done
    requestRunning = true;
    let succeeded = true;
    try {
      // A pending debounce timer means the shopper is still busy: it calls us again when they pause.
      while (debounceTimer === null) {
        const request = nextRequest();
        if (request === null) break;
        succeeded = await send(request);
      }
    } catch (error) {
      succeeded = false; // a bug on this page, not a failed request: never leave the state pending
      console.error(error);
      showMessage(messagesFor(serverCart.locale).failed);
    } finally {
      requestRunning = false;
      lastAnswerAt = performance.now();
    }
    if (debounceTimer === null && !hasUnsentChanges()) {
      if (reloadWanted) return window.location.reload();
      announce("settled", { ok: succeeded });
    }
  }

  /** The next request with the page's latest state, or null when the shop already has it. */
  function nextRequest() {
    const { refresh } = unsent;
    unsent.refresh = false; // every answer carries the whole cart, so any request refreshes it
    const wanted = editor.wanted();
    if (unsent.market) {
      // A new country starts in its default language; the shown Language options belong to the old one.
      const body = { country: wanted.country, locale: unsent.countryChosen ? undefined : wanted.locale };
      unsent.market = false;
      unsent.countryChosen = false;
      if (body.country !== serverCart.country || (body.locale && body.locale !== serverCart.locale)) {
        return { url: root.dataset.marketUrl, body };
      }
    }
    // Quantity 0 is an absent line, as for the shop.
    const quantities = (items) => JSON.stringify(items
      .filter((item) => item.quantity > 0)
      .map(({ sku, quantity }) => [sku, quantity])
      .sort());
    if (unsent.cart) {
      unsent.cart = false;
      if (orderBehindCart || quantities(wanted.items) !== quantities(serverCart.items)) {
        return { url: root.dataset.cartUrl, body: { items: wanted.items } };
      }
    }
    return refresh ? { url: root.dataset.cartUrl } : null;
  }

  /** One request, its outcome shown; true when accepted. A POST changes the KCO order: the widget is
   * suspended (auto-resume off) and resumed whatever happens (kco-rules: suspend-resume); a GET leaves the
   * widget alone. */
  async function send({ url, body }) {
    if (body) {
      widget((api) => api.suspend({ autoResume: { enabled: false } }));
      announce("suspend", { url });
    }
    let accepted = false;
    try {
      const answer = await requestJson(url, body);
      if (body) orderBehindCart = false;
      renewalResent = false; // the next renewed session (another tab, a new order) is sent again too
      serverCart = answer.cart;
      learnOrder(answer);
      // Not while a newer change is on its way (it would undo it); a refresh keeps the message shown.
      if (!hasUnsentChanges()) showCart(answer.cart, body ? "" : null);
      accepted = true;
    } catch (failure) {
      await recoverFrom(failure);
    } finally {
      if (body && !reloadWanted) widget((api) => api.resume()); // a given-up order awaits the reload
      if (body) announce("resume", { url, ok: accepted });
    }
    return accepted;
  }

  /** An Answer, or it throws: the shop's error (carrying .answer), a TimeoutError, or a TypeError
   * (offline). */
  async function requestJson(url, body) {
    const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? ""; // checked on every POST
    const headers = { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf };
    const signal = AbortSignal.timeout(Number(root.dataset.timeoutMs) || FALLBACK_TIMEOUT_MS);
    const method = body ? "POST" : "GET";
    const response = await fetch(url, { method, headers, body: JSON.stringify(body), signal });
    const answer = await response.json().catch(() => null);
    if (response.ok && answer?.cart) return answer;
    throw Object.assign(new Error(`${url} answered ${response.status}`), { answer });
  }

  async function recoverFrom({ name, answer }) {
    // The editor goes back to the shop's truth, so edits queued behind the failed one go too.
    clearTimeout(debounceTimer);
    debounceTimer = null;
    unsent = {};
    const code = answer?.error?.code;
    if (code === "session_renewed" && !renewalResent) {
      // A new session id (docs/security.md): send the page's state again, with the browser's new cookie.
      renewalResent = true;
      unsent = { cart: true, market: true };
      return;
    }
    if (code === "purchase_completed" && answer.redirect) return window.location.assign(answer.redirect);
    if (code === "kco_unreachable" || code === "kco_error") orderBehindCart = true;
    // Without an answer from the shop, the page's own words in the cart's language.
    const ownMessage = { TimeoutError: "timeout", TypeError: "offline" }[name] ?? "failed";
    const message = answer?.error?.message ?? messagesFor(serverCart.locale)[ownMessage];
    showMessage(message);
    const truth = answer?.cart ? answer : await requestJson(root.dataset.cartUrl).catch(() => null);
    if (truth) learnOrder(truth);
    serverCart = truth?.cart ?? serverCart;
    // Edits the shopper made while the cart was fetched are sent next; showing the old cart would undo them.
    if (!hasUnsentChanges()) showCart(serverCart, message);
  }

  function showCart(cart, message) {
    editor.render(cart);
    // No cart, no order: the shop makes no KCO call for an empty cart, so there is no widget to show.
    if (cart.items.length === 0) root.querySelector("[data-kco-snippet]").replaceChildren();
    if (message !== null) showMessage(message);
  }

  /** A new order from the shop (kco-rules: new-order-on-error) is shown by a page load
   * (docs/cart-change.md). */
  function learnOrder(answer) {
    const orderId = answer.cart.items.length > 0 ? answer.order?.order_id ?? null : shownOrderId;
    if (orderId !== shownOrderId) reloadWanted = true;
  }

  function showMessage(message) { root.querySelector("[data-kco-message]").textContent = message; }
  function hasUnsentChanges() { return unsent.cart || unsent.market || unsent.refresh; }
  function announce(name, detail) { root.dispatchEvent(new CustomEvent(`kco-sync:${name}`, { detail })); }
  return { refresh: () => changed("refresh"), cart: () => serverCart };
}

/** KCO's JS API, absent without a snippet (empty cart); calls made before the widget loaded wait in its
 * queue. A broken widget must not stop the cart from updating: the validation callback still guards the
 * sale. */
function widget(action) {
  try {
    window._klarnaCheckout?.(action);
  } catch (error) {
    console.error("kco-sync: KCO widget call failed", error);
  }
}
