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
 * Page events are kept in sessionStorage, so a reload keeps the story. Times come from the browser and the
 * shop's clocks: on one machine (the emulator) they agree; against a remote shop they may be a little off.
 *
 * Polling: once a second while the panel is open, and right after each kco-sync request, but never while
 * kco-sync has a change pending, so a poll never runs beside a cart update.
 */

const POLL_MS = 1000;
const MAX_PAGE_EVENTS = 100;
const STORAGE_KEY = "kco-inspector:page-events";
const OPEN_KEY = "kco-inspector:open";
const WIDGET_EVENTS = [
  "load", "customer", "change", "billing_address_change", "shipping_address_change", "shipping_option_change",
  "order_total_change", "can_not_complete_order", "network_error", "redirect_initiated", "user_interacted",
];

const panel = document.querySelector("[data-kco-inspector]");
const syncRoot = document.querySelector("[data-kco-sync]");
const timeline = panel?.querySelector("[data-inspector-timeline]");
const serverEntries = new Map();
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
  setInterval(() => { if (panel.open) poll(); }, POLL_MS);
  render();
  if (panel.open) poll();
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

function note(source, name, detail) {
  pageEvents.push({ kind: "page", source, name, detail, at: Date.now() });
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
    let fresh = false;
    for (const entry of answer.entries ?? []) {
      if (!serverEntries.has(entry.id)) fresh = true;
      serverEntries.set(entry.id, entry);
    }
    // The log is bounded: forget entries the shop no longer holds.
    const held = new Set((answer.entries ?? []).map((entry) => entry.id));
    for (const id of serverEntries.keys()) if (!held.has(id)) serverEntries.delete(id);
    if (fresh) render();
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
};

function listenToButtons() {
  panel.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-emulator-action]");
    if (!button) return;
    const action = button.dataset.emulatorAction;
    const value = (selector) => panel.querySelector(selector).value;
    const body = { country: { country: value("[data-emulator-country]") },
      "fraud-decision": { event_type: value("[data-emulator-fraud-decision]") } }[action] ?? {};
    button.disabled = true;
    note("panel", button.textContent.trim(), "");
    try {
      const response = await fetch(`${panel.dataset.emulatorUrl}/${action}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      const message = response.ok ? ACTION_MESSAGES[action](answer) : answer.error?.message ?? `HTTP ${response.status}`;
      if (!response.ok) note("panel", button.textContent.trim(), `failed: ${message}`);
      showStatus(message);
      if (response.ok && action === "country") window.location.reload();
    } catch {
      showStatus("The shop did not answer.");
    } finally {
      button.disabled = false;
      poll();
    }
  });
}

function completeMessage(outcome) {
  if (outcome.result === "completed") {
    return "Purchase completed. The widget would now send the shopper to the confirmation page; " +
      "press Deliver push now, or change a quantity to see 403 READ_ONLY_ORDER.";
  }
  return `The purchase was not completed (${outcome.result}): ${outcome.error_text ?? outcome.redirect_url ?? ""}`;
}

function showStatus(text) {
  const status = panel.querySelector("[data-inspector-status]");
  if (status) status.textContent = text;
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

// ---- Drawing ---------------------------------------------------------------------------------------------

function render() {
  if (!timeline) return;
  const rows = [...serverEntries.values(), ...pageEvents].sort((a, b) => a.at - b.at);
  timeline.replaceChildren(...rows.map(row));
  timeline.scrollTop = timeline.scrollHeight;
}

function row(entry) {
  const item = document.createElement("li");
  item.className = `kco-inspector-entry kind-${entry.kind}`;
  const source = entry.kind === "kco" ? "KCO call" : entry.kind === "callback" ? "callback" : entry.source;
  item.dataset.source = source;
  item.append(span("time", clock(entry.at)), span("source", source));
  if (entry.kind === "kco") {
    item.dataset.operation = entry.operation;
    item.append(span("what", `${entry.method} ${entry.path}`), statusOf(entry));
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
