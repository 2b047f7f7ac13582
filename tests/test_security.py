"""Security: CSRF on every state-changing route, secrets never shown or logged, callback tokens, server-side
prices in callbacks, inert `<script>` in names and addresses, sessions kept apart, and the security headers
(a Content-Security-Policy that admits KCO's snippet origin and nothing more).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from harness.local_stack import shop_process
from harness.shop_client import ApiShopper, callback_url, kco_order, page_csrf_token
from kco_emulator.testing import KcoEmulator, ServerProcess
from shop.catalogue import PRODUCTS, Product
from shop.settings import Settings, SettingsError

CALLBACKS = ("push", "validation", "address_update", "country_change", "shipping_option_update")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
NONCE_META = re.compile(r'<meta name="csp-nonce" content="([^"]+)">')
SCRIPT = "<script>alert('kco-xss')</script>"
# A distinctive secret, so a scan cannot miss it or confuse it with anything else.
SECRET_KEY_MATERIAL = "kco_test_api_not-a-real-key-but-secret-7f1c9a"
SECRET_USERNAME = "K999999-never-shown-user"


# --- the in-process shop (tests/conftest.py's `app`) pointed at the running emulator ----------------------


def example_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?[^>]+>", "example", rule)


def test_every_state_changing_route_refuses_a_missing_or_wrong_csrf_token(app: Flask,
                                                                         client: FlaskClient) -> None:
    token = page_csrf_token(client)
    changing = [(rule.rule, method) for rule in app.url_map.iter_rules()
                for method in sorted((rule.methods or set()) - SAFE_METHODS)]
    assert ("/api/cart", "POST") in changing and ("/cart/add", "POST") in changing
    for path, method in changing:
        url = example_path(path)
        if path.startswith("/kco/callbacks/"):
            # No shopper session and so no CSRF token: the URL's token guards KCO's callbacks instead.
            answer = client.open(url, method=method, json={})
            assert answer.status_code == 403 and answer.json["error"]["code"] == "callback_forbidden", path
            continue
        for headers in ({}, {"X-CSRFToken": "wrong"}, {"X-CSRFToken": token + "x"}):
            answer = client.open(url, method=method, json={}, headers=headers)
            assert answer.status_code == 403, (path, method, headers)
            assert answer.json["error"]["code"] == "csrf_failed"
        # The form field works like the header; a wrong one is refused too.
        answer = client.open(url, method=method, data={"csrf_token": "wrong"})
        assert answer.status_code == 403 and answer.json["error"]["code"] == "csrf_failed"
    # With the session's token the same requests get past the check (proof the check is not just a wall).
    accepted = client.post("/api/cart", json={"items": []}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200


def test_the_csrf_token_of_another_session_is_refused(app: Flask, client: FlaskClient) -> None:
    other_token = page_csrf_token(app.test_client())
    page_csrf_token(client)
    answer = client.post("/api/cart", json={"items": []}, headers={"X-CSRFToken": other_token})
    assert answer.status_code == 403 and answer.json["error"]["code"] == "csrf_failed"


def test_a_product_name_with_a_script_is_shown_as_text_on_the_page_and_the_confirmation(
        served_app: str, monkeypatch: pytest.MonkeyPatch, emulator: KcoEmulator) -> None:
    prices = dict(PRODUCTS["mug-001"].prices)
    monkeypatch.setitem(PRODUCTS, "xss-007", Product("xss-007", f"Mug {SCRIPT}", prices))
    shopper = ApiShopper(served_app)
    assert shopper.add_to_cart("xss-007").status_code == 303
    checkout = shopper.open_checkout().text
    assert "Mug &lt;script&gt;alert(&#39;kco-xss&#39;)&lt;/script&gt;" in checkout
    order_id = shopper.order_id()
    assert kco_order(emulator, order_id)["order_lines"][0]["name"] == f"Mug {SCRIPT}"
    assert emulator.complete(order_id)["result"] == "completed"
    confirmation = shopper.get(f"/confirmation?order_id={order_id}")
    assert confirmation.status_code == 200 and order_id in confirmation.text
    for text in (checkout, shopper.get("/").text, shopper.http.get(shopper.url("/api/cart")).text,
                 confirmation.text):
        assert SCRIPT not in text


# --- over real HTTP -----------------------------------------------------------------------------------------

def test_an_address_with_a_script_never_runs_where_the_shop_shows_anything(
        shopper: ApiShopper, emulator: KcoEmulator) -> None:
    order_id = shopper.start_checkout({"mug-001": 1})
    address = {"given_name": SCRIPT, "family_name": f"Doe {SCRIPT}", "email": "x@example.com",
               "street_address": SCRIPT, "postal_code": "12345", "city": SCRIPT, "country": "SE"}
    assert emulator.enter_address(order_id, address)["result"] == "updated"
    assert kco_order(emulator, order_id)["billing_address"]["given_name"] == SCRIPT
    seen = [shopper.open_checkout().text, shopper.http.get(shopper.url("/api/cart")).text]
    assert emulator.complete(order_id, billing_address=address)["result"] == "completed"
    seen += [shopper.get(f"/confirmation?order_id={order_id}").text, shopper.get("/").text]
    for text in seen:
        assert SCRIPT not in text and "kco-xss" not in text


def test_one_session_cannot_see_another_sessions_order_or_confirmation(
        shopper: ApiShopper, shop_server: ServerProcess, emulator: KcoEmulator) -> None:
    order_id = shopper.start_checkout({"tee-002": 1})
    stranger = ApiShopper(shop_server.url)
    stranger.get("/")
    assert stranger.get(f"/confirmation?order_id={order_id}").status_code == 404
    assert emulator.complete(order_id)["result"] == "completed"
    refused = stranger.get(f"/confirmation?order_id={order_id}", headers={"Accept": "application/json"})
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    assert stranger.cart()["order"] is None and stranger.cart()["cart"]["items"] == []
    assert order_id not in stranger.open_checkout().text
    assert shopper.get(f"/confirmation?order_id={order_id}").status_code == 200


def test_callback_tokens_are_bound_to_their_order(shopper: ApiShopper, shop_server: ServerProcess,
                                                  emulator: KcoEmulator) -> None:
    # test_shop_callbacks covers a missing, a wrong and another order's token on this order's URL; here the
    # other way round: this order's valid token sent for another order id, and an unknown order id.
    order_id = shopper.start_checkout({"mug-001": 1})
    other = ApiShopper(shop_server.url)
    other_id = other.start_checkout({"mug-001": 1})
    for name in CALLBACKS:
        url = callback_url(emulator, order_id, name)
        for tampered in (url.replace(order_id, other_id), url.replace(order_id, "no-such-order")):
            answer = requests.post(tampered, json={"billing_address": {"country": "DE"}}, timeout=15)
            assert answer.status_code == 403 and answer.json()["error"]["code"] == "callback_forbidden"
    assert shopper.cart()["cart"]["country"] == "SE" and other.cart()["cart"]["country"] == "SE"


def test_amounts_in_callback_bodies_are_ignored_for_the_shops_prices(
        shopper: ApiShopper, emulator: KcoEmulator) -> None:
    order_id = shopper.start_checkout({"tee-002": 2})
    order = kco_order(emulator, order_id)
    cheap_lines = [{**line, "unit_price": 1, "total_amount": line["quantity"],
                    "total_tax_amount": 0, "tax_rate": 0} for line in order["order_lines"]]
    tampered = {**order, "order_lines": cheap_lines, "order_amount": sum(line["total_amount"]
                                                                         for line in cheap_lines),
                "order_tax_amount": 0}
    option = requests.post(callback_url(emulator, order_id, "shipping_option_update"),
                           json={**tampered, "selected_shipping_option": {"id": "express", "price": 0}},
                           timeout=15)
    assert option.status_code == 200
    lines = {line["reference"]: line for line in option.json()["order_lines"]}
    assert (lines["tee-002"]["unit_price"], lines["express"]["unit_price"]) == (34900, 12900)
    assert option.json()["order_amount"] == 2 * 34900 + 12900
    country = requests.post(callback_url(emulator, order_id, "country_change"),
                            json={**tampered, "billing_address": {"country": "NO"}}, timeout=15)
    assert country.status_code == 200 and country.json()["order_amount"] == 2 * 35900 + 13900
    # Validation compares what KCO is about to charge with the shop's prices: cheap lines are turned away.
    validation = requests.post(callback_url(emulator, order_id, "validation"), json=tampered, timeout=15,
                               allow_redirects=False)
    assert validation.status_code == 303 and "error=cart_changed" in validation.headers["Location"]


# --- headers ------------------------------------------------------------------------------------------------

def policy(response: requests.Response) -> dict[str, list[str]]:
    directives = {}
    for directive in response.headers["Content-Security-Policy"].split(";"):
        name, *values = directive.split()
        directives[name] = values
    return directives


def test_pages_and_answers_carry_the_security_headers(shopper: ApiShopper) -> None:
    shopper.add_to_cart("mug-001")
    page = shopper.open_checkout()
    for response in (page, shopper.get("/"), shopper.http.get(shopper.url("/api/cart")),
                     shopper.set_cart({"mug-001": 2}), shopper.get("/no-such-page")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "Content-Security-Policy" in response.headers
        assert response.headers["Cache-Control"] == "no-store"  # no stale checkout from the back button


def test_answers_that_are_no_page_get_the_policy_that_allows_nothing(shopper: ApiShopper) -> None:
    shopper.add_to_cart("mug-001")
    page = shopper.open_checkout()
    assert "script-src" in policy(page)
    for answer in (shopper.http.get(shopper.url("/api/cart")), shopper.set_cart({"mug-001": 2})):
        rules = policy(answer)
        assert rules["default-src"] == ["'none'"] and rules["frame-ancestors"] == ["'none'"]
        assert "script-src" not in rules and "nonce" not in answer.headers["Content-Security-Policy"]


def test_the_policy_admits_the_snippet_origin_and_its_inline_script_by_nonce_and_nothing_more(
        shopper: ApiShopper, emulator_server: ServerProcess) -> None:
    shopper.add_to_cart("mug-001")
    page = shopper.open_checkout()
    rules = policy(page)
    nonce_meta = NONCE_META.search(page.text)
    assert nonce_meta
    nonce = nonce_meta.group(1)
    kco_origin = emulator_server.url
    # Where the snippet really loads from: its BOOTSTRAP_SRC (script) and ORDER_URL (iframe).
    bootstrap = re.search(r'"BOOTSTRAP_SRC": "([^"]+)"', page.text)
    frame = re.search(r'"ORDER_URL": "([^"]+)"', page.text)
    assert bootstrap and frame
    assert {origin(bootstrap.group(1)), origin(frame.group(1))} == {kco_origin}
    assert rules["default-src"] == ["'self'"]
    # The one inline handler admitted is the snippet's fallback reload button, by the hash of its text.
    handlers = set(re.findall(r'\bonclick="([^"]+)"', page.text))
    assert len(handlers) == 1
    handler_hash = base64.b64encode(hashlib.sha256(handlers.pop().encode()).digest()).decode()
    assert sorted(rules["script-src"]) == sorted(
        ["'self'", f"'nonce-{nonce}'", "'unsafe-hashes'", f"'sha256-{handler_hash}'", kco_origin])
    assert rules["frame-src"] == ["'self'", kco_origin]
    assert rules["connect-src"] == ["'self'", kco_origin]
    assert rules["object-src"] == ["'none'"] and rules["base-uri"] == ["'self'"]
    # Every <script> of the page is either the shop's own file or carries this response's nonce.
    for tag in re.findall(r"<script\b[^>]*>", page.text):
        assert f'nonce="{nonce}"' in tag or 'src="/static/' in tag, tag
    assert page.text.count(f'nonce="{nonce}"') >= 1
    # A new nonce for every response.
    assert NONCE_META.search(shopper.open_checkout().text).group(1) != nonce  # type: ignore[union-attr]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_snippet_origins_come_from_kco_snippet_origins_or_the_emulators_public_url(tmp_path: Path) -> None:
    base = {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "a-test-secret-key-of-at-least-32-bytes"}
    real = {**base, "KCO_API_URL": "", "KCO_ENVIRONMENT": "playground", "KCO_API_KEY": "kco_test_api_x",
            "PUBLIC_BASE_URL": "https://shop.example.com"}
    with pytest.raises(SettingsError, match="KCO_SNIPPET_ORIGINS"):
        Settings.from_env(real)
    configured = Settings.from_env({**real,
                                    "KCO_SNIPPET_ORIGINS": "https://js.example.com https://x.example:8443/"})
    assert configured.snippet_origins == ("https://js.example.com", "https://x.example:8443")
    with pytest.raises(SettingsError, match="KCO_SNIPPET_ORIGINS"):
        Settings.from_env({**real, "KCO_SNIPPET_ORIGINS": "js.example.com"})
    emulator = {**base, "KCO_API_URL": "http://127.0.0.1:5001"}
    assert Settings.from_env(emulator).snippet_origins == ("http://127.0.0.1:5001",)
    public = Settings.from_env({**emulator, "KCO_EMULATOR_PUBLIC_URL": "http://localhost:6001/"})
    assert public.snippet_origins == ("http://localhost:6001",)


# --- secrets ------------------------------------------------------------------------------------------------

CREDENTIALS = {
    "api key": {"KCO_API_KEY": SECRET_KEY_MATERIAL, "KCO_USERNAME": "", "KCO_PASSWORD": ""},
    "username and password": {"KCO_USERNAME": SECRET_USERNAME, "KCO_PASSWORD": SECRET_KEY_MATERIAL,
                              "KCO_API_KEY": ""},
}


@pytest.fixture(scope="module", params=list(CREDENTIALS))
def secret_shop(request: pytest.FixtureRequest, emulator_server: ServerProcess,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A shop whose KCO credentials are distinctive (the emulator accepts any kco_test_api_ key)."""
    server = shop_process(emulator_server.url, port=0, env={
        "SECRET_KEY": "test-only-secret-of-the-secret-scan",
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("secret-shop")),
        **CREDENTIALS[request.param],
    })
    server.start()
    yield server
    server.stop()


