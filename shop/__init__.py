"""The demo shop around the KCO integration: catalogue, cart, market, records and their settings.

Replace this package with your own shop; what the KCO integration needs from it is small: priced cart
lines for a market (`shop.pricing`), a place to keep per-order state for callbacks (`shop.records`).
"""
