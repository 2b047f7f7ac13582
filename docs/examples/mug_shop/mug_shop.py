"""A one-product shop on Kustom Checkout: the smallest merchant whose tests use the kco_emulator plugin."""

import os
from collections.abc import Mapping

from flask import Flask, request

from kco.client import ClientConfig, KCOClient
from kco.errors import KCOError
from kco.markets import get_market
from kco.order_lines import CartLine, build_order

SWEDEN = get_market("SE")
MUG = CartLine(reference="mug", name="Coffee mug", quantity=1, unit_price=14900, tax_rate=SWEDEN.vat_rate)
# merchant_urls, relative to the shop; KCO writes the order's id in place of {checkout.order.id}.
PATHS = {
    "terms": "terms",
    "checkout": "checkout",
    "confirmation": "confirmation?order_id={checkout.order.id}",
    "push": "push?order_id={checkout.order.id}",
}


def create_app(environ: Mapping[str, str] = os.environ) -> Flask:
    app = Flask(__name__)
    # KCO_API_URL; against the local emulator no credentials are needed (its demo ones go).
    kco = KCOClient(ClientConfig.from_env(environ))

    @app.get("/checkout")
    def checkout() -> tuple[str, int]:
        """A new KCO order for one mug, and its widget."""
        try:
            order = kco.create_order({
                "purchase_country": SWEDEN.country,
                "purchase_currency": SWEDEN.currency,
                "locale": SWEDEN.default_locale,
                **build_order([MUG], SWEDEN).as_kco(),
                "merchant_urls": {name: request.host_url + path for name, path in PATHS.items()},
            })
        except KCOError:
            return "<h1>The checkout is not available, please try again</h1>", 503
        return f"<h1>Your mug</h1>{order['html_snippet']}", 200

    @app.get("/confirmation")
    def confirmation() -> str:
        order = kco.read_order(request.args["order_id"])
        return f"<h1>Thank you for your order</h1>{order['html_snippet']}"

    @app.post("/push")
    def push() -> tuple[str, int]:
        """KCO tells the shop the order is placed; acknowledging it stops the pushes."""
        kco.acknowledge_order(request.args["order_id"])
        return "", 204

    return app
