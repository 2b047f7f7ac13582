"""The lean baseline for bench/bench_cpu_ratio.py: only the essential work of one cart change, nothing else.

Read the session, parse the JSON, build the order with kco's integer math, one `requests.Session` POST to
KCO (create the first time, update after), save the session. No database, no checks, no CSRF, no translations:
what the shop spends on top of this is its price for safety and teaching. Same server and session store as
the shop (werkzeug threaded; files under INSTANCE_PATH, or Redis with REDIS_URL).

    .venv/bin/python -m bench.lean_app --port 0
"""

from __future__ import annotations

import argparse
import json
import os

import requests
from cachelib.file import FileSystemCache
from flask import Flask, request, session
from flask_session import Session
from werkzeug.serving import make_server

from kco.markets import MARKETS
from kco.order_lines import CartLine, build_order
from shop.catalogue import PRODUCTS

MERCHANT_URLS = {name: f"http://127.0.0.1:9/{name}" for name in ("terms", "checkout", "confirmation", "push")}


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=os.environ["SECRET_KEY"], SESSION_PERMANENT=True)
    if os.environ.get("REDIS_URL"):
        import redis

        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=redis.Redis.from_url(os.environ["REDIS_URL"]))
    else:
        folder = os.path.join(os.environ["INSTANCE_PATH"], "sessions")
        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=FileSystemCache(folder, threshold=0))
    Session(app)
    kco = requests.Session()
    kco.auth = (os.environ.get("KCO_USERNAME", "demo"), os.environ.get("KCO_PASSWORD", "demo"))
    base = os.environ["KCO_API_URL"]

    @app.post("/api/cart")
    def replace_cart() -> dict[str, object]:
        items = {item["sku"]: int(item["quantity"]) for item in request.get_json()["items"]}
        market = MARKETS["SE"]
        lines = [CartLine(sku, PRODUCTS[sku].name, quantity, PRODUCTS[sku].unit_price(market.currency),
                          market.vat_rate) for sku, quantity in items.items() if quantity > 0]
        body = {"purchase_country": "SE", "purchase_currency": market.currency, "locale": "sv-SE",
                **build_order(lines, market).as_kco()}
        order_id = session.get("order_id")
        url = f"{base}/checkout/v3/orders" + (f"/{order_id}" if order_id else "")
        sent = body if order_id else {**body, "merchant_urls": MERCHANT_URLS}
        answer = kco.post(url, data=json.dumps(sent), headers={"Content-Type": "application/json"},
                          timeout=(3.05, 10))
        answer.raise_for_status()
        session["order_id"] = order_id or answer.json()["order_id"]
        session["cart"] = items
        return {"order_amount": body["order_amount"]}

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = make_server(args.host, args.port, create_app(), threaded=True)
    print(f"Lean app listening on http://{args.host}:{server.port}", flush=True)
    server.serve_forever()
