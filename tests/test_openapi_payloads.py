"""Bodies built by `kco.order_lines` validate against the official Checkout v3 OpenAPI schema
(checkout-v3-openapi.yml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kco.markets import MARKETS, Market
from kco.order_lines import CartLine, ShippingFee, build_order
from tests import openapi_spec
from tests.openapi_spec import (
    needs_spec,
    require_spec,
    validate_create_request,
    validate_order_response,
    validate_update_request,
)
from tests.test_order_lines import carts

SPEC_PROPERTY_EXAMPLES = 60

MERCHANT_URLS = {
    "terms": "https://shop.example/terms",
    "checkout": "https://shop.example/checkout?order_id={checkout.order.id}",
    "confirmation": "https://shop.example/confirmation?order_id={checkout.order.id}",
    "push": "https://shop.example/kco/push?order_id={checkout.order.id}",
}


def market_fields(market: Market, locale: str | None = None) -> dict[str, Any]:
    return {"purchase_country": market.country, "purchase_currency": market.currency,
            "locale": locale or market.default_locale}


def sample_totals(market: Market) -> dict[str, Any]:
    rate = market.vat_rate
    lines = [CartLine("TS-1", "T-shirt", 2, 24900, rate),
             CartLine("MUG", "Mug", 1, 9900, rate, total_discount_amount=1000),
             CartLine("WELCOME", "Welcome discount", 1, -2000, rate, type="discount")]
    shipping = ShippingFee("Standard shipping", 4900, rate)
    return build_order(lines, market, shipping=shipping, sales_tax_rate=825 if rate == 0 else 0).as_kco()


@needs_spec
@pytest.mark.parametrize("market", MARKETS.values(), ids=list(MARKETS))
def test_create_body_for_every_market_and_locale_matches_the_spec(market):
    for locale in market.locales:
        validate_create_request({**market_fields(market, locale), **sample_totals(market),
                                 "merchant_urls": MERCHANT_URLS, "merchant_reference1": "cart-42"})


@needs_spec
@pytest.mark.parametrize("market", MARKETS.values(), ids=list(MARKETS))
def test_update_body_for_every_market_matches_the_spec(market):
    validate_update_request({**market_fields(market), **sample_totals(market)})


@needs_spec
@settings(max_examples=SPEC_PROPERTY_EXAMPLES, deadline=None)
@given(data=st.data(), market=st.sampled_from(list(MARKETS.values())))
def test_random_carts_give_create_and_update_bodies_the_spec_accepts(data, market):
    lines, shipping, sales_tax_rate = data.draw(carts(market))
    totals = build_order(lines, market, shipping=shipping, sales_tax_rate=sales_tax_rate).as_kco()
    validate_create_request({**market_fields(market), **totals, "merchant_urls": MERCHANT_URLS})
    validate_update_request(totals)


@needs_spec
def test_a_partial_update_is_valid_because_kco_merges_it():
    validate_update_request({"locale": "en-SE"})


@needs_spec
def test_create_body_missing_required_fields_is_rejected_with_their_names():
    with pytest.raises(AssertionError) as raised:
        validate_create_request({"purchase_country": "SE"})
    for field in ("purchase_currency", "locale", "order_amount", "order_tax_amount", "order_lines"):
        assert f"'{field}' is a required property" in str(raised.value)


@needs_spec
def test_float_amount_is_rejected_naming_its_path():
    body = {**market_fields(MARKETS["SE"]), **sample_totals(MARKETS["SE"])}
    body["order_lines"][0]["unit_price"] = 24900.0
    with pytest.raises(AssertionError, match=r"\$\.order_lines\[0\]\.unit_price: 24900\.0 is not of type"):
        validate_create_request(body)


@needs_spec
def test_read_only_fields_are_not_accepted_in_a_request():
    body = {**market_fields(MARKETS["SE"]), **sample_totals(MARKETS["SE"]), "order_id": "abc"}
    with pytest.raises(AssertionError, match=r"\$\.order_id: Tried to write read-only property"):
        validate_create_request(body)
    with pytest.raises(AssertionError, match=r"\$\.html_snippet"):
        validate_update_request({"html_snippet": "<div></div>"})


@needs_spec
def test_a_malformed_locale_is_rejected():
    with pytest.raises(AssertionError, match=r"\$\.locale"):
        validate_update_request({"locale": "sv_SE"})


@needs_spec
def test_an_order_response_with_read_only_fields_is_valid():
    market = MARKETS["GB"]
    validate_order_response({
        "order_id": "8cf27b55-53e8-6aba-9fb4-7c692e56ddee", "status": "checkout_incomplete",
        **market_fields(market), **sample_totals(market), "merchant_urls": MERCHANT_URLS,
        "html_snippet": "<div id=\"klarna-checkout-container\"></div>", "started_at": "2026-11-26T22:00:00Z",
        "billing_address": {"country": "gb"}, "customer": {},
    })


@needs_spec
def test_an_order_response_with_a_string_amount_is_rejected():
    market = MARKETS["GB"]
    with pytest.raises(AssertionError, match=r"\$\.order_amount"):
        validate_order_response({**market_fields(market), **sample_totals(market), "order_amount": "100.00"})


def test_a_missing_spec_skips_locally_saying_where_to_get_it(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("KCO_REFERENCE_DIR", str(tmp_path / "nowhere"))
    monkeypatch.delenv("CI", raising=False)
    assert not openapi_spec.spec_available()
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_spec()
    reason = str(skipped.value)
    assert str(tmp_path / "nowhere") in reason and openapi_spec.SPEC_SOURCE in reason
    assert "KCO_REFERENCE_DIR" in reason


def test_a_missing_spec_fails_in_ci(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("KCO_REFERENCE_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="KCO OpenAPI spec not found"):
        require_spec()


def test_reference_folder_defaults_to_shared_reference_next_to_the_repository(monkeypatch):
    monkeypatch.delenv("KCO_REFERENCE_DIR", raising=False)
    repository = Path(openapi_spec.__file__).resolve().parents[1]
    assert openapi_spec.reference_dir() == repository.parent / "shared" / "reference"
