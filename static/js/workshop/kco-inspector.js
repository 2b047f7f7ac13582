/*
 * kco-inspector.js: the workshop panel on the checkout page (workshop mode, docs/workshop.md).
 *
 * Not part of the integration: kco-sync.js never needs it, and a shop copies kco-sync.js without it.
 * It shows one timeline, oldest first, of:
 *   - the KCO calls the shop made for this session and the callbacks KCO made (GET /api/inspector,
 *     recorded server-side by workshop/inspector.py), with status, duration, correlation id and changed fields;
 *   - the widget's client-side events (registered through window._klarnaCheckout(api => api.on(...)),
 *     again for every new snippet, whose widget starts without listeners);
 *   - kco-sync's suspend/resume (the DOM events kco-sync:suspend and kco-sync:resume on [data-kco-sync]) and,
 *     with the emulator, the widget's own state (its data-kco-widget-state test hook);
 *   - what the emulator buttons did.
 * Page events are kept in sessionStorage, so a reload keeps the story; so are the panel's state (open or
 * closed) and the presenter text size (its button, or ?presenter=1 and ?presenter=0 in the page's address).
 * Times come from the browser and the shop's clocks: on one machine (the emulator) they agree; against a remote
 * shop they may be a little off. Each KCO call shows its own start, so a wait between two calls shows too.
 *
 * Polling: once a second while the panel is open, and right after each kco-sync request, but never while
 * kco-sync has a change pending, so a poll never runs beside a cart update.
 */

const POLL_MS = 1000;
const MAX_PAGE_EVENTS = 100;
const STORAGE_KEY = "kco-inspector:page-events";
const OPEN_KEY = "kco-inspector:open";
const PRESENTER_KEY = "kco-inspector:presenter";
const WIDGET_EVENTS = [
  "load", "customer", "change", "billing_address_change", "shipping_address_change", "shipping_option_change",
  "order_total_change", "can_not_complete_order", "network_error", "redirect_initiated", "user_interacted",
];

const panel = document.querySelector("[data-kco-inspector]");
const syncRoot = document.querySelector("[data-kco-sync]");
const timeline = panel?.querySelector("[data-inspector-timeline]");
let serverEntries = [];
let shownLog = "[]";
let pageEvents = loadPageEvents();
let pollRunning = false;

if (panel) {
  panel.open = sessionStorage.getItem(OPEN_KEY) === "1";
  panel.addEventListener("toggle", () => {
    sessionStorage.setItem(OPEN_KEY, panel.open ? "1" : "0");
    if (panel.open) poll();
  });
  listenToKcoSync();
  listenToWidget();
  watchSnippetSwaps();
  watchEmulatorWidgetState();
  listenToButtons();
  setUpPresenterSize();
  setInterval(() => { if (panel.open) poll(); }, POLL_MS);
  render();
  if (panel.open) poll();
}

// ---- The presenter text size -----------------------------------------------------------------------------

/** Text a room can read from the back (18 px, static/css/workshop/inspector.css): the URL flag wins, then
 * what this tab chose before. */
function setUpPresenterSize() {
  const address = new URL(window.location.href);
  const flag = address.searchParams.get("presenter");
  if (flag === "1" || flag === "0") {
    sessionStorage.setItem(PRESENTER_KEY, flag);
    // From now on the tab remembers it: a reload must not undo a later press of the button.
    address.searchParams.delete("presenter");
    history.replaceState(history.state, "", address);
  }
  const button = panel.querySelector("[data-inspector-presenter]");
  showPresenterSize(button, sessionStorage.getItem(PRESENTER_KEY) === "1");
  button.addEventListener("click", () => {
    const presenter = button.getAttribute("aria-pressed") !== "true";
    sessionStorage.setItem(PRESENTER_KEY, presenter ? "1" : "0");
    showPresenterSize(button, presenter);
  });
}

function showPresenterSize(button, presenter) {
  panel.toggleAttribute("data-presenter", presenter);
  button.setAttribute("aria-pressed", String(presenter));
}

// ---- What the page tells us ------------------------------------------------------------------------------

function listenToKcoSync() {
  if (!syncRoot) return;
  syncRoot.addEventListener("kco-sync:suspend", (event) => {
    note("kco-sync", "suspend", event.detail?.url ? `before ${event.detail.url}` : "");
  });
  syncRoot.addEventListener("kco-sync:resume", (event) => {
    const outcome = event.detail?.ok === false ? "after a failure" : "";
    note("kco-sync", "resume", outcome);
    poll();
  });
  // kco-sync.js's own state attribute: idle or error means its request is answered, so the log has news.
  new MutationObserver(() => {
    if (["idle", "error"].includes(syncRoot.dataset.kcoSyncState)) poll();
  }).observe(syncRoot, { attributes: true, attributeFilter: ["data-kco-sync-state"] });
}

