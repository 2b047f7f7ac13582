/*
 * kco-sync.js: keeps the Kustom Checkout (KCO) order in step with the cart on the checkout page.
 *
 * Drop it into any page that follows the markup contract (everything is found by data attributes):
 *   [data-kco-sync]          root, with data-cart-url, data-market-url, data-currency, data-locale
 *   [data-kco-line]          one per cart line (data-sku), holding [data-kco-quantity], [data-kco-remove],
 *                            [data-kco-unit-price] and [data-kco-line-total]
 *   [data-kco-country]       the Country select (option value = alpha-2, data-alpha3 = lower-case alpha-3)
 *   [data-kco-language]      the Language select
 *   [data-kco-order-amount], [data-kco-order-tax-amount]; optional [data-kco-shipping-name], -amount
 *   [data-kco-snippet], [data-kco-message] (aria-live), [data-kco-empty]
 *   <meta name="csrf-token"> sent back as the X-CSRFToken header; optional <meta name="csp-nonce">.
 *
 * What happens when the shopper changes a quantity, removes a line, or picks another country or language:
 *   1. Wait until the shopper pauses (DEBOUNCE_MS), so ten quick clicks become one update.
 *   2. Suspend the KCO widget, with auto-resume off, so nobody can buy while the order changes and the
 *      widget does not wake up on its own after 10 s (notes §9.1, KU-CSE).
 *   3. Send the whole new state to the shop: POST /api/cart (every line with its quantity) or
 *      POST /api/market (country and language). The shop updates the KCO order (notes §12.3, K-UPD).
 *   4. Show the shop's answer: quantities, line totals, totals, currency, language. When the shop had to
 *      start a new KCO order (the old one expired or failed), the answer has its html_snippet: swap it in.
 *   5. Resume the widget, always, also after a failure: resuming is what makes it show the updated order,
 *      and a widget left suspended is a checkout nobody can finish.
 * At most one request is in flight. Changes made meanwhile are sent once it is done, with the latest state:
 * the last thing the shopper did always wins. A failure (timeout, error answer, offline) shows a short
 * message and puts the editor back to what the shop holds.
 *
 * When the shopper changes country inside the widget, KCO has already told the shop through its
 * country_change callback (notes §7.1), and the shop moved the order and its cart to the new market. The
 * widget's events only tell the page, which then asks the shop for its cart (GET /api/cart: no KCO call, so
 * no loop) and shows it. Likewise when the widget's total changes for reasons of its own (a shipping option,
 * an address that changes US sales tax). Those requests do not suspend the widget: the shopper is typing in
 * it, and a resume would only re-read what it already shows.
 *
 * For tests and demos the root carries data-kco-sync-state="idle|pending|error" and receives the DOM events
 * kco-sync:suspend and kco-sync:resume (detail: url, ok); performance marks and measures named kco-sync:*
 * time each change until the widget is resumed.
 */

// Long enough to merge a burst of clicks on a quantity, short enough that the widget follows at once.
const DEBOUNCE_MS = 150;
const REQUEST_TIMEOUT_MS = 8000;

const root = document.querySelector("[data-kco-sync]");

/** Kinds of change the shop has not seen yet; the values themselves are read from the page when sending. */
const NOTHING_UNSENT = {
  cart: false, market: false, countryChosen: false, refresh: false,
};
const unsent = { ...NOTHING_UNSENT };
let burstStartedAt = null;
let debounceTimer = null;
let requestRunning = false;
/** The last cart the shop confirmed: the truth the editor returns to after a failure. */
let serverCart = null;
/** The KCO order lags behind the cart after the shop could not update it: resend even an unchanged cart. */
let orderBehindCart = false;

if (root) {
  showFormAsRendered();
  serverCart = cartOnPage();
  listenToCartEditor();
  listenToMarketSelects();
  listenToWidget();
  reloadWhenRestoredFromHistory();
  setSyncState("idle");
}

// ---- Listening to the shopper ----------------------------------------------------------------------------