def secret_spellings() -> list[str]:
    basic = base64.b64encode(f"{SECRET_USERNAME}:{SECRET_KEY_MATERIAL}".encode()).decode()
    return [SECRET_KEY_MATERIAL, basic, basic[:24], "S3cr3tNeverShown"]


def test_the_kco_password_or_api_key_never_appears_in_pages_answers_or_logs(
        secret_shop: ServerProcess, emulator: KcoEmulator) -> None:
    seen: list[requests.Response] = []
    shopper = ApiShopper(secret_shop.url)
    seen += [shopper.get("/"), shopper.add_to_cart("mug-001"), shopper.open_checkout()]
    seen += [shopper.http.get(shopper.url(path), timeout=15)
             for path in ("/api/cart", "/api/products", "/terms", "/no-such-page", "/static/js/kco-sync.js",
                          "/api/inspector")]
    seen += [shopper.set_cart({"mug-001": 2}), shopper.set_market("DE"), shopper.set_market("XX"),
             shopper.post_json("/api/cart", None, raw="{not json"), shopper.set_cart({"nope": 1}),
             shopper.post_json("/api/cart", {"items": []}, csrf="forged")]
    # KCO failures of every kind, each answered to the shopper.
    emulator.fail_next("update", status=401)
    seen.append(shopper.set_cart({"mug-001": 3}))
    emulator.disconnect_next("update")
    seen.append(shopper.set_cart({"mug-001": 4}))
    emulator.fail_next("read", status=500)
    seen.append(shopper.open_checkout())
    emulator.fail_next("create", status=502, body="html")
    seen.append(ApiShopper(secret_shop.url).add_to_cart("tee-002"))
    newcomer = ApiShopper(secret_shop.url)
    newcomer.add_to_cart("tee-002")
    emulator.fail_next("create", status=401)
    seen.append(newcomer.open_checkout())
    # The purchase, its confirmation and push, and callbacks with bad tokens.
    order_id = shopper.order_id()
    push = callback_url(emulator, order_id, "push")
    seen.append(requests.post(push.split("&token=")[0] + "&token=bad", timeout=15))
    assert emulator.complete(order_id)["result"] == "completed"
    seen += [shopper.get(f"/confirmation?order_id={order_id}"),
             requests.post(push, data=b"", timeout=15), shopper.get(f"/confirmation?order_id={order_id}")]
    emulator.fail_next("om_read", status=503, times=3)
    seen.append(requests.post(push, data=b"", timeout=15))

    assert any(response.status_code >= 400 for response in seen)
    texts = [response.text + "\n" + "\n".join(f"{name}: {value}" for name, value in response.headers.items())
             for response in seen]
    logs = "".join(secret_shop.output)
    assert "KCO" in logs  # the log is really being read
    for secret in secret_spellings():
        for text in texts:
            assert secret not in text
        assert secret not in logs
