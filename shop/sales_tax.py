"""US sales tax rates by state, in basis points: a small demo table.

A real US merchant replaces this with their tax service; rates depend on state, county and city, and on
whether the merchant has nexus there. These are the state-level base rates only, for the demo. KCO expects US
tax as one `sales_tax` line computed from the shipping address (inferred for KCO; kco-rules: us-sales-tax),
which the `address_update` callback lets the shop recompute once the shopper has typed it
(kco-rules: refine-callbacks).
"""

from __future__ import annotations

STATE_RATES: dict[str, int] = {
    "CA": 725, "NY": 400, "TX": 625, "FL": 600, "WA": 650, "IL": 625, "MA": 625, "NJ": 663,
    "PA": 600, "GA": 400, "CO": 290, "OR": 0, "MT": 0, "NH": 0, "DE": 0,
}


def sales_tax_rate(region: str | None) -> int:
    """The rate for a US state (two-letter code); 0 before the address is known and for other states."""
    if not region:
        return 0
    return STATE_RATES.get(region.strip().upper(), 0)