function listenToCartEditor() {
  root.addEventListener("input", (event) => {
    const input = event.target.closest("[data-kco-quantity]");
    // An empty field is the shopper mid-typing: wait for a number.
    if (input && input.value !== "") changed("cart");
  });
  root.addEventListener("change", (event) => {
    const input = event.target.closest("[data-kco-quantity]");
    if (input && input.value === "") input.value = String(serverQuantity(lineOf(input).dataset.sku));
  });
  root.addEventListener("click", (event) => {
    const button = event.target.closest("[data-kco-remove]");
    if (!button) return;
    event.preventDefault();
    // Hidden, not deleted: if the shop refuses the change, the line comes back as it was.
    const line = lineOf(button);
    line.querySelector("[data-kco-quantity]").value = "0";
    line.hidden = true;
    changed("cart");
  });
  // Enter in a quantity field would submit a surrounding form and reload the page; the change is queued.
  root.addEventListener("submit", (event) => {
    if (event.target.querySelector("[data-kco-quantity]")) event.preventDefault();
  });
}

function listenToMarketSelects() {
  countrySelect()?.addEventListener("change", () => changed("country"));
  languageSelect()?.addEventListener("change", () => changed("language"));
}

/** Registers for KCO's client-side events; again for each new snippet, whose widget starts without any. */
function listenToWidget() {
  const onAddress = (address) => widgetCountryChanged(address?.country);
  widget((api) => api.on({
    change: onAddress,
    billing_address_change: onAddress,
    shipping_address_change: onAddress,
    order_total_change: (event) => widgetTotalChanged(event?.order_total),
  }));
}

/**
 * The back button may show a stored copy of this page, e.g. with the widget of an order the shopper has
 * paid for since. Only the shop knows the current cart and order: ask it again. (The shop should also send
 * the page with Cache-Control: no-store; this covers pages that don't.)
 */
function reloadWhenRestoredFromHistory() {
  // Restored from the back-forward cache: the page was frozen, not loaded.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) window.location.reload();
  });
  // Loaded from the HTTP cache on back/forward: nothing was transferred, so the shop was never asked.
  const [navigation] = performance.getEntriesByType("navigation");
  if (navigation?.type === "back_forward" && navigation.transferSize === 0) window.location.reload();
}

function changed(kind) {
  startBurst();
  if (kind === "cart") unsent.cart = true;
  if (kind === "country") unsent.countryChosen = true;
  if (kind === "country" || kind === "language") unsent.market = true;
  setSyncState("pending");
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(whenShopperPauses, DEBOUNCE_MS);
}

function whenShopperPauses() {
  debounceTimer = null;
  const debounced = performance.mark("kco-sync:debounced");
  const start = burstStartedAt ?? debounced.startTime;
  performance.measure("kco-sync:debounce", { start, end: debounced.startTime });
  sendUnsentChanges();
}

/**
 * KCO reports countries as lower-case alpha-3 (notes §9.2); the Country select knows each one's alpha-2.
 * A country other than the page's is a reason to ask the shop, never an answer in itself: when the shopper
 * chose it inside the widget, the shop has already moved the cart with KCO's country_change callback; when the
 * widget merely repeats an address typed before the page moved the order (KCO keeps typed addresses, notes
 * §3.4), the shop's cart stays where the page put it.
 */
function widgetCountryChanged(alpha3) {
  const select = countrySelect();
  const option = alpha3 && select?.querySelector(`option[data-alpha3="${CSS.escape(alpha3.toLowerCase())}"]`);
  // One the shop does not sell to, or the one already shown (this also ends echoes of our own updates).
  if (!option || option.value === select.value) return;
  refreshFromShop();
}

/** The widget's total moved. After our own updates it equals the shop's answer, already shown. */
function widgetTotalChanged(total) {
  if (typeof total !== "number" || total === serverCart.order_amount) return;
  refreshFromShop();
}

/**
 * Fetches the shop's cart once the widget has settled: a country change inside it reports its new total and
 * its country one after the other, and one request answers both.
 */
function refreshFromShop() {
  startBurst();
  unsent.refresh = true;
  setSyncState("pending");
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(whenShopperPauses, DEBOUNCE_MS);
}

function startBurst() {
  if (burstStartedAt === null) burstStartedAt = performance.mark("kco-sync:change").startTime;
}