function listenToWidget() {
  if (typeof window._klarnaCheckout !== "function") return; // no snippet (empty cart)
  const handlers = Object.fromEntries(WIDGET_EVENTS.map((name) => [name, (payload) => {
    note("widget", name, widgetEventSummary(name, payload));
  }]));
  try {
    window._klarnaCheckout((api) => api.on(handlers));
  } catch (error) {
    console.error("kco-inspector: could not listen to the widget", error);
  }
}

/** A new snippet means a new widget without listeners: register again. */
function watchSnippetSwaps() {
  const container = syncRoot?.querySelector("[data-kco-snippet]");
  if (!container) return;
  new MutationObserver(() => {
    if (container.querySelector("script")) listenToWidget();
  }).observe(container, { childList: true });
}

/** The emulator's widget marks its state on #klarna-checkout-container (real KCO has no such hook). */
function watchEmulatorWidgetState() {
  let last = null;
  const report = () => {
    const state = document.querySelector("#klarna-checkout-container")?.dataset.kcoWidgetState;
    if (state && state !== last) {
      last = state;
      note("widget", `state: ${state}`, "");
    }
  };
  new MutationObserver(report).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["data-kco-widget-state"],
  });
  report();
}

/** Only what teaches: countries and totals, never names, e-mail addresses or postal codes. */
function widgetEventSummary(name, payload) {
  if (!payload || typeof payload !== "object") return "";
  if (name === "load") return `country ${payload.shipping_address?.country ?? "?"}`;
  if (name === "order_total_change") return `order_total ${payload.order_total}`;
  if (name === "shipping_option_change") return `id ${payload.id}`;
  if ("country" in payload) return `country ${payload.country}`;
  return "";
}

function note(source, name, detail, at = Date.now()) {
  pageEvents.push({ kind: "page", source, name, detail, at });
  pageEvents = pageEvents.slice(-MAX_PAGE_EVENTS);
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(pageEvents));
  } catch {
    // A full or disabled storage only costs the history across reloads.
  }
  render();
}

function loadPageEvents() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "[]");
    return Array.isArray(stored) ? stored : [];
  } catch {
    return [];
  }
}

// ---- The shop's log --------------------------------------------------------------------------------------

