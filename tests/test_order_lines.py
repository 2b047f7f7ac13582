"""Money math for KCO order lines, and the checker that judges orders the way KCO does
(kco-rules: order-line-fields, kco-rules: line-total, kco-rules: line-tax, kco-rules: order-amount-sum,
kco-rules: order-tax-sum, kco-rules: us-sales-tax)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kco.markets import MARKETS, Market
from kco.order_lines import (
    MAX_AMOUNT,
    CartLine,
    ShippingFee,
    build_order,
    first_violation,
    line_tax,
    sales_tax,
)

PROPERTY_EXAMPLES_PER_MARKET = 40
LINE_TAX_EXAMPLES = 500


def order_of(*lines: dict[str, Any], order_amount: int | None = None, order_tax_amount: int | None = None
             ) -> dict[str, Any]:
    return {
        "order_lines": list(lines),
        "order_amount": sum(line["total_amount"] for line in lines) if order_amount is None else order_amount,
        "order_tax_amount": (
            sum(line["total_tax_amount"] for line in lines) if order_tax_amount is None else order_tax_amount
        ),
    }


def kco_line(**overrides: Any) -> dict[str, Any]:
    # The example of checkout-v3-openapi.yml's order_line (kco-rules: line-tax): 50000 incl. 10 % VAT contains
    # 4545 tax.
    line = {"type": "physical", "reference": "19-402", "name": "Red T-Shirt", "quantity": 5,
            "unit_price": 10000, "tax_rate": 1000, "total_amount": 50000, "total_discount_amount": 0,
            "total_tax_amount": 4545}
    line.update(overrides)
    return line


# --- line_tax --------------------------------------------------------------------------------------------

def test_line_tax_is_the_tax_inside_a_vat_included_price():
    # kco-rules: line-tax: 50000 at 10 % contains 4545 tax, not 5000.
    assert line_tax(50000, 1000) == 4545
    assert line_tax(12500, 2500) == 2500
    assert line_tax(10000, 0) == 0
    assert line_tax(0, 2500) == 0


def test_line_tax_rounds_the_net_amount_half_away_from_zero():
    # 1 at 25 %: net 0.8 -> 1, tax 0. 3 at 20 %: net 2.5 -> 3, tax 0. 9 at 20 %: net 7.5 -> 8, tax 1.
    assert line_tax(1, 2500) == 0
    assert line_tax(3, 2000) == 0
    assert line_tax(9, 2000) == 1


def test_line_tax_of_a_discount_is_the_negative_mirror():
    assert line_tax(-50000, 1000) == -4545
    assert line_tax(-9, 2000) == -1


@settings(max_examples=LINE_TAX_EXAMPLES)
@given(total=st.integers(-MAX_AMOUNT, MAX_AMOUNT), rate=st.integers(0, 10000))
def test_line_tax_is_within_half_a_minor_unit_of_the_exact_tax(total, rate):
    exact = total - Fraction(total * 10000, 10000 + rate)
    tax = line_tax(total, rate)
    assert type(tax) is int
    assert abs(tax - exact) <= Fraction(1, 2)
    assert line_tax(-total, rate) == -tax


def test_sales_tax_rounds_half_up_and_never_goes_negative():
    assert sales_tax(1000, 825) == 83  # 82.5 -> 83
    assert sales_tax(1000, 824) == 82  # 82.4 -> 82
    assert sales_tax(0, 825) == 0
    assert sales_tax(-500, 825) == 0


# --- first_violation: the examples of kco-rules: line-tax and its neighbours ------------------------------

def test_checker_accepts_the_documented_example_of_tax_inside_the_price():
    assert first_violation(order_of(kco_line())) is None


def test_checker_rejects_tax_added_on_top_and_names_the_line():
    violation = first_violation(order_of(kco_line(total_tax_amount=5000)))
    assert violation == "Bad value: order_lines[0].total_tax_amount"


@pytest.mark.parametrize(("tax", "accepted"), [(4544, False), (4545, True), (4546, True), (4547, False)])
def test_checker_allows_line_tax_within_plus_or_minus_one_of_the_exact_value(tax, accepted):
    # Exact value 4545.45...: 4546 is 0.55 away (fine), 4544 is 1.45 away (rejected).
    violation = first_violation(order_of(kco_line(total_tax_amount=tax)))
    assert (violation is None) is accepted


@pytest.mark.parametrize(("tax", "accepted"), [(2498, False), (2499, True), (2500, True), (2501, True),
                                             (2502, False)])
def test_checker_allows_line_tax_one_either_side_of_an_exact_integer_tax(tax, accepted):
    # 12500 at 25 % contains exactly 2500: 2499 and 2501 are 1 away, at the edge of the tolerance.
    line = kco_line(quantity=1, unit_price=12500, tax_rate=2500, total_amount=12500, total_tax_amount=tax)
    assert (first_violation(order_of(line)) is None) is accepted


def test_checker_rejects_a_negative_discount_even_when_the_total_includes_it():
    # total_amount = 5 * 10000 - (-1) adds up, but KCO takes no negative total_discount_amount.
    line = kco_line(total_discount_amount=-1, total_amount=50001)
    assert first_violation(order_of(line)) == "Bad value: order_lines[0].total_discount_amount"


def test_checker_rejects_an_order_tax_that_is_not_the_sum_of_line_taxes():
    # The 666 vs 700 case (kco-rules: order-tax-sum, observed): lines sum to 700, order says 666.
    lines = [kco_line(reference=f"r{i}", quantity=1, unit_price=1400, total_amount=1400, tax_rate=2500,
                      total_tax_amount=280) for i in range(2)]
    lines.append(kco_line(reference="r2", quantity=1, unit_price=700, total_amount=700, tax_rate=2500,
                          total_tax_amount=140))
    assert first_violation(order_of(*lines)) is None
    assert sum(line["total_tax_amount"] for line in lines) == 700
    assert first_violation(order_of(*lines, order_tax_amount=666)) == "Bad value: order_tax_amount"


def test_checker_rejects_an_order_amount_that_is_not_the_sum_of_line_totals():
    assert first_violation(order_of(kco_line(), order_amount=50001)) == "Bad value: order_amount"


def test_checker_rejects_a_line_total_that_ignores_the_discount():
    line = kco_line(total_discount_amount=5000)
    assert first_violation(order_of(line)) == "Bad value: order_lines[0].total_amount"
    fixed = kco_line(total_discount_amount=5000, total_amount=45000, total_tax_amount=line_tax(45000, 1000))
    assert first_violation(order_of(fixed)) is None


def test_checker_accepts_a_negative_discount_line_with_negative_tax():
    discount = kco_line(type="discount", name="Promo", quantity=1, unit_price=-10000, total_amount=-10000,
                        total_tax_amount=-909)
    assert first_violation(order_of(kco_line(), discount)) is None


def test_checker_names_the_first_broken_line_by_index():
    lines = [kco_line(), kco_line(), kco_line(total_tax_amount=0), kco_line(total_amount=1)]
    assert first_violation(order_of(*lines)) == "Bad value: order_lines[2].total_tax_amount"


@pytest.mark.parametrize(("overrides", "field"), [
    ({"quantity": True}, "quantity"),
    ({"unit_price": 10000.0}, "unit_price"),
    ({"tax_rate": "1000"}, "tax_rate"),
    ({"total_tax_amount": None}, "total_tax_amount"),
    ({"total_discount_amount": 0.0}, "total_discount_amount"),
    ({"name": ""}, "name"),
    ({"name": "x" * 256}, "name"),
    ({"quantity": -1, "total_amount": -10000, "total_tax_amount": -909}, "quantity"),
    ({"tax_rate": 10001}, "tax_rate"),
    ({"tax_rate": -1}, "tax_rate"),
    ({"unit_price": MAX_AMOUNT + 1, "quantity": 1, "total_amount": MAX_AMOUNT + 1}, "unit_price"),
    ({"unit_price": 25_000_001, "quantity": 4, "total_amount": 100_000_004}, "total_amount"),
    ({"type": "fee"}, "type"),
    ({"reference": "r" * 256}, "reference"),
    ({"quantity_unit": "kilograms"}, "quantity_unit"),
])
def test_checker_names_the_line_field_that_breaks_a_kco_limit(overrides, field):
    order = order_of(kco_line(**overrides), order_amount=50000, order_tax_amount=4545)
    assert first_violation(order) == f"Bad value: order_lines[0].{field}"


@pytest.mark.parametrize("missing", ["name", "quantity", "unit_price", "tax_rate", "total_amount",
                                     "total_tax_amount"])
def test_checker_requires_every_required_line_field(missing):
    line = kco_line()
    del line[missing]
    assert first_violation(order_of(line, order_amount=50000, order_tax_amount=4545)) == (
        f"Bad value: order_lines[0].{missing}"
    )


@pytest.mark.parametrize(("order", "field"), [
    ({"order_tax_amount": 0, "order_lines": []}, "order_amount"),
    ({"order_amount": 0, "order_lines": []}, "order_tax_amount"),
    ({"order_amount": 0, "order_tax_amount": 0}, "order_lines"),
    ({"order_amount": False, "order_tax_amount": 0, "order_lines": []}, "order_amount"),
    ({"order_amount": -1, "order_tax_amount": 0, "order_lines": []}, "order_amount"),
    ({"order_amount": 0, "order_tax_amount": 0, "order_lines": {}}, "order_lines"),
    ({"purchase_country": "SWE", "order_amount": 0, "order_tax_amount": 0, "order_lines": []},
     "purchase_country"),
    ({"purchase_currency": "kr", "order_amount": 0, "order_tax_amount": 0, "order_lines": []},
     "purchase_currency"),
    ({"locale": "sv_SE", "order_amount": 0, "order_tax_amount": 0, "order_lines": []}, "locale"),
])
def test_checker_names_the_order_field_that_is_missing_or_malformed(order, field):
    assert first_violation(order) == f"Bad value: {field}"


def test_checker_accepts_well_formed_country_currency_and_locale():
    order = {"purchase_country": "gb", "purchase_currency": "GBP", "locale": "en-GB", **order_of(kco_line())}
    assert first_violation(order) is None


def test_checker_allows_a_thousand_lines_but_not_more():
    line = kco_line(quantity=1, unit_price=100, total_amount=100, tax_rate=0, total_tax_amount=0)
    assert first_violation(order_of(*[line] * 1000)) is None
    assert first_violation(order_of(*[line] * 1001)) == "Bad value: order_lines"


def test_checker_counts_a_sales_tax_line_into_the_order_tax():
    # kco-rules: us-sales-tax: US product lines carry 0 tax, the tax is the total of one sales_tax line.
    product = kco_line(tax_rate=0, total_tax_amount=0)
    tax_line = kco_line(type="sales_tax", name="Sales Tax", quantity=1, unit_price=4125, total_amount=4125,
                        tax_rate=0, total_tax_amount=0)
    assert first_violation(order_of(product, tax_line, order_tax_amount=4125)) is None
    assert first_violation(order_of(product, tax_line, order_tax_amount=0)) == "Bad value: order_tax_amount"


# --- build_order ------------------------------------------------------------------------------------------

def test_vat_order_lines_carry_the_tax_inside_each_price():
    totals = build_order([CartLine("TS-1", "T-shirt", 2, 25000, 2500)], MARKETS["SE"])
    assert totals.as_kco() == {
        "order_lines": [{"type": "physical", "reference": "TS-1", "name": "T-shirt", "quantity": 2,
                         "unit_price": 25000, "tax_rate": 2500, "total_amount": 50000,
                         "total_discount_amount": 0, "total_tax_amount": 10000}],
        "order_amount": 50000,
        "order_tax_amount": 10000,
    }


def test_shipping_fee_and_discount_become_their_own_lines():
    totals = build_order(
        [CartLine("MUG", "Mug", 3, 1999, 1900, total_discount_amount=500),
         CartLine("WELCOME", "Welcome discount", 1, -1000, 1900, type="discount")],
        MARKETS["DE"],
        shipping=ShippingFee("DHL parcel", 495, 1900),
    )
    mug, discount, shipping = totals.order_lines
    assert mug["total_amount"] == 3 * 1999 - 500
    assert discount["type"] == "discount" and discount["total_amount"] == -1000
    assert discount["total_tax_amount"] == line_tax(-1000, 1900) < 0
    assert shipping["type"] == "shipping_fee" and shipping["total_amount"] == 495
    assert totals.order_amount == 5497 - 1000 + 495
    assert totals.order_tax_amount == sum(line["total_tax_amount"] for line in totals.order_lines)
    assert first_violation(totals.as_kco()) is None


def test_us_order_has_untaxed_lines_and_one_sales_tax_line():
    totals = build_order(
        [CartLine("CAP", "Cap", 2, 2500, 0), CartLine("SALE", "Sale", 1, -1000, 0, type="discount")],
        MARKETS["US"], shipping=ShippingFee("UPS Ground", 799, 0), sales_tax_rate=825,
    )
    *goods, shipping, tax_line = totals.order_lines
    assert all(line["total_tax_amount"] == 0 and line["tax_rate"] == 0 for line in totals.order_lines)
    # Taxable subtotal is goods after discounts (4000); shipping is not taxed: 4000 * 8.25 % = 330.
    assert tax_line == {"type": "sales_tax", "reference": "sales-tax", "name": "Sales Tax", "quantity": 1,
                        "unit_price": 330, "tax_rate": 0, "total_amount": 330, "total_discount_amount": 0,
                        "total_tax_amount": 0}
    assert totals.order_tax_amount == 330
    assert totals.order_amount == 4000 + 799 + 330
    assert first_violation(totals.as_kco()) is None


def test_us_order_keeps_a_zero_sales_tax_line_when_no_rate_is_known_yet():
    totals = build_order([CartLine("CAP", "Cap", 1, 2500, 0)], MARKETS["US"])
    assert totals.order_lines[-1]["type"] == "sales_tax"
    assert totals.order_lines[-1]["total_amount"] == 0
    assert (totals.order_amount, totals.order_tax_amount) == (2500, 0)


def test_us_order_refuses_a_line_with_vat():
    with pytest.raises(ValueError, match="tax_rate 0"):
        build_order([CartLine("CAP", "Cap", 1, 2500, 2500)], MARKETS["US"])


@pytest.mark.parametrize("amount", [1, 2, 3])
def test_us_order_refuses_a_shipping_fee_with_vat_even_when_its_tax_rounds_to_nothing(amount):
    # 1 to 3 minor units at 20 % contain no whole unit of tax, so the checker alone would let them pass.
    with pytest.raises(ValueError, match="the shipping fee must have tax_rate 0"):
        build_order([CartLine("CAP", "Cap", 1, 2500, 0)], MARKETS["US"],
                    shipping=ShippingFee("Post", amount, 2000))


def test_vat_order_refuses_a_sales_tax_rate():
    with pytest.raises(ValueError, match="sales_tax_rate"):
        build_order([CartLine("CAP", "Cap", 1, 2500, 2500)], MARKETS["SE"], sales_tax_rate=700)


def test_build_order_refuses_a_line_total_above_the_kco_maximum():
    with pytest.raises(ValueError, match=r"Bad value: order_lines\[0\].total_amount"):
        build_order([CartLine("GOLD", "Gold bar", 2, 60_000_000, 2500)], MARKETS["SE"])


def test_build_order_refuses_discounts_larger_than_the_goods():
    with pytest.raises(ValueError, match="Bad value: order_amount"):
        build_order([CartLine("CAP", "Cap", 1, 1000, 2500), CartLine("D", "Discount", 1, -2000, 2500,
                                                                     type="discount")], MARKETS["SE"])


# --- Properties over random carts in every market ---------------------------------------------------------

@st.composite
def carts(draw: st.DrawFn, market: Market) -> tuple[list[CartLine], ShippingFee | None, int]:
    """1..30 lines, quantities 0..99, prices up to KCO's maximum, optional discounts and shipping."""
    line_count = draw(st.integers(1, 30))
    # US tax is computed on the subtotal, so keep the subtotal small enough for the tax line to fit 1e8.
    line_cap = MAX_AMOUNT // line_count if market.tax_mode == "sales_tax" else MAX_AMOUNT
    rates = (
        st.just(0) if market.tax_mode == "sales_tax"
        else st.one_of(st.just(market.vat_rate), st.sampled_from([0, 600, 1000, 1200]), st.integers(0, 10000))
    )
    lines: list[CartLine] = []
    # A discount carries the VAT rate of the goods it discounts and never exceeds what is left of them;
    # a discount at a higher rate than its goods could push the order tax below zero, which KCO rejects.
    discountable: list[list[int]] = []  # [tax_rate, amount left] per goods line
    for index in range(line_count):
        candidates = [entry for entry in discountable if entry[1] > 0]
        if candidates and draw(st.integers(0, 5)) == 0:
            entry = draw(st.sampled_from(candidates))
            amount = draw(st.integers(0, entry[1]))
            lines.append(CartLine(f"D{index}", "Discount", 1, -amount, entry[0], type="discount"))
            entry[1] -= amount
            continue
        quantity = draw(st.integers(0, 99))
        unit_price = draw(st.integers(0, line_cap // max(quantity, 1)))
        discount = draw(st.integers(0, quantity * unit_price)) if draw(st.booleans()) else 0
        kind = draw(st.sampled_from(["physical", "digital"]))
        rate = draw(rates)
        lines.append(CartLine(f"SKU-{index}", f"Item {index}", quantity, unit_price, rate, discount, kind))
        discountable.append([rate, quantity * unit_price - discount])
    shipping = None
    if draw(st.booleans()):
        shipping = ShippingFee("Shipping", draw(st.integers(0, MAX_AMOUNT)), draw(rates))
    sales_tax_rate = draw(st.integers(0, 1500)) if market.tax_mode == "sales_tax" else 0
    return lines, shipping, sales_tax_rate


def walk_numbers(value: Any, path: str = "$"):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk_numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_numbers(item, f"{path}[{index}]")
    elif isinstance(value, int | float):
        yield path, value


@pytest.mark.parametrize("market", MARKETS.values(), ids=list(MARKETS))
@settings(max_examples=PROPERTY_EXAMPLES_PER_MARKET, deadline=None)
@given(data=st.data())
def test_every_built_order_passes_the_checker_with_exact_int_sums(market, data):
    lines, shipping, sales_tax_rate = data.draw(carts(market))
    payload = build_order(lines, market, shipping=shipping, sales_tax_rate=sales_tax_rate).as_kco()

    assert first_violation(payload) is None
    for path, number in walk_numbers(payload):
        assert type(number) is int, f"{path} is {type(number).__name__}, not int"
    order_lines = payload["order_lines"]
    assert payload["order_amount"] == sum(line["total_amount"] for line in order_lines)
    for line in order_lines:
        assert line["total_amount"] == line["quantity"] * line["unit_price"] - line["total_discount_amount"]
        rate = line["tax_rate"]
        exact = line["total_amount"] - Fraction(line["total_amount"] * 10000, 10000 + rate)
        assert abs(line["total_tax_amount"] - exact) <= Fraction(1, 2)
    if market.tax_mode == "sales_tax":
        tax_line = order_lines[-1]
        assert tax_line["type"] == "sales_tax"
        assert [line["type"] for line in order_lines].count("sales_tax") == 1
        assert payload["order_tax_amount"] == tax_line["total_amount"]
        assert all(line["total_tax_amount"] == 0 for line in order_lines)
    else:
        assert payload["order_tax_amount"] == sum(line["total_tax_amount"] for line in order_lines)


# --- The checker's edges: lengths, optional fields, a line that is no object --------------------------------

@pytest.mark.parametrize("overrides", [
    {"name": "x"}, {"name": "x" * 255}, {"reference": "r" * 255}, {"quantity_unit": "p"},
    {"quantity_unit": "pcs"}, {"quantity_unit": "x" * 8},
])
def test_checker_accepts_names_references_and_units_at_their_length_limits(overrides):
    assert first_violation(order_of(kco_line(**overrides))) is None


def test_checker_accepts_a_unit_price_of_exactly_the_kco_maximum():
    line = kco_line(quantity=1, unit_price=MAX_AMOUNT, total_amount=MAX_AMOUNT, tax_rate=0,
                    total_tax_amount=0)
    assert first_violation(order_of(line)) is None


def test_checker_takes_a_line_without_total_discount_amount_as_undiscounted():
    line = kco_line()
    del line["total_discount_amount"]
    assert first_violation(order_of(line)) is None


def test_checker_names_a_line_that_is_no_object_by_its_index():
    order = {"order_amount": 0, "order_tax_amount": 0, "order_lines": ["not a line"]}
    assert first_violation(order) == "Bad value: order_lines[0]"


def test_sales_tax_on_one_minor_unit_rounds_half_up_too():
    assert sales_tax(1, 5000) == 1  # 0.5 -> 1


def test_the_shipping_line_carries_the_fees_own_reference():
    totals = build_order([CartLine("MUG", "Mug", 1, 1999, 2500)], MARKETS["SE"],
                         shipping=ShippingFee("Postnord", 4900, 2500, reference="postnord"))
    assert totals.order_lines[-1]["reference"] == "postnord"
    default = build_order([CartLine("MUG", "Mug", 1, 1999, 2500)], MARKETS["SE"],
                          shipping=ShippingFee("Postnord", 4900, 2500))
    assert default.order_lines[-1]["reference"] == "shipping"
