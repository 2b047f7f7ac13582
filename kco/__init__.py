"""A reference Python library for Kustom Checkout (KCO, formerly Klarna Checkout v3).

Read it in this order:

- `kco.errors`: what can go wrong, as exceptions a caller can act on;
- `kco.client`: the HTTP client for the Checkout v3 and Order Management v1 APIs;
- `kco.markets`: the 14 supported countries, their currency, languages and VAT;
- `kco.order_lines`: cart lines to KCO order lines and exact amounts, and a checker of KCO's rules.

No web framework is imported here; copy the folder into any Python shop.
"""

__version__ = "0.1.0"