async function poll() {
  // A pending change's calls are logged when it is answered (the settled state polls): no use asking before.
  if (pollRunning || syncRoot?.dataset.kcoSyncState === "pending") return;
  pollRunning = true;
  try {
    const response = await fetch(panel.dataset.logUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const answer = await response.json();
    // The answer is the whole log (bounded, and another checkout's after a purchase): drawn again only when it
    // changed, so a presenter's scrolling is not undone every second.
    const shown = JSON.stringify(answer.entries ?? []);
    if (shown === shownLog) return;
    shownLog = shown;
    serverEntries = answer.entries ?? [];
    render();
  } catch {
    // The next tick tries again; the shop may be restarting.
  } finally {
    pollRunning = false;
  }
}

// ---- The emulator buttons --------------------------------------------------------------------------------

const ACTION_MESSAGES = {
  expire: () => "KCO's clock moved 49 hours on: the order has expired. Change a quantity to see a new order.",
  "fail-update-503": () => "The next update will be answered 503, and so will the shop's two retries after it " +
    "reads the order. Change a quantity.",
  "fail-update-timeout": (answer) =>
    `The next update will take ${answer.emulator?.fault?.delay_ms / 1000} s, longer than the shop waits. ` +
    "Change a quantity.",
  country: () => "KCO ran country_change for the order. Reloading to show what the shop holds now.",
  complete: (answer) => completeMessage(answer.emulator ?? {}),
  "complete-pending": (answer) => `${completeMessage(answer.emulator ?? {})} Order Management says the fraud ` +
    "review is PENDING: the confirmation page tells the shopper so. Decide it below.",
  "fraud-decision": (answer) => `Fraud review: ${answer.emulator?.fraud_status}. KCO sent the notification; ` +
    `the shop answered ${answer.emulator?.notification?.status ?? "nothing"}.`,
  push: (answer) => `KCO pushed: the shop answered ${answer.emulator?.attempt?.status ?? "nothing"}.`,
  "hold-push": (answer) => pushHeld(answer)
    ? "The automatic push waits for KCO's own schedule: the first push 2 minutes after the purchase. Until " +
      "then, Deliver push now sends the first one. This holds the push of every order of the emulator."
    : "The emulator pushes on its quick schedule again: " +
      `${(answer.emulator?.push_retry_seconds ?? []).join(", ")} s after the purchase.`,
};

/** The emulator holds its automatic push while it plays KCO's own ("real") push schedule. */
function pushHeld(answer) {
  return answer.emulator?.push_schedule === "real";
}

function listenToButtons() {
  panel.addEventListener("click", (event) => {
    const button = event.target.closest("[data-emulator-action]");
    if (button) press(button);
  });
}

/** What a button did goes into the timeline at the moment it was pressed, so the room reads it beside the
 * calls it caused, and into the status line that screen readers announce. */
async function press(button) {
  const action = button.dataset.emulatorAction;
  const label = button.textContent.trim();
  const pressedAt = Date.now();
  button.disabled = true;
  try {
    const response = await fetch(`${panel.dataset.emulatorUrl}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(actionBody(button)),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      report(label, `failed: ${answer.error?.message ?? `HTTP ${response.status}`}`, pressedAt);
      return;
    }
    report(label, ACTION_MESSAGES[action](answer), pressedAt);
    if (action === "hold-push") button.setAttribute("aria-pressed", String(pushHeld(answer)));
    if (action === "country") window.location.reload();
  } catch {
    report(label, "The shop did not answer.", pressedAt);
  } finally {
    button.disabled = false;
    poll();
  }
}

function actionBody(button) {
  const value = (selector) => panel.querySelector(selector).value;
  switch (button.dataset.emulatorAction) {
    case "country":
      return { country: value("[data-emulator-country]") };
    case "fraud-decision":
      return { event_type: value("[data-emulator-fraud-decision]") };
    case "hold-push":
      return { held: button.getAttribute("aria-pressed") !== "true" };
    default:
      return {};
  }
}

function report(label, message, at) {
  note("panel", label, message, at);
  const status = panel.querySelector("[data-inspector-status]");
  if (status) status.textContent = message;
}

function completeMessage(outcome) {
  if (outcome.result === "completed") {
    return "Purchase completed. The widget would now send the shopper to the confirmation page; " +
      "press Deliver push now, or change a quantity to see 403 READ_ONLY_ORDER.";
  }
  return `The purchase was not completed (${outcome.result}): ${outcome.error_text ?? outcome.redirect_url ?? ""}`;
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

// ---- Drawing ---------------------------------------------------------------------------------------------

function render() {
  if (!timeline) return;
  const rows = [...serverEntries, ...pageEvents].sort((a, b) => a.at - b.at);
  timeline.replaceChildren(...rows.map(row));
  timeline.scrollTop = timeline.scrollHeight;
}

function row(entry) {
  const item = document.createElement("li");
  item.className = `kco-inspector-entry kind-${entry.kind}`;
  const source = entry.kind === "kco" ? "KCO call" : entry.kind === "callback" ? "callback" : entry.source;
  item.dataset.source = source;
  item.dataset.at = String(entry.at); // epoch milliseconds, the clock shown in .time
  item.append(span("time", clock(entry.at)), span("source", source));
  if (entry.kind === "kco") {
    item.dataset.operation = entry.operation;
    const what = span("what", `${entry.method} ${entry.path}`);
    what.title = what.textContent; // the line may be cut short
    item.append(what, statusOf(entry));
    item.append(span("detail", [
      entry.operation,
      `${Math.round(entry.duration_ms)} ms`,
      entry.trigger ? `for ${entry.trigger}` : "",
      entry.correlation_id ? `correlation id ${entry.correlation_id}` : "",
      entry.operation === "create" && entry.order_id ? `new order ${entry.order_id}` : "",
      entry.replaces ? `replaces ${entry.replaces}` : "",
    ].filter(Boolean).join(" · ")));
  } else if (entry.kind === "callback") {
    item.dataset.operation = entry.name;
    item.append(span("what", `KCO → shop: ${entry.name}`), statusOf(entry));
    item.append(span("detail", `${Math.round(entry.duration_ms)} ms · order ${entry.order_id}`));
  } else {
    item.append(span("what", entry.name));
    if (entry.detail) item.append(span("detail", entry.detail));
  }
  if (entry.changes?.length) item.append(changeList(entry.changes));
  return item;
}

function statusOf(entry) {
  const ok = entry.status !== null && entry.status < 400;
  const text = entry.status ?? `no answer${entry.error ? ` (${entry.error})` : ""}`;
  const status = span(`status ${ok ? "ok" : "failed"}`, String(text));
  status.dataset.status = String(entry.status ?? "none");
  return status;
}

function changeList(changes) {
  const list = document.createElement("ul");
  list.className = "changes";
  for (const change of changes) {
    const item = document.createElement("li");
    item.textContent = change.lines
      ? `${change.field}: ${change.lines.join("; ")}`
      : `${change.field}: ${change.before ?? "—"} → ${change.after}`;
    list.append(item);
  }
  return list;
}

function span(className, text) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

function clock(epochMs) {
  const time = new Date(epochMs);
  const two = (number) => String(number).padStart(2, "0");
  return `${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())}.` +
    String(time.getMilliseconds()).padStart(3, "0");
}
