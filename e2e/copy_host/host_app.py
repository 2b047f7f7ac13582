"""A two-product shop on Kustom Checkout using only the files docs/adapt-to-your-shop.md lists, and Flask."""
import os

from flask import Flask, abort, redirect, render_template, request, session

from kco.checkout import Action, CheckoutSync, Outcome
from kco.client import ClientConfig, KCOClient
from kco.markets import get_market
from kco.order_lines import CartLine, build_order

PRODUCTS = {"candle": ("Beeswax candle", {"SEK": 12900, "EUR": 1190}),  # unit prices with VAT, per currency
            "soap": ("Olive oil soap", {"SEK": 5900, "EUR": 550})}
MARKETS = {country: get_market(country) for country in ("SE", "DE")}  # the markets these prices are for
ERRORS = {Action.COMPLETED: (409, {"code": "purchase_completed", "message": "You have paid already."}),
          Action.FAILED: (502, {"code": "kco_error", "message": "Please try that again."})}
sync = CheckoutSync(KCOClient(config := ClientConfig.from_env(os.environ)))
app = Flask(__name__)
app.secret_key = os.environ["SECRET_KEY"]
app.jinja_env.globals["timeout_ms"] = round(8000 * (config.connect_timeout + config.read_timeout)) + 3000

def cart_and_order() -> tuple[dict, dict | None]:
    """The session's cart as kco-sync.js shows it, and the KCO order it calls for (None when empty)."""
    market = MARKETS[session.get("country", "SE")]
    lines = [CartLine(sku, PRODUCTS[sku][0], n, PRODUCTS[sku][1][market.currency], market.vat_rate)
             for sku, n in session.setdefault("cart", {"candle": 1, "soap": 1}).items()]
    order = {"purchase_country": market.country, "purchase_currency": market.currency,
             "locale": market.default_locale, **build_order(lines, market).as_kco()}
    cart = dict(order, items=[{**line, "sku": line["reference"]} for line in order["order_lines"]],
                country=market.country, currency=market.currency, locales=market.locales, shipping=None)
    return cart, order if lines else None

def create_extras() -> dict:
    urls = {"terms": "static/terms.html", "checkout": "", "confirmation": "confirmation",
            "push": "kco/push?order_id={checkout.order.id}"}  # KCO fills in the order id
    return {"merchant_urls": {name: request.host_url + path for name, path in urls.items()}}

def answer(outcome: Outcome) -> tuple[dict, int]:  # the JSON contract in kco-sync.js's header
    session["order_id"], session["kco_fingerprint"] = outcome.order_id, outcome.fingerprint
    cart, order = cart_and_order()
    body = {"cart": cart, "order": order and {"order_id": outcome.order_id, "status": "checkout_incomplete"}}
    if outcome.action is Action.CREATED:
        body["html_snippet"] = outcome.html_snippet  # the page shows the new order's widget
    status, error = ERRORS.get(outcome.action, (200, None))
    return ({**body, "error": error, "redirect": "/confirmation"} if error else body), status

@app.get("/")
def checkout() -> object:
    outcome = sync.on_page_load(session.get("order_id"), cart_and_order()[1], create_extras)
    if outcome.action is Action.COMPLETED:
        return redirect("/confirmation")
    return render_template("checkout.html", answer=answer(outcome)[0], snippet=outcome.html_snippet,
                           markets=MARKETS.values())

@app.route("/api/cart", methods=["GET", "POST"])
@app.post("/api/market")
def change() -> tuple[dict, int]:  # GET: no KCO call; POST: the KCO order follows, without a read
    order_id, known = session.get("order_id"), session.get("kco_fingerprint")
    if request.method == "GET":
        return answer(Outcome(Action.UNCHANGED, order_id, None, known))
    wanted = request.get_json()
    if wanted.get("country") in MARKETS:
        session["country"] = wanted["country"]
    elif all(item["sku"] in PRODUCTS and item["quantity"] in range(100) for item in wanted.get("items", [0])):
        session["cart"] = {item["sku"]: item["quantity"] for item in wanted["items"] if item["quantity"] > 0}
    else:
        abort(400)
    return answer(sync.on_change(order_id, cart_and_order()[1], known, create_extras))

@app.get("/confirmation")
def confirmation() -> object:
    order = sync.client.read_order(session.get("order_id") or abort(404))
    if order["status"] != "checkout_complete":
        return redirect("/")
    session.clear()  # a fresh cart for the next purchase
    return f"<link rel=icon href=data:,><h1>Thank you for your order</h1>{order['html_snippet']}"

@app.post("/kco/push")
def push() -> tuple[str, int]:
    sync.client.acknowledge_order(request.args["order_id"])  # (kco-rules: push-and-acknowledge)
    return "", 200
