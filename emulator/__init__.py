"""A local emulator of the Kustom Checkout (KCO v3) REST API, its browser widget and its merchant callbacks.

It is written from the API notes and the official OpenAPI files only, and never imports the shop or the
`kco` client: the two implementations check each other. `python -m emulator` starts it; `create_app()` in
`emulator.app` builds the Flask application.
"""
