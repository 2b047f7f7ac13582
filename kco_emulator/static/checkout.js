/*
 * The emulated checkout inside the iframe (emulator origin). It renders the order from
 * /widget/orders/<id>/state, lets the shopper enter an address, change country, pick a shipping option
 * and complete the purchase; the emulator runs the merchant callbacks behind those actions
 * (kco-rules: refine-callbacks, validation-callback).
 *
 * It talks to the merchant's page only by postMessage, and only with the origin the bootstrap passed
 * in `parent_origin`, which must match the frame's real ancestor (ancestorOrigins, else the referrer).
 * Events follow kco-rules: widget-events; countries in payloads are lower-case alpha-3.
 *
 * The frame polls /signals (SIGNAL_POLL_MS) for what reaches the shopper without an action of theirs: a purchase
 * the control API made impossible fires can_not_complete_order at once.
 *
 * With options.require_client_validation a purchase first asks the page (validation_callback, through the
 * bootstrap); the merchant's checkboxes fire checkbox_change (kco-rules: client-validation, merchant-checkboxes).
 *
 * It speaks the order's language, as KCO's widget speaks the order's locale (kco-rules: locales): its words
 * come with each state (`text`, kco_emulator/widget_text.py), country names and amounts from the browser's CLDR
 * data in the order's locale (Intl). [data-text] and [data-text-label] name the word of an element's text and
 * aria-label; a resume after a change of locale redraws them.
 *
 * Test hooks: <body data-kco-frame-state="loading|ready|suspended|complete|unavailable">, the overlay
 * role="status" (named "Checkout suspended" in English), the form fields by their `name`, the lines in
 * [data-kco-order-line], the total in [data-kco-order-total], the submit button, shopper messages in
 * role="alert".
 */

const params = new URLSearchParams(window.location.search);
const token = params.get('token') || '';
const parentOrigin = params.get('parent_origin') || '';
const orderUrl = window.location.pathname.replace(/\/$/, '');
const authHeaders = { Authorization: `KlarnaCheckout ${token}` };

// [name, autocomplete]; each field's label is the word of its name.
const ADDRESS_FIELDS = [
  ['email', 'email'],
  ['postal_code', 'postal-code'],
  ['given_name', 'given-name'],
  ['family_name', 'family-name'],
  ['street_address', 'street-address'],
  ['city', 'address-level2'],
];
// A separate shipping address asks for the same but the email; it is offered only with
// options.allow_separate_shipping_address (kco-rules: shipping-address-change).
const SHIPPING_FIELDS = ADDRESS_FIELDS.filter(([name]) => name !== 'email');
// In AT and DE only postal code and country are reported to the merchant page (kco-rules: widget-events).
const COUNTRIES_WITHOUT_NAMES_IN_EVENTS = ['AT', 'DE'];
const SIGNAL_POLL_MS = 1000;

let order = null;
let lastSubmittedAddress = '';
let suspended = false;
const el = {};
// Answers of the page to validation_callback, by request number (kco-rules: client-validation).
const validationAnswers = new Map();
let validationSeq = 0;

function embeddedByExpectedParent() {
  if (window.parent === window || !parentOrigin) {
    return false;
  }
  const ancestors = window.location.ancestorOrigins;
  if (ancestors && ancestors.length > 0) {
    return ancestors[0] === parentOrigin;
  }
  try {
    return new URL(document.referrer).origin === parentOrigin;
  } catch {
    return false;
  }
}

function post(type, detail = {}) {
  window.parent.postMessage({ source: 'kco-checkout-frame', type, ...detail }, parentOrigin);
}

function emit(name, payload) {
  post('event', { name, payload });
}

function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'text') {
      node.textContent = value;
    } else if (value === true) {
      node.setAttribute(key, '');
    } else if (value !== false && value !== null && value !== undefined) {
      node.setAttribute(key, value);
    }
  }
  node.append(...children);
  return node;
}

function money(minorUnits) {
  // Display only; all currencies of the emulated markets have two decimals.
  try {
    return new Intl.NumberFormat(order.locale, { style: 'currency', currency: order.purchase_currency })
      .format(minorUnits / 100);
  } catch {
    return `${(minorUnits / 100).toFixed(2)} ${order.purchase_currency}`;
  }
}

function alpha3(country) {
  return order.alpha3[country] || String(country).toLowerCase();
}

/** The widget's words in the order's language on every element that names one (see the header). */
function applyText(text) {
  for (const element of document.querySelectorAll('[data-text]')) {
    element.textContent = text[element.dataset.text];
  }
  for (const element of document.querySelectorAll('[data-text-label]')) {
    element.setAttribute('aria-label', text[element.dataset.textLabel]);
  }
  for (const element of document.querySelectorAll('[data-text-shipping]')) {
    element.textContent = shippingLabel(text, element.dataset.textShipping);
  }
}

