"""A local emulator of the Kustom Checkout (KCO v3) REST API, its browser widget and its merchant callbacks.

It is written from Kustom's public docs and the official OpenAPI files only (docs/kco-rules.md), and never
imports the shop or the `kco` client: the two implementations check each other.
`python -m kco_emulator` starts it; `create_app()` in `kco_emulator.app` builds the Flask application.
"""