// ---- Sending, one request at a time ----------------------------------------------------------------------

async function sendUnsentChanges() {
  if (requestRunning) return; // the running loop sends the latest state as soon as its request is done
  requestRunning = true;
  let succeeded = true;
  try {
    let request;
    // A pending debounce timer means the shopper is still busy: it calls us again when they pause.
    while (debounceTimer === null && (request = nextRequest())) {
      succeeded = request.suspendWidget ? await sendWithWidgetSuspended(request) : await send(request);
    }
  } catch (error) {
    // A bug on this page, not a failed request (send() handles those): never leave the state pending.
    succeeded = false;
    console.error(error);
    showMessage("Something went wrong on this page. Please reload it.");
  } finally {
    requestRunning = false;
  }
  if (debounceTimer === null && !hasUnsentChanges()) setSyncState(succeeded ? "idle" : "error");
}

/** The next request with the page's latest state, or null when the shop already has it. */
function nextRequest() {
  const changedAt = burstStartedAt;
  burstStartedAt = null;
  const refreshWanted = unsent.refresh;
  unsent.refresh = false; // every answer carries the whole cart, so any request refreshes it
  const request = changeToSend(changedAt);
  if (request || !refreshWanted) return request;
  return { url: root.dataset.cartUrl, suspendWidget: false, changedAt }; // no body: a GET
}

function changeToSend(changedAt) {
  if (unsent.market) {
    const body = { country: countrySelect().value };
    // A new country starts in its default language; the shown Language options belong to the old country.
    if (!unsent.countryChosen) body.locale = languageSelect().value;
    unsent.market = unsent.countryChosen = false;
    if (body.country !== serverCart.country || (body.locale && body.locale !== serverCart.locale)) {
      return { url: root.dataset.marketUrl, body, suspendWidget: true, changedAt };
    }
  }
  if (unsent.cart) {
    unsent.cart = false;
    const items = cartOnPage().items;
    if (orderBehindCart || !sameItems(items, serverCart.items)) {
      return { url: root.dataset.cartUrl, body: { items }, suspendWidget: true, changedAt };
    }
  }
  return null;
}

async function sendWithWidgetSuspended(request) {
  widget((api) => api.suspend({ autoResume: { enabled: false } }));
  announce("kco-sync:suspend", { url: request.url });
  let accepted = false;
  try {
    accepted = await send(request);
    return accepted;
  } finally {
    widget((api) => api.resume());
    announce("kco-sync:resume", { url: request.url, ok: accepted });
    const resumed = performance.mark("kco-sync:resumed");
    const start = request.changedAt ?? resumed.startTime;
    performance.measure("kco-sync:change-to-resumed", { start, end: resumed.startTime });
  }
}

/** Sends one request (POST with a body, else GET) and shows its outcome; true when the shop accepted it. */
async function send({ url, body }) {
  try {
    showAnswer(await (body ? postJson(url, body) : requestJson(url, { method: "GET" })));
    if (body) orderBehindCart = false; // an accepted POST brought the KCO order in step
    return true;
  } catch (failure) {
    await recoverFrom(failure);
    return false;
  }
}

class ShopRefused extends Error {
  constructor(status, answer) {
    super(answer?.error?.message ?? `The shop answered ${status}`);
    this.status = status;
    this.answer = answer;
  }
}

async function postJson(url, body) {
  return requestJson(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
}

/** fetch with a timeout: an answer carrying a cart, or it throws (ShopRefused, AbortError, TypeError). */
async function requestJson(url, options) {
  const controller = new AbortController();
  const timeout = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(url, {
      ...options,
      headers: { Accept: "application/json", ...options.headers },
      signal: controller.signal,
    });
    const answer = await response.json().catch(() => null);
    if (!response.ok || !answer?.cart) throw new ShopRefused(response.status, answer);
    return answer;
  } finally {
    clearTimeout(timeout);
  }
}

// ---- Failures --------------------------------------------------------------------------------------------