function shippingLabel(text, name) {
  return text.for_shipping.replace('%s', text[name]);
}

function countryName(country) {
  try {
    return new Intl.DisplayNames([order.locale], { type: 'region' }).of(country);
  } catch {
    return country;
  }
}

function setFrameState(state) {
  document.body.dataset.kcoFrameState = state;
}

function showError(text) {
  el.error.textContent = text || '';
}

function build() {
  el.title = h('h1', { 'data-text': 'title' });
  el.lines = h('ul', { 'data-text-label': 'order_lines' });
  el.total = h('strong', { 'data-kco-order-total': true });
  el.inputs = {};
  const fields = ADDRESS_FIELDS.map(([name, autocomplete]) => {
    el.inputs[name] = h('input', { name, autocomplete, type: name === 'email' ? 'email' : 'text' });
    return h('label', {}, h('span', { 'data-text': name }), el.inputs[name]);
  });
  el.country = h('select', { name: 'country' });
  el.countryField = h('label', { hidden: true }, h('span', { 'data-text': 'country' }), el.country);
  el.separate = h('input', { type: 'checkbox', name: 'separate_shipping_address' });
  el.separateField = h('label', { hidden: true }, el.separate, h('span', { 'data-text': 'separate_shipping' }));
  el.shippingAddress = h('fieldset', { hidden: true, 'data-text-label': 'shipping_address' });
  el.shippingInputs = {};
  el.shippingLegend = h('legend', { 'data-text': 'shipping' });
  el.shipping = h('fieldset', { class: 'shipping', hidden: true }, el.shippingLegend);
  el.checkboxes = h('fieldset', { class: 'checkboxes', hidden: true, 'data-text-label': 'from_shop' });
  el.error = h('p', { role: 'alert' });
  el.submit = h('button', { type: 'submit', 'data-text': 'complete' });
  el.controls = h('fieldset', {}, ...fields, el.countryField, el.separateField, el.shippingAddress, el.shipping,
    el.checkboxes, el.error, el.submit);
  el.form = h('form', { novalidate: true, 'data-text-label': 'details' }, el.controls);
  el.overlay = h('div', {
    class: 'overlay', role: 'status', 'data-text': 'updating', 'data-text-label': 'suspended', hidden: true,
  });
  const summary = h('section', { 'data-text-label': 'order_summary' }, el.lines,
    h('p', { class: 'total' }, h('span', { 'data-text': 'total' }), el.total));
  const notice = h('p', { class: 'testdrive', 'data-text': 'testdrive' });
  document.getElementById('checkout').append(el.title, summary, el.form, el.overlay, notice);

  for (const input of Object.values(el.inputs)) {
    input.addEventListener('change', onFieldChange);
  }
  el.country.addEventListener('change', onCountryChange);
  el.separate.addEventListener('change', onSeparateChange);
  el.form.addEventListener('submit', onSubmit);
  for (const type of ['mousedown', 'keydown']) {
    document.addEventListener(type, onFirstInteraction, { capture: true });
  }
}

function render(state) {
  order = state;
  document.documentElement.lang = state.language;
  applyText(state.text);
  el.lines.replaceChildren(...state.order_lines.map((line) => h('li', {
    'data-kco-order-line': true, 'data-reference': line.reference || '',
  }, h('span', { text: `${line.quantity} × ${line.name}` }), h('span', { text: money(line.total_amount) }))));
  el.total.textContent = money(state.order_total);

  // A country choice only when billing_countries / shipping_countries allow several
  // (checkout-v3-openapi.yml order.billing_countries).
  el.countryField.hidden = state.countries.length < 2;
  el.country.replaceChildren(...state.countries.map((item) => h('option', {
    value: item.country, 'data-alpha3': item.alpha3, text: countryName(item.country),
  })));
  el.country.value = state.billing_address.country;

  const options = state.shipping_options || [];
  el.shipping.hidden = options.length === 0;
  el.shipping.replaceChildren(el.shippingLegend, ...options.map((option) => {
    const radio = h('input', {
      type: 'radio', name: 'shipping_option', value: option.id,
      checked: state.selected_shipping_option?.id === option.id,
    });
    radio.addEventListener('change', () => onShippingOptionChange(option.id));
    return h('label', {}, radio, `${option.name} ${money(option.price)}`);
  }));

  for (const [name] of ADDRESS_FIELDS) {
    const known = state.billing_address[name];
    if (known && !el.inputs[name].value) {
      el.inputs[name].value = known;
    }
  }
  renderShippingAddress(state);

  // The merchant's checkboxes; their text is Markdown, shown here as plain text (kco-rules: merchant-checkboxes).
  el.checkboxes.hidden = state.checkboxes.length === 0;
  el.checkboxes.replaceChildren(...state.checkboxes.map((checkbox) => {
    const input = h('input', { type: 'checkbox', name: checkbox.key, checked: checkbox.checked });
    input.addEventListener('change', () => onCheckboxChange(checkbox.key, input));
    return h('label', {}, input, checkbox.text);
  }));
  if (state.status === 'checkout_complete') {
    setFrameState('complete');
    el.controls.disabled = true;
  }
  post('resize', { height: document.documentElement.scrollHeight });
}

