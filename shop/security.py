"""CSRF tokens for the shopper's requests, and the tokens that prove a callback URL came from this shop.

CSRF: one random token per session, put in the page's `<meta name="csrf-token">` and sent back by the page
in the `X-CSRFToken` header (or a `csrf_token` form field); compared in constant time. A visitor who has
changed nothing yet has no stored session (shop/sessions.py): their token lives in a cookie of its own
(`CSRF_COOKIE`, double submit), and the session adopts it when the visitor's first change stores one.

Callback tokens: `merchant_urls` are fixed when the order is created, before KCO gives it an id, so each
checkout gets a random reference (stored on the order as `merchant_reference2` and in the shop's
`checkouts` row) and its URLs carry `HMAC-SHA256(SECRET_KEY, reference)`. Only the shop can compute it, and
it is checked against the reference the shop stored for the order id in the URL.

Content-Security-Policy: scripts, frames and fetches only from the shop itself and from the origins KCO's
html_snippet loads its widget from. The snippet's own inline <script> runs because the shop adds this
response's nonce to it (`snippet_with_nonce`); the page publishes the nonce in `<meta name="csp-nonce">` for a
page script of your own that swaps a snippet in (kco-sync.js reloads instead, kco-rules: page-follows-order).

Request limits: MAX_CONTENT_LENGTH caps every body (413 in the one error shape), JSON nested deeper than
Python's parser can follow is malformed (400), and shop/budgets.py limits how many carts and KCO orders
one client may start.

`init_app` puts all of it on the app: the CSRF check before each request, a CSP nonce per rendered page, and
the security headers after each response (`set_security_headers`). docs/security.md lists each defence and the
test that attacks it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import MutableMapping, Sequence
from typing import Any

from flask import Flask, Response, g, request, session
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup
from werkzeug.exceptions import RequestEntityTooLarge

from shop.errors import ShopError, answer_error
from shop.settings import Settings

CSRF_SESSION_KEY = "csrf_token"
CSRF_COOKIE = "visitor_csrf"
# A cart or a market change is a few hundred bytes, a KCO callback a few KB: 64 KB is plenty for either.
MAX_CONTENT_LENGTH = 64 * 1024
VISITOR_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


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


class RequestJSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that JSON nested deeper than the parser can follow is malformed input (Python's
    parser raises RecursionError, which would otherwise answer 500), and that answers keep their keys in the
    order the shop built them instead of sorting them for every response."""

    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def new_checkout_reference() -> str:
    return secrets.token_hex(16)


def callback_token(secret_key: str, reference: str) -> str:
    return hmac.new(secret_key.encode(), f"kco-callback:{reference}".encode(), hashlib.sha256).hexdigest()


def callback_token_valid(secret_key: str, reference: str, sent: str | None) -> bool:
    if not sent:
        return False
    return hmac.compare_digest(callback_token(secret_key, reference).encode(), sent.encode())


# In an access log line: a callback URL's token, or any other query parameter named like one.
TOKEN_IN_URL = re.compile(r"(token=)[^&\s\"]+")
# The loggers of the servers that run the shop: `flask run` and `python app.py` (Werkzeug), gunicorn.
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


class HideTokens(logging.Filter):
    """Access log lines show `token=[hidden]`: the callback URLs' token must not end up in log files, whatever
    server writes them (Werkzeug passes the request line as an argument, gunicorn a mapping of its parts)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, MutableMapping):
            # gunicorn's own mapping, which also answers for parts its format names but the dict lacks
            for name, value in record.args.items():
                record.args[name] = _hidden(value)
        elif isinstance(record.args, tuple):
            record.args = tuple(_hidden(value) for value in record.args)
        return True


def _hidden(value: Any) -> Any:
    return TOKEN_IN_URL.sub(r"\1[hidden]", value) if isinstance(value, str) else value


def hide_tokens_in_access_logs() -> None:
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(installed, HideTokens) for installed in logger.filters):
            logger.addFilter(HideTokens())


# The snippet's fallback "Reload" button calls this from an onclick attribute (kco-rules: html-snippet); its
# hash admits exactly this handler and no other inline one. The emulator's spelling; the real snippet's exact
# text is not documented [unverified], so there the fallback button may stay inert (a reload still works).
SNIPPET_RELOAD_HANDLER = "reloadCheckoutHandler()"
SCRIPT_TAG = re.compile(r"<script\b", re.IGNORECASE)


def new_csp_nonce() -> str:
    return secrets.token_urlsafe(18)


SNIPPET_RELOAD_HANDLER_HASH = base64.b64encode(
    hashlib.sha256(SNIPPET_RELOAD_HANDLER.encode()).digest()).decode()


# For answers that are no page: nothing may load, run or frame them.
NO_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def content_security_policy(nonce: str, snippet_origins: Sequence[str]) -> str:
    """The pages' policy: the shop's own origin plus KCO's snippet origins, and nothing else."""
    before_nonce, after_nonce = _policy_around_nonce(tuple(snippet_origins))
    return f"{before_nonce}{nonce}{after_nonce}"


