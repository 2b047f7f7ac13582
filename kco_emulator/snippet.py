"""The html_snippet: the checkout snippet of an open order and the confirmation of a completed one
(kco-rules: html-snippet).

The checkout snippet has the shape of the real one: `#klarna-checkout-container`, an inline script that
installs the `window._klarnaCheckout` queue stub with `.q` and `.config` and loads BOOTSTRAP_SRC, the
"Something went wrong" fallback and a <noscript>.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from kco_emulator.markets import alpha3
from kco_emulator.shipping import lines_paid
from kco_emulator.store import StoredOrder
from kco_emulator.widget_text import widget_text

MERCHANT_NAME = "KCO emulator demo merchant"


def _config(order: StoredOrder, base_url: str) -> dict[str, Any]:
    """The `config` the snippet's inline script hands to the bootstrap, with the keys of a real snippet."""
    fields = order.fields
    return {
        "ORDER_URL": f"{base_url}/widget/orders/{order.order_id}",
        "AUTH_HEADER": f"KlarnaCheckout {order.widget_token}",
        "LOCALE": fields["locale"],
        "ORDER_STATUS": order.status,
        "MERCHANT_NAME": MERCHANT_NAME,
        "GUI_OPTIONS": list((fields.get("gui") or {}).get("options", [])),
        "ALLOW_SEPARATE_SHIPPING_ADDRESS": bool(
            (fields.get("options") or {}).get("allow_separate_shipping_address", False)),
        "PURCHASE_COUNTRY": alpha3(fields["purchase_country"]),  # lower-case alpha-3, e.g. "swe"
        "PURCHASE_CURRENCY": fields["purchase_currency"],
        "TESTDRIVE": True,
        "BOOTSTRAP_SRC": f"{base_url}/widget/bootstrap.js",
        "CLIENT_EVENT_HOST": base_url,
    }


def _loader(config: dict[str, Any], then: str = "") -> str:
    """The inline script: install the `window._klarnaCheckout` queue stub with `.config`, load BOOTSTRAP_SRC,
    then run `then`."""
    # `</` is escaped so that no value can close the <script> element early.
    config_json = json.dumps(config).replace("</", "<\\/")
    return (
        '<script type="text/javascript">/* <![CDATA[ */'
        "(function(w, k, i, d, n, c) {"
        "w[k] = w[k] || function () { (w[k].q = w[k].q || []).push(arguments); };"
        f"var config = {config_json};"
        "config.container = d.getElementById(i);"
        "w[k].config = config;"
        "n = d.createElement('script'); c = d.getElementById(i);"
        "n.async = true; n.src = config.BOOTSTRAP_SRC; c.appendChild(n);"
        "w.reloadCheckoutHandler = function () { w.location.reload(); };"
        f"{then}"
        "})(this, '_klarnaCheckout', 'klarna-checkout-container', document);"
        "/* ]]> */</script>"
    )


def checkout_snippet(order: StoredOrder, base_url: str) -> str:
    """The html_snippet of an open order, built like the real one (kco-rules: html-snippet)."""
    # The fallback page appears when the bootstrap has not rendered the iframe after 5 s
    # (kco-rules: html-snippet).
    fallback = ("w.setTimeout(function () { var p = d.getElementById('klarna-unsupported-page');"
                " if (p && c.isConnected && !c.querySelector('iframe')) { p.style.display = 'block'; } },"
                " 5000);")
    return (
        '<div id="klarna-checkout-container" style="overflow: hidden;">'
        '<div id="klarna-unsupported-page" style="display: none;">'
        '<h1>Something went wrong</h1><p>The checkout did not load.</p>'
        '<button type="button" onclick="reloadCheckoutHandler()">Reload</button></div>'
        f"{_loader(_config(order, base_url), then=fallback)}"
        '<noscript>Please <a href="https://enable-javascript.com">enable JavaScript</a>.</noscript>'
        "</div>"
    )


def confirmation_snippet(order: StoredOrder, base_url: str) -> str:
    """What read returns after completion: a confirmation to show the shopper (kco-rules: order-status). Its
    script loads the bootstrap too, which hands queued calls the `api`, writes each amount in the order's
    locale (`Intl.NumberFormat`, as the widget does) and fires load_confirmation (kco-rules: widget-events);
    the emulator renders the confirmation in the snippet, not in an iframe. Its words are in the order's
    language (widget_text)."""
    fields = order.fields
    text = widget_text(fields["locale"])
    currency = fields["purchase_currency"]
    lines, total = lines_paid(order)
    rows = "".join(
        f"<li>{escape(str(line.get('quantity')))} × {escape(str(line.get('name')))}: "
        f"{_amount(line.get('total_amount', 0), currency)}</li>"
        for line in lines
    )
    return (
        '<div id="klarna-checkout-container" style="overflow: hidden;" data-kco-confirmation>'
        f"<h2>{escape(text['thanks'])}</h2>"
        f"<p>{escape(text['confirmed'] % order.order_id)}</p>"
        f"<ul>{rows}</ul>"
        f"<p>{escape(text['total'])}: <span data-kco-confirmation-total>{_amount(total, currency)}</span></p>"
        f"{_loader(_config(order, base_url))}"
        "</div>"
    )


def _amount(minor_units: int, currency: str) -> str:
    """An amount the bootstrap writes in the order's locale; until then, or without JavaScript, plainly."""
    # All currencies of the core markets have two decimals (kco-rules: markets).
    sign = "-" if minor_units < 0 else ""
    plain = f"{sign}{abs(minor_units) // 100}.{abs(minor_units) % 100:02d} {currency}"
    return f'<data value="{minor_units}" data-kco-amount>{escape(plain)}</data>'