function renderShippingAddress(state) {
  el.separateField.hidden = !state.allow_separate_shipping_address;
  // Built only when offered, so that the billing fields stay the only ones with their labels.
  if (!state.allow_separate_shipping_address || el.shippingAddress.children.length > 0) {
    return;
  }
  const fields = SHIPPING_FIELDS.map(([name, autocomplete]) => {
    el.shippingInputs[name] = h('input', { name: `shipping_${name}`, autocomplete: `shipping ${autocomplete}` });
    el.shippingInputs[name].addEventListener('change', onFieldChange);
    const label = h('span', { 'data-text-shipping': name, text: shippingLabel(state.text, name) });
    return h('label', {}, label, el.shippingInputs[name]);
  });
  el.shippingAddress.append(...fields);
  if (state.separate_shipping_address) {
    el.separate.checked = true;
    el.shippingAddress.hidden = false;
    for (const [name] of SHIPPING_FIELDS) {
      el.shippingInputs[name].value = state.shipping_address[name] || '';
    }
  }
}

function currentShippingAddress() {
  // null: the shopper ships to the billing address.
  if (!el.separate.checked) {
    return null;
  }
  const address = {};
  for (const [name] of SHIPPING_FIELDS) {
    address[name] = el.shippingInputs[name].value.trim();
  }
  address.country = currentAddress().country;
  return address;
}

function shippingComplete(shipping) {
  return shipping === null || SHIPPING_FIELDS.every(([name]) => shipping[name]);
}

function currentAddress() {
  const address = {};
  for (const [name] of ADDRESS_FIELDS) {
    address[name] = el.inputs[name].value.trim();
  }
  address.country = el.countryField.hidden ? order.billing_address.country : el.country.value;
  return address;
}

function addressComplete(address) {
  return ADDRESS_FIELDS.every(([name]) => address[name]);
}

function changePayload(address) {
  const payload = {};
  if (address.email) payload.email = address.email;
  if (address.postal_code) payload.postal_code = address.postal_code.replace(/\s+/g, '');
  payload.country = alpha3(address.country);
  if (!COUNTRIES_WITHOUT_NAMES_IN_EVENTS.includes(address.country)) {
    if (address.given_name) payload.given_name = address.given_name;
    if (address.family_name) payload.family_name = address.family_name;
  }
  return payload;
}

function addressPayload(address) {
  const payload = { postal_code: address.postal_code.replace(/\s+/g, ''), country: alpha3(address.country) };
  if (!COUNTRIES_WITHOUT_NAMES_IN_EVENTS.includes(address.country)) {
    for (const name of ['given_name', 'family_name', 'email']) {
      if (address[name]) payload[name] = address[name];
    }
  }
  return payload;
}

function addressEvents(address, shipping) {
  // shipping_address_change fires only for a separate shipping address, unless the setting
  // shipping_address_change "every_address" plays the other reading (kco-rules: shipping-address-change).
  const events = [{ name: 'billing_address_change', payload: addressPayload(address) }];
  if (shipping !== null) {
    events.push({ name: 'shipping_address_change', payload: addressPayload(shipping) });
  } else if (order.shipping_address_change === 'every_address') {
    events.push({ name: 'shipping_address_change', payload: addressPayload(address) });
  }
  return events;
}

async function readOrder() {
  const response = await fetch(`${orderUrl}/state`, { headers: authHeaders });
  if (!response.ok) {
    throw new Error('This checkout has expired. Please reload the page.');
  }
  return response.json();
}

let lastAction = Promise.resolve();

function act(path, body) {
  // Actions run one after the other, so Complete purchase waits for an address still being sent.
  const action = lastAction.then(() => sendAction(path, body));
  lastAction = action.catch(() => {});
  return action;
}