async function recoverFrom(failure) {
  // The editor goes back to the shop's truth, so changes queued behind the failed one go too.
  clearTimeout(debounceTimer);
  debounceTimer = null;
  Object.assign(unsent, NOTHING_UNSENT);
  burstStartedAt = null;

  const answer = failure.answer;
  if (answer?.error?.code === "purchase_completed" && answer.redirect) {
    // The shopper already paid (in this or another tab): the order is read-only, so show the confirmation.
    window.location.assign(answer.redirect);
    return;
  }
  showMessage(messageFor(failure));
  // The shop kept the change but KCO did not get it (notes §5: KCO unreachable or failing).
  if (["kco_unreachable", "kco_error"].includes(answer?.error?.code)) orderBehindCart = true;
  const truth = answer?.cart ?? (await cartFromShop());
  if (truth) serverCart = truth;
  // Changes the shopper made while the cart was fetched are sent next; showing the old cart would undo them.
  if (hasUnsentChanges()) return;
  if (truth) showCart(truth);
  else showLastConfirmedCart();
}

function messageFor(failure) {
  if (failure.name === "AbortError") return "The shop took too long to answer. Please try again.";
  if (failure instanceof ShopRefused) return failure.message;
  return "You seem to be offline. Your cart is as shown; please try again.";
}

/** GET the cart when an error answer carried none; null when even that fails. */
async function cartFromShop() {
  try {
    return (await requestJson(root.dataset.cartUrl, { method: "GET" })).cart;
  } catch {
    return null;
  }
}

// ---- Showing the shop's answer ---------------------------------------------------------------------------

function showAnswer(answer) {
  serverCart = answer.cart;
  // Always swap a new snippet: the next update goes to the new order, and only this answer says so.
  if (answer.html_snippet && answer.cart.items.length > 0) showSnippet(answer.html_snippet);
  // A newer change is on its way; showing this answer would undo what the shopper just typed.
  if (hasUnsentChanges()) return;
  showCart(answer.cart);
  showMessage("");
}

function showCart(cart) {
  serverCart = cart;
  root.dataset.currency = cart.currency;
  root.dataset.locale = cart.locale;
  for (const line of root.querySelectorAll("[data-kco-line]")) {
    const item = cart.items.find((candidate) => candidate.sku === line.dataset.sku);
    if (!item) {
      line.remove();
      continue;
    }
    line.hidden = false;
    line.querySelector("[data-kco-quantity]").value = String(item.quantity);
    showText(line, "[data-kco-unit-price]", money(item.unit_price));
    showText(line, "[data-kco-line-total]", money(item.total_amount));
  }
  if (cart.shipping) {
    showText(root, "[data-kco-shipping-name]", cart.shipping.name);
    showText(root, "[data-kco-shipping-amount]", money(cart.shipping.total_amount));
  }
  showText(root, "[data-kco-order-amount]", money(cart.order_amount));
  showText(root, "[data-kco-order-tax-amount]", money(cart.order_tax_amount));
  showMarket(cart);
  showEmptyState(cart.items.length === 0);
  // A line this page never drew (added in another tab): only the server can render it.
  if (cart.items.some((item) => !root.querySelector(`[data-kco-line][data-sku="${CSS.escape(item.sku)}"]`))) {
    window.location.reload();
  }
}

/** Unreachable shop: put back the last cart it confirmed. */
function showLastConfirmedCart() {
  // Once the shop has answered, its whole cart is known; before that, the page shows the one it rendered.
  if (serverCart.order_amount !== undefined) {
    showCart(serverCart);
    return;
  }
  for (const line of root.querySelectorAll("[data-kco-line]")) {
    const quantity = serverQuantity(line.dataset.sku);
    line.querySelector("[data-kco-quantity]").value = String(quantity);
    line.hidden = quantity === 0;
  }
  if (countrySelect()) countrySelect().value = serverCart.country;
  if (languageSelect()) languageSelect().value = serverCart.locale;
}

function showMarket(cart) {
  const country = countrySelect();
  if (country) country.value = cart.country; // setting .value fires no change event, so no request follows
  const language = languageSelect();
  if (!language) return;
  const labels = new Map([...language.options].map((option) => [option.value, option.textContent]));
  language.replaceChildren(...cart.locales.map((locale) => new Option(labels.get(locale) ?? locale, locale)));
  language.value = cart.locale;
}

