/*
 * KCO emulator bootstrap: runs in the merchant's page, loaded by the html_snippet's inline script
 * (BOOTSTRAP_SRC, kco-rules: html-snippet). It renders the checkout <iframe> from the emulator's origin
 * inside #klarna-checkout-container, drains the `window._klarnaCheckout.q` queue once the iframe is ready
 * and gives each queued callback the `api` object: suspend(options), resume(), on(handlers)
 * (kco-rules: suspend-resume).
 *
 * Test hooks: the container carries data-kco-widget-state = loading | ready | suspended | resuming
 * ("ready" again only after a resume re-rendered the order) | validating (the page has not answered
 * validation_callback yet) | confirmation (load_confirmation has fired) and data-kco-auto-resume = on | off.
 *
 * The confirmation snippet loads this file too: it renders no iframe (the emulator's confirmation is the
 * snippet itself), writes its amounts ([data-kco-amount], minor units) in the order's locale, hands queued
 * callbacks the `api` and fires load_confirmation.
 *
 * When a new snippet is inserted (a new order), its inline script replaces `.config` and loads this file
 * again: the previous widget is torn down, calls made in between are queued, and the new widget starts
 * with no event handlers (register them again through the queue).
 */
(function () {
  'use strict';

  var NAME = '_klarnaCheckout';
  // suspend() resumes by itself after 10 s unless disabled (kco-rules: suspend-resume).
  var AUTO_RESUME_MS = 10000;
  var previousFunction = window[NAME];
  var config = previousFunction && previousFunction.config;
  if (!config || !config.container) {
    return;
  }
  var scriptSrc = (document.currentScript && document.currentScript.src) || config.BOOTSTRAP_SRC;
  var emulatorOrigin = new URL(scriptSrc, window.location.href).origin;
  var container = config.container;
  var token = String(config.AUTH_HEADER || '').replace(/^KlarnaCheckout\s+/, '');

  if (window.__kcoEmulatorWidget) {
    window.__kcoEmulatorWidget.destroy();
  }

  var listeners = {};
  // Klarna's page says a new listener of an event replaces the old one; the emulator's setting
  // event_listeners plays that ("replace") or keeps every listener ("add"), as the iframe's ready message says
  // (kco-rules: widget-event-listeners).
  var replaceListeners = false;
  var ready = false;
  var destroyed = false;
  var autoResumeTimer = null;
  var resumeSeq = 0;

  function setState(state) {
    container.setAttribute('data-kco-widget-state', state);
  }

  function rethrowLater(error) {
    // A merchant handler that throws must not break the widget; the error still reaches the console.
    window.setTimeout(function () { throw error; });
  }

  function emit(name, payload, callback) {
    (listeners[name] || []).slice().forEach(function (handler) {
      try {
        handler(payload, callback);
      } catch (error) {
        rethrowLater(error);
      }
    });
  }

  function askPageToValidate(seq) {
    // options.require_client_validation: the purchase goes on only once the page's handler answers
    // callback({should_proceed, message}); the first answer counts (kco-rules: client-validation).
    var answered = false;
    setState('validating');
    emit('validation_callback', {}, function (answer) {
      if (answered || destroyed) {
        return;
      }
      answered = true;
      setState('ready');
      send('validation_answer', {
        seq: seq,
        should_proceed: Boolean(answer && answer.should_proceed === true),
        message: answer && typeof answer.message === 'string' ? answer.message : ''
      });
    });
  }

  var iframe = document.createElement('iframe');
  var frameUrl = new URL(config.ORDER_URL);
  frameUrl.searchParams.set('token', token);
  // The iframe only talks to this origin; it checks the value against its ancestor origin.
  frameUrl.searchParams.set('parent_origin', window.location.origin);
  iframe.src = frameUrl.href;
  iframe.id = 'klarna-checkout-iframe';
  iframe.name = 'klarna-checkout-iframe';
  iframe.title = 'Checkout';
  iframe.setAttribute('scrolling', 'no');
  iframe.style.cssText = 'width: 100%; min-width: 320px; height: 640px; border: 0; display: block;';

  function send(type, detail) {
    if (!iframe.contentWindow) {
      return;
    }
    var message = { source: 'kco-merchant-page', type: type };
    Object.keys(detail || {}).forEach(function (key) { message[key] = detail[key]; });
    iframe.contentWindow.postMessage(message, emulatorOrigin);
  }

  var api = {
    suspend: function (options) {
      window.clearTimeout(autoResumeTimer);
      autoResumeTimer = null;
      var autoResume = !(options && options.autoResume && options.autoResume.enabled === false);
      container.setAttribute('data-kco-auto-resume', autoResume ? 'on' : 'off');
      setState('suspended');
      send('suspend');
      if (autoResume) {
        autoResumeTimer = window.setTimeout(function () { api.resume(); }, AUTO_RESUME_MS);
      }
      return api;
    },
    resume: function () {
      window.clearTimeout(autoResumeTimer);
      autoResumeTimer = null;
      resumeSeq += 1;
      setState('resuming');
      // The iframe re-reads the order and re-renders lines and totals, then answers "resumed".
      send('resume', { seq: resumeSeq });
      return api;
    },
    on: function (handlers) {
      Object.keys(handlers || {}).forEach(function (name) {
        if (typeof handlers[name] !== 'function') {
          return;
        }
        if (replaceListeners) {
          listeners[name] = [handlers[name]];
        } else {
          (listeners[name] = listeners[name] || []).push(handlers[name]);
        }
      });
      return api;
    }
  };

  function checkout(callback) {
    // Until this widget is ready, and after a newer snippet replaced the config, calls are queued.
    if (ready && !destroyed && checkout.config === config) {
      callback(api);
    } else {
      (checkout.q = checkout.q || []).push(arguments);
    }
  }
  checkout.config = config;
  checkout.q = Array.prototype.slice.call((previousFunction && previousFunction.q) || []);
  window[NAME] = checkout;

  function drainQueue() {
    var queued = checkout.q || [];
    checkout.q = [];
    queued.forEach(function (args) {
      if (typeof args[0] === 'function') {
        try {
          args[0](api);
        } catch (error) {
          rethrowLater(error);
        }
      }
    });
  }

  function onMessage(event) {
    // Strict origin check: only the emulator's iframe of this widget may talk to us.
    if (destroyed || event.origin !== emulatorOrigin || event.source !== iframe.contentWindow) {
      return;
    }
    var message = event.data;
    if (!message || message.source !== 'kco-checkout-frame') {
      return;
    }
    if (message.type === 'ready') {
      replaceListeners = message.event_listeners === 'replace';
      ready = true;
      setState('ready');
      drainQueue();
      (message.events || []).forEach(function (item) { emit(item.name, item.payload); });
    } else if (message.type === 'event') {
      emit(message.name, message.payload);
    } else if (message.type === 'validation_callback') {
      askPageToValidate(message.seq);
    } else if (message.type === 'resumed') {
      if (message.seq === resumeSeq && container.getAttribute('data-kco-widget-state') === 'resuming') {
        setState('ready');
      }
    } else if (message.type === 'resize' && message.height > 0) {
      iframe.style.height = Math.ceil(message.height) + 'px';
    } else if (message.type === 'redirect' && /^https?:/.test(String(message.url))) {
      // Callbacks, validation and completion send the whole page on, not just the iframe
      // (kco-rules: refine-callbacks, validation-callback).
      window.location.assign(message.url);
    }
  }

  window.addEventListener('message', onMessage);
  window.__kcoEmulatorWidget = {
    destroy: function () {
      destroyed = true;
      window.clearTimeout(autoResumeTimer);
      window.removeEventListener('message', onMessage);
    }
  };

  if (config.ORDER_STATUS === 'checkout_complete') {
    var amounts = container.querySelectorAll('[data-kco-amount]');
    for (var index = 0; index < amounts.length; index += 1) {
      amounts[index].textContent = new Intl.NumberFormat(config.LOCALE, {
        style: 'currency', currency: config.PURCHASE_CURRENCY
      }).format(Number(amounts[index].value) / 100);
    }
    ready = true;
    drainQueue();
    emit('load_confirmation', {});
    setState('confirmation');
    return;
  }
  setState('loading');
  var fallback = container.querySelector('#klarna-unsupported-page');
  if (fallback) {
    fallback.remove();
  }
  container.appendChild(iframe);
})();
