"""A local emulator of the Kustom Checkout (KCO v3) REST API, its browser widget and its merchant callbacks.

It is written from Kustom's public docs and the official OpenAPI files only (docs/kco-rules.md), and never
imports the shop or the `kco` client: the two implementations check each other.
`python -m kco_emulator` (or `kco-emulator`) starts it; `create_app()` in `kco_emulator.app` builds the Flask
application. For a shop's tests: `kco_emulator.testing` (its control API), `kco_emulator.pytest_plugin` (the
`kco_emulator` fixture) and `kco_emulator.playwright` (the widget in a browser): docs/testing-your-shop.md.
"""