async function sendAction(path, body) {
  // One shopper action: the emulator runs the merchant callback and answers with the new order.
  showError('');
  // Only the purchase itself locks the button. A click made while an address is still being sent must
  // not be lost: act() runs the purchase right after that address.
  if (path === 'complete') {
    el.submit.disabled = true;
  }
  const totalBefore = order.order_total;
  try {
    const response = await fetch(`${orderUrl}/${path}`, {
      method: 'POST',
      headers: { ...authHeaders, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => null);
    if (!response.ok || !answer) {
      showError(answer?.error?.message || order.text.unavailable);
      return 'failed';
    }
    const { outcome } = answer;
    render(answer.order);
    if (order.order_total !== totalBefore) {
      emit('order_total_change', { order_total: order.order_total });
    }
    for (const name of outcome.events || []) {
      if (name !== 'redirect_initiated') emit(name, {});
    }
    if (outcome.error_text) {
      showError(outcome.error_text);
    }
    if (outcome.redirect_url) {
      if (outcome.result === 'completed') emit('redirect_initiated', true);
      post('redirect', { url: outcome.redirect_url });
    }
    return outcome.result;
  } catch {
    emit('network_error', {});
    showError(order.text.network);
    return 'failed';
  } finally {
    el.submit.disabled = order.status === 'checkout_complete';
  }
}

async function submitAddress(address, shipping) {
  lastSubmittedAddress = JSON.stringify([address, shipping]);
  if (await act('address', { billing_address: address, shipping_address: shipping }) === 'updated') {
    for (const { name, payload } of addressEvents(address, shipping)) {
      emit(name, payload);
    }
    return true;
  }
  lastSubmittedAddress = '';
  return false;
}

async function submitIfChanged() {
  const address = currentAddress();
  const shipping = currentShippingAddress();
  const ready = addressComplete(address) && shippingComplete(shipping);
  if (ready && JSON.stringify([address, shipping]) !== lastSubmittedAddress) {
    await submitAddress(address, shipping);
  }
}

async function onFieldChange(event) {
  if (['email', 'postal_code', 'given_name', 'family_name'].includes(event.target.name)) {
    emit('change', changePayload(currentAddress()));
  }
  await submitIfChanged();
}

async function onSeparateChange() {
  el.shippingAddress.hidden = !el.separate.checked;
  await submitIfChanged();
}

async function onCountryChange() {
  const previous = order.billing_address.country;
  const address = currentAddress();
  // With a complete address one address_update / country_change covers it (kco-rules: refine-callbacks).
  const shipping = currentShippingAddress();
  const accepted = addressComplete(address) && shippingComplete(shipping)
    ? await submitAddress(address, shipping)
    : await act('country', { country: address.country }) === 'updated';
  if (accepted) {
    emit('change', changePayload(currentAddress()));
  } else if (order.status !== 'checkout_complete') {
    el.country.value = previous;
  }
}

function shippingOptionPayload(option) {
  // The option as the merchant offered it, minor units; keys the merchant left out stay out.
  const payload = {};
  for (const key of ['id', 'name', 'description', 'price', 'tax_amount', 'tax_rate', 'promo']) {
    if (option[key] !== undefined) payload[key] = option[key];
  }
  return payload;
}

async function onCheckboxChange(key, input) {
  const { checked } = input;
  if (await act('checkbox', { key, checked }) === 'updated') {
    emit('checkbox_change', { key, checked });
  } else {
    input.checked = !checked;
  }
}

function askPageToValidate() {
  // The bootstrap calls the page's validation_callback handler and hands back its answer.
  validationSeq += 1;
  const seq = validationSeq;
  return new Promise((resolve) => {
    validationAnswers.set(seq, resolve);
    post('validation_callback', { seq });
  });
}

async function pageLetsThePurchaseProceed() {
  // With options.require_client_validation the widget waits for the page's answer before it completes the
  // purchase; without an answer it keeps waiting (kco-rules: client-validation).
  if (!order.require_client_validation) {
    return true;
  }
  el.submit.disabled = true;
  try {
    const answer = await askPageToValidate();
    if (!answer.should_proceed) {
      showError(answer.message || order.text.not_proceeding);
    }
    return answer.should_proceed;
  } finally {
    el.submit.disabled = order.status === 'checkout_complete';
  }
}

async function onShippingOptionChange(optionId) {
  if (await act('shipping-option', { id: optionId }) === 'updated') {
    emit('shipping_option_change', shippingOptionPayload(order.selected_shipping_option));
  }
}

async function onSubmit(event) {
  event.preventDefault();
  const address = currentAddress();
  const shipping = currentShippingAddress();
  if (!addressComplete(address) || !shippingComplete(shipping)) {
    const missing = ADDRESS_FIELDS.filter(([name]) => !address[name]).map(([name]) => order.text[name]);
    const missingShipping = shipping === null ? [] : SHIPPING_FIELDS.filter(([name]) => !shipping[name])
      .map(([name]) => shippingLabel(order.text, name));
    showError(order.text.fill_in.replace('%s', [...missing, ...missingShipping].join(', ')));
    return;
  }
  showError('');
  if (!await pageLetsThePurchaseProceed()) {
    return;
  }
  const result = await act('complete', { billing_address: address, shipping_address: shipping });
  if (result === 'completed') {
    setFrameState('complete');
  }
}

async function pollSignals() {
  // Stops once the purchase is complete, the order is gone or the news has been told.
  if (order?.status === 'checkout_complete') {
    return;
  }
  try {
    const response = await fetch(`${orderUrl}/signals`, { headers: authHeaders });
    if (!response.ok) {
      return;
    }
    if ((await response.json()).cannot_complete) {
      emit('can_not_complete_order', {});
      showError(order.text.cannot_complete);
      return;
    }
  } catch {
    // A lost poll is retried with the next one.
  }
  window.setTimeout(pollSignals, SIGNAL_POLL_MS);
}

function onFirstInteraction(event) {
  for (const type of ['mousedown', 'keydown']) {
    document.removeEventListener(type, onFirstInteraction, { capture: true });
  }
  emit('user_interacted', { type: event.type });
  // Shopper interaction keeps the order alive (kco-rules: expiry-48h).
  fetch(`${orderUrl}/interaction`, { method: 'POST', headers: authHeaders }).catch(() => {});
}

function setSuspended(on) {
  el.controls.disabled = on || order?.status === 'checkout_complete';
  el.overlay.hidden = !on;
  setFrameState(on ? 'suspended' : 'ready');
}

async function onParentMessage(event) {
  if (event.source !== window.parent || event.origin !== parentOrigin) {
    return;
  }
  const message = event.data;
  if (!message || message.source !== 'kco-merchant-page') {
    return;
  }
  if (message.type === 'validation_answer') {
    const resolve = validationAnswers.get(message.seq);
    validationAnswers.delete(message.seq);
    resolve?.({ should_proceed: message.should_proceed === true, message: String(message.message || '') });
  } else if (message.type === 'suspend') {
    suspended = true;
    setSuspended(true);
  } else if (message.type === 'resume') {
    // resume() re-reads the order so the widget shows the merchant's update (kco-rules: suspend-resume).
    suspended = false;
    const totalBefore = order?.order_total;
    try {
      render(await readOrder());
      if (order.order_total !== totalBefore) {
        emit('order_total_change', { order_total: order.order_total });
      }
    } catch (error) {
      showError(error.message);
    }
    if (!suspended) {
      setSuspended(false);
    }
    post('resumed', { seq: message.seq });
  }
}

function loadEvents() {
  const billing = order.billing_address;
  const events = [
    { name: 'load', payload: { customer: { type: order.customer_type }, shipping_address: {
      country: alpha3(billing.country), ...(billing.postal_code ? { postal_code: billing.postal_code } : {}),
    } } },
    // `customer` and `change` also fire on load with defaults (kco-rules: widget-events).
    { name: 'customer', payload: { type: order.customer_type } },
    { name: 'change', payload: changePayload(currentAddress()) },
  ];
  if (addressComplete(currentAddress())) {
    events.push(...addressEvents(currentAddress(), currentShippingAddress()));
  }
  const option = order.selected_shipping_option;
  if (option) {
    events.push({ name: 'shipping_option_change', payload: shippingOptionPayload(option) });
  }
  return events;
}

async function start() {
  if (!embeddedByExpectedParent()) {
    document.getElementById('checkout').textContent =
      'This checkout can only be shown inside the page of the shop that created it.';
    setFrameState('unavailable');
    return;
  }
  window.addEventListener('message', onParentMessage);
  build();
  try {
    render(await readOrder());
  } catch (error) {
    el.controls.disabled = true;
    showError(error.message);
    setFrameState('unavailable');
    post('ready', { events: [] });
    return;
  }
  lastSubmittedAddress = order.shopper_entered_address
    ? JSON.stringify([currentAddress(), currentShippingAddress()]) : '';
  if (order.status !== 'checkout_complete') {
    setFrameState('ready');
  }
  new ResizeObserver(() => post('resize', { height: document.documentElement.scrollHeight }))
    .observe(document.documentElement);
  post('ready', { events: loadEvents(), event_listeners: order.event_listeners });
  window.setTimeout(pollSignals, SIGNAL_POLL_MS);
}

start();