function showEmptyState(empty) {
  const note = root.querySelector("[data-kco-empty]");
  if (note) note.hidden = !empty;
  // No cart, no order: the shop makes no KCO call for an empty cart, so there is no widget to show.
  if (empty) root.querySelector("[data-kco-snippet]")?.replaceChildren();
}

/**
 * Puts a new KCO snippet on the page. Scripts inserted through innerHTML never run, so each one is re-created
 * (notes §8); the snippet's inline script then loads KCO's bootstrap, which renders the new widget. A page
 * with a Content-Security-Policy nonce publishes it in <meta name="csp-nonce">; the new scripts carry it.
 */
function showSnippet(html) {
  const container = root.querySelector("[data-kco-snippet]");
  if (!container) return;
  container.innerHTML = html;
  const nonce = document.querySelector('meta[name="csp-nonce"]')?.content;
  for (const inert of container.querySelectorAll("script")) {
    const runnable = document.createElement("script");
    for (const { name, value } of inert.attributes) runnable.setAttribute(name, value);
    if (nonce) runnable.nonce = nonce;
    runnable.text = inert.text;
    inert.replaceWith(runnable);
  }
  listenToWidget();
}

function showMessage(text) {
  const region = root.querySelector("[data-kco-message]");
  if (region) region.textContent = text;
}

// ---- Reading the page ------------------------------------------------------------------------------------

/**
 * Browsers restore form values on reload and back/forward; the shop rendered the truth as the fields'
 * defaults, so start from those.
 */
function showFormAsRendered() {
  for (const input of root.querySelectorAll("[data-kco-quantity]")) input.value = input.defaultValue;
  for (const select of [countrySelect(), languageSelect()]) {
    const rendered = select && [...select.options].find((option) => option.defaultSelected);
    if (rendered) select.value = rendered.value;
  }
}

function cartOnPage() {
  const items = [...root.querySelectorAll("[data-kco-line]")].map((line) => {
    const value = line.querySelector("[data-kco-quantity]").value;
    const quantity = value === "" ? serverQuantity(line.dataset.sku) : Number(value);
    return { sku: line.dataset.sku, quantity };
  });
  return {
    items,
    country: countrySelect()?.value ?? serverCart?.country,
    locale: languageSelect()?.value ?? serverCart?.locale,
  };
}

function serverQuantity(sku) {
  return serverCart?.items.find((item) => item.sku === sku)?.quantity ?? 0;
}

/** Same lines and quantities; a line with quantity 0 counts as absent, as it does for the shop. */
function sameItems(items, otherItems) {
  const quantities = (list) => JSON.stringify(
    list.filter((item) => item.quantity !== 0).map((item) => [item.sku, item.quantity]).sort(),
  );
  return quantities(items) === quantities(otherItems);
}

function hasUnsentChanges() {
  return unsent.cart || unsent.market || unsent.refresh;
}

function lineOf(element) {
  return element.closest("[data-kco-line]");
}

function countrySelect() {
  return root.querySelector("select[data-kco-country]");
}

function languageSelect() {
  return root.querySelector("select[data-kco-language]");
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

// ---- Small pieces ----------------------------------------------------------------------------------------

/** Calls KCO's JS API; calls made before the widget loaded wait in the snippet's queue (notes §8, §9). */
function widget(action) {
  if (typeof window._klarnaCheckout !== "function") return; // no snippet on the page (empty cart)
  try {
    window._klarnaCheckout(action);
  } catch (error) {
    // A broken widget must not stop the cart from updating; the validation callback still guards the sale.
    console.error("kco-sync: KCO widget call failed", error);
  }
}

function setSyncState(state) {
  root.dataset.kcoSyncState = state;
}

/** DOM events on the root for whoever wants to watch (analytics, the workshop inspector). */
function announce(name, detail) {
  root.dispatchEvent(new CustomEvent(name, { detail }));
}

/** Money arrives in minor units; all currencies of the shop's markets have two decimals. */
function money(minorUnits) {
  const { locale, currency } = root.dataset;
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(minorUnits / 100);
}

function showText(scope, selector, text) {
  const element = scope.querySelector(selector);
  if (element) element.textContent = text;
}
