/*
 * kco-probe's guided page (kco/probe/page.html): it shows the step the probe asks for, registers a handler for
 * every documented `_klarnaCheckout` event and posts each one, with its payload and time, to the probe
 * (kco-rules: widget-events). It also posts:
 *
 * - a second `change` listener's calls, to learn whether api.on adds or replaces (widget-event-listeners);
 * - every script, frame or connection the widget adds from another origin, as reported by the page's
 *   Content-Security-Policy-Report-Only (event "csp"; kco-rules: html-snippet);
 * - on "Load a second order", a second snippet swapped into the page as page-follows-order describes, and on
 *   Done the frames the page then holds.
 *
 * Events are posted one after the other, and Done after them, so the probe reads them in order.
 * Test hooks: #probe-step carries data-probe-step (the step's id); each posted event is listed in
 * #probe-events as <li data-probe-event=name data-snippet=1|2 data-listener=first|second>.
 */
(function () {
  'use strict';

  const EVENTS = [
    'load', 'user_interacted', 'customer', 'change', 'billing_address_change', 'shipping_address_change',
    'shipping_option_change', 'order_total_change', 'checkbox_change', 'redirect_initiated', 'load_confirmation',
    'can_not_complete_order', 'shipping_address_update_error', 'network_error', 'validation_callback',
  ];
  const domReady = new Promise((resolve) => {
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', resolve);
    } else {
      resolve();
    }
  });
  // The order each snippet shows: 1 is the page's, 2 the one swapped in.
  const snippetOrders = {};
  let swapped = false;
  let posting = Promise.resolve();
  let step = null;

  function post(path, body) {
    return fetch(path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
  }

  function show(event) {
    const item = document.createElement('li');
    item.dataset.probeEvent = event.name;
    item.dataset.snippet = String(event.snippet);
    item.dataset.listener = event.listener;
    item.textContent = `${event.at} ${event.name} ${JSON.stringify(event.payload)}`;
    document.getElementById('probe-events').append(item);
  }

  function record(name, payload, snippet, listener) {
    const event = {
      name, payload: payload === undefined ? null : payload, at: new Date().toISOString(), snippet, listener,
      after_swap: swapped,
    };
    posting = posting
      .then(() => domReady)
      .then(() => post('/probe/events', { ...event, order_id: snippetOrders[snippet] || document.body.dataset.orderId }))
      .then(() => show(event))
      .catch(() => {});
  }

  function listen(snippet) {
    window._klarnaCheckout((api) => {
      const handlers = {};
      for (const name of EVENTS) {
        handlers[name] = (payload, callback) => {
          record(name, payload, snippet, 'first');
          // Let a purchase with require_client_validation go on (kco-rules: client-validation).
          if (name === 'validation_callback' && typeof callback === 'function') {
            callback({ should_proceed: true });
          }
        };
      }
      api.on(handlers);
      // A second listener of one event: both run if api.on adds it (kco-rules: widget-event-listeners).
      api.on({ change: (payload) => record('change', payload, snippet, 'second') });
    });
  }

  async function swapInSecondSnippet() {
    const second = await (await fetch('/probe/second-snippet')).json();
    snippetOrders[2] = second.order_id;
    swapped = true;
    const holder = document.getElementById('checkout');
    holder.innerHTML = second.html_snippet;
    // Scripts inserted through innerHTML do not run: re-create them (kco-rules: html-snippet).
    for (const old of holder.querySelectorAll('script')) {
      const script = document.createElement('script');
      for (const attribute of old.attributes) {
        script.setAttribute(attribute.name, attribute.value);
      }
      script.text = old.text;
      old.replaceWith(script);
    }
    listen(2);
  }

  function showStep(next) {
    step = next;
    const here = document.body.dataset.orderId;
    if (next.order_id && next.order_id !== here) {
      // The step is on another order: the probe's page shows it.
      window.location.assign('/');
      return;
    }
    const text = document.getElementById('probe-step');
    text.dataset.probeStep = next.id;
    text.textContent = next.id === 'finished'
      ? 'All done: the probe writes its report. You may close this page.'
      : `Step ${next.number} of ${next.total}: ${next.instruction}`;
    document.getElementById('probe-action').hidden = next.action !== 'second_snippet';
    const done = document.getElementById('probe-done');
    done.hidden = next.id === 'finished' || next.id === 'wait_for_pushes';
    done.disabled = false;
  }

  async function followSteps() {
    let seen = 0;
    while (step?.id !== 'finished') {
      try {
        const next = await (await fetch(`/probe/step?seen=${seen}`)).json();
        seen = next.seq;
        showStep(next);
      } catch {
        // The probe has ended, or the tunnel dropped a request: ask again a little later.
        await new Promise((resolve) => { window.setTimeout(resolve, 2000); });
      }
    }
  }

  async function done() {
    document.getElementById('probe-done').disabled = true;
    await posting;
    const frames = Array.from(document.querySelectorAll('iframe'), (frame) => frame.src);
    await post('/probe/done', { seq: step.seq, step: step.id, frames });
  }

  window._klarnaCheckout = window._klarnaCheckout || function () {
    (window._klarnaCheckout.q = window._klarnaCheckout.q || []).push(arguments);
  };
  listen(1);
  document.addEventListener('securitypolicyviolation', (event) => {
    record('csp', { directive: event.effectiveDirective, blocked: event.blockedURI }, 1, 'page');
  });
  domReady.then(() => {
    snippetOrders[1] = document.body.dataset.orderId;
    document.getElementById('probe-action').addEventListener('click', swapInSecondSnippet);
    document.getElementById('probe-done').addEventListener('click', done);
    followSteps();
  });
}());