@functools.lru_cache(maxsize=8)
def _policy_around_nonce(snippet_origins: tuple[str, ...]) -> tuple[str, str]:
    """The policy is the same for every response but its nonce: built once, as the text around the nonce."""
    nonce = "\0nonce\0"
    kco = " ".join(snippet_origins)
    handler = SNIPPET_RELOAD_HANDLER_HASH
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' 'nonce-{nonce}' 'unsafe-hashes' 'sha256-{handler}' {kco}",
        "frame-src": f"'self' {kco}",  # the widget is an iframe from KCO's origin
        "connect-src": f"'self' {kco}",
        # The real snippet loads a tracking pixel from KCO (kco-rules: html-snippet).
        "img-src": f"'self' {kco}",
        # KCO's snippet and its bootstrap style elements through style attributes (the container and the
        # fallback page carry inline CSS, kco-rules: html-snippet); styles cannot run code, so allowed.
        "style-src": "'self' 'unsafe-inline'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'self'",
    }
    before_nonce, _, after_nonce = "; ".join(
        f"{name} {value}".strip() for name, value in directives.items()).partition(nonce)
    return before_nonce, after_nonce


def snippet_with_nonce(html_snippet: str, nonce: str) -> Markup:
    """KCO's html_snippet, trusted markup from KCO (kco-rules: html-snippet), with this response's nonce on
    each <script>."""
    return Markup(SCRIPT_TAG.sub(f'<script nonce="{nonce}"', html_snippet))


def csp_nonce() -> str:
    """This response's Content-Security-Policy nonce, made on first use."""
    return g.setdefault("csp_nonce", new_csp_nonce())


def init_app(app: Flask, settings: Settings) -> None:
    """CSRF check, request limits, CSP nonce and security headers for every request of `app`."""
    snippet_origins: Sequence[str] = settings.snippet_origins
    hide_tokens_in_access_logs()
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    app.json = RequestJSONProvider(app)
    app.register_error_handler(RequestEntityTooLarge, lambda _: answer_error(ShopError(
        "body_too_large", "The request is larger than the shop accepts.", 413)))

    @app.before_request
    def refuse_oversized_body() -> None:
        # Werkzeug enforces MAX_CONTENT_LENGTH only when the body is read; a declared length says it at once,
        # so even a request refused for its token or CSRF is answered 413 first.
        limit = app.config["MAX_CONTENT_LENGTH"]
        if limit is not None and (request.content_length or 0) > limit:
            raise RequestEntityTooLarge()

    @app.before_request
    def check_csrf() -> None:
        # Every state-changing request from a browser carries the session's token (header for JSON, field for
        # forms). KCO's callbacks have no shopper session; their URL token protects them instead.
        if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith("/kco/callbacks/"):
            return
        if not csrf_valid(session, request.headers.get("X-CSRFToken") or request.form.get("csrf_token")):
            raise ShopError("csrf_failed", "The page's security token is missing or expired. "
                            "Please reload the page.", 403)

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

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        if not request.path.startswith("/static/"):
            # The checkout must never come from a cache (e.g. the back button after a purchase).
            headers["Cache-Control"] = "no-store"
        # A rendered page made its nonce (`page_tokens`); any other answer (JSON, a redirect, a file) runs
        # no script and needs no nonce, so it gets the policy that allows nothing.
        nonce = g.get("csp_nonce")
        headers["Content-Security-Policy"] = (content_security_policy(nonce, snippet_origins) if nonce
                                              else NO_PAGE_POLICY)
        return response

    @app.context_processor
    def page_tokens() -> dict[str, Any]:
        return {"csrf_token": csrf_token(session), "csp_nonce": csp_nonce()}

    # KCO's html_snippet is rendered as trusted markup, its <script> tags carrying this response's nonce.
    app.jinja_env.filters["kco_snippet"] = lambda html: snippet_with_nonce(html or "", csp_nonce())
