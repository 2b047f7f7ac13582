"""CSRF tokens for the shopper's requests, and the tokens that prove a callback URL came from this shop.

CSRF: one random token per session, put in the page's `<meta name="csrf-token">` and sent back by the page
in the `X-CSRFToken` header (or a `csrf_token` form field); compared in constant time.

Callback tokens: `merchant_urls` are fixed when the order is created, before KCO gives it an id, so each
checkout gets a random reference (stored on the order as `merchant_reference2` and in the shop's
`checkouts` row) and its URLs carry `HMAC-SHA256(SECRET_KEY, reference)`. Only the shop can compute it, and
it is checked against the reference the shop stored for the order id in the URL.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any

CSRF_SESSION_KEY = "csrf_token"


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's token, created on first use."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def csrf_valid(session: MutableMapping[str, Any], sent: str | None) -> bool:
    expected = session.get(CSRF_SESSION_KEY)
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def new_checkout_reference() -> str:
    return secrets.token_hex(16)


def callback_token(secret_key: str, reference: str) -> str:
    return hmac.new(secret_key.encode(), f"kco-callback:{reference}".encode(), hashlib.sha256).hexdigest()


def callback_token_valid(secret_key: str, reference: str, sent: str | None) -> bool:
    if not sent:
        return False
    return hmac.compare_digest(callback_token(secret_key, reference).encode(), sent.encode())
