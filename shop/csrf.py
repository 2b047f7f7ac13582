"""CSRF tokens for the shopper's requests.

One random token per session, put in the page's `<meta name="csrf-token">` and sent back by the page in the
`X-CSRFToken` header (or a `csrf_token` form field); compared in constant time. A visitor who has changed
nothing yet has no stored session (shop/sessions.py): their token lives in a cookie of its own (`CSRF_COOKIE`,
double submit), and the session adopts it when the visitor's first change stores one. KCO's callbacks carry
no shopper session: their URL token protects them instead (shop/security.py).
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import MutableMapping
from typing import Any

from flask import Flask, Response, g, request, session
from flask_babel import lazy_gettext as _l

from shop.errors import CALLBACK_PATH, ShopError

CSRF_SESSION_KEY = "csrf_token"
CSRF_COOKIE = "visitor_csrf"
VISITOR_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's token; a stored session without one (made before tokens were kept) gets one. A visitor
    without a stored session gets the token of their CSRF_COOKIE, so showing them a page stores nothing."""
    token = session.get(CSRF_SESSION_KEY)
    if isinstance(token, str) and token:
        return token
    if session:
        token = session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)
        return token
    return _visitor_token()


def _visitor_token() -> str:
    token = g.get("visitor_csrf") or request.cookies.get(CSRF_COOKIE, "")
    if not VISITOR_TOKEN.fullmatch(token):
        token = secrets.token_urlsafe(32)
        g.visitor_csrf_is_new = True
    g.visitor_csrf = token
    return token


def csrf_valid(session: MutableMapping[str, Any], sent: str | None) -> bool:
    """The session's token if the request has a stored session, else the visitor's CSRF_COOKIE."""
    expected = session.get(CSRF_SESSION_KEY) if session else request.cookies.get(CSRF_COOKIE)
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def init_app(app: Flask) -> None:
    @app.before_request
    def check_csrf() -> None:
        if request.method in SAFE_METHODS or request.path.startswith(CALLBACK_PATH):
            return
        if not csrf_valid(session, request.headers.get("X-CSRFToken") or request.form.get("csrf_token")):
            raise ShopError("csrf_failed", _l("The page's security token is missing or expired. "
                                           "Please reload the page."), 403)

    @app.after_request
    def keep_visitor_csrf_token(response: Response) -> Response:
        if session:
            if CSRF_SESSION_KEY not in session:
                # The visitor's first change stores their session: it adopts the token their page carries.
                session[CSRF_SESSION_KEY] = _visitor_token()
            if CSRF_COOKIE in request.cookies:
                response.delete_cookie(CSRF_COOKIE, httponly=True, samesite="Lax")
        elif g.get("visitor_csrf_is_new"):
            response.set_cookie(CSRF_COOKIE, g.visitor_csrf, httponly=True, samesite="Lax",
                                secure=app.config["SESSION_COOKIE_SECURE"])
        return response

    @app.context_processor
    def page_csrf_token() -> dict[str, Any]:
        return {"csrf_token": csrf_token(session)}
