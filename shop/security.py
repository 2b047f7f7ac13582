"""The security headers of every answer, the limits on every request, and the tokens that prove a callback URL
came from this shop (docs/security.md lists each defence and the test that attacks it; CSRF: shop/csrf.py).

Callback tokens: `merchant_urls` are fixed when the order is created, before KCO gives it an id, so each order
gets a random reference (sent as `merchant_reference2`, kept in its checkout) and its callback URLs carry it
with `HMAC-SHA256(SECRET_KEY, reference)`, which only the shop can compute. Access logs never show the token.

Content-Security-Policy: a page may run scripts, frames and fetches only from the shop and from the origins
KCO's html_snippet loads its widget from; the snippet's own inline <script> runs because the shop adds the
page's nonce to it (`snippet_with_nonce`). An answer that is no page gets a policy that allows nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import MutableMapping, Sequence
from typing import Any

from flask import Flask, Response, g, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from werkzeug.exceptions import RequestEntityTooLarge

from shop.errors import ShopError, answer_error
from shop.settings import Settings

# A cart or a market change is a few hundred bytes, a KCO callback a few KB: 64 KB is plenty for either.
MAX_CONTENT_LENGTH = 64 * 1024
# In an access log line: a callback URL's token, or any other query parameter named like one.
TOKEN_IN_URL = re.compile(r"(token=)[^&\s\"]+")
# The loggers of the servers that run the shop: `flask run` and `python app.py` (Werkzeug), gunicorn.
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")
# The snippet's fallback "Reload" button calls this from an onclick attribute (kco-rules: html-snippet); its
# hash admits exactly this handler and no other inline one. The emulator's spelling; the real snippet's exact
# text is not documented [unverified], so there the fallback button may stay inert (a reload still works).
SNIPPET_RELOAD_HANDLER = "reloadCheckoutHandler()"
SNIPPET_RELOAD_HANDLER_HASH = base64.b64encode(
    hashlib.sha256(SNIPPET_RELOAD_HANDLER.encode()).digest()).decode()
SCRIPT_TAG = re.compile(r"<script\b", re.IGNORECASE)
NO_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def new_checkout_reference() -> str:
    return secrets.token_hex(16)


def callback_token(secret_key: str, reference: str) -> str:
    return hmac.new(secret_key.encode(), f"kco-callback:{reference}".encode(), hashlib.sha256).hexdigest()


def callback_token_valid(secret_key: str, reference: str, sent: str | None) -> bool:
    if not sent:
        return False
    return hmac.compare_digest(callback_token(secret_key, reference).encode(), sent.encode())


class HideTokens(logging.Filter):
    """Access log lines show `token=[hidden]`, whatever server writes them: Werkzeug passes the request line
    as an argument, gunicorn a mapping of its parts (which also answers for parts its format names)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, MutableMapping):
            for name, value in record.args.items():
                record.args[name] = _hidden(value)
        elif isinstance(record.args, tuple):
            record.args = tuple(_hidden(value) for value in record.args)
        return True


def _hidden(value: Any) -> Any:
    return TOKEN_IN_URL.sub(r"\1[hidden]", value) if isinstance(value, str) else value


class RequestJSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that JSON nested deeper than the parser can follow is malformed input (Python's
    parser raises RecursionError, which would otherwise answer 500), and that answers keep their keys in the
    order the shop built them."""

    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def content_security_policy(nonce: str, snippet_origins: Sequence[str]) -> str:
    """The pages' policy: the shop's own origin plus KCO's snippet origins, and nothing else."""
    kco = " ".join(snippet_origins)
    directives = [
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}' 'unsafe-hashes' 'sha256-{SNIPPET_RELOAD_HANDLER_HASH}' {kco}",
        f"frame-src 'self' {kco}",  # the widget is an iframe from KCO's origin
        f"connect-src 'self' {kco}",
        f"img-src 'self' {kco}",  # the real snippet loads a tracking pixel from KCO (kco-rules: html-snippet)
        # KCO's snippet and its bootstrap style elements through style attributes (the container and the
        # fallback page carry inline CSS, kco-rules: html-snippet); styles cannot run code, so allowed.
        "style-src 'self' 'unsafe-inline'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
    return "; ".join(directives)


def snippet_with_nonce(html_snippet: str, nonce: str) -> Markup:
    """KCO's html_snippet, trusted markup from KCO (kco-rules: html-snippet), with this response's nonce on
    each <script>."""
    return Markup(SCRIPT_TAG.sub(f'<script nonce="{nonce}"', html_snippet))


def csp_nonce() -> str:
    """This response's Content-Security-Policy nonce, made on first use: only rendered pages make one."""
    return g.setdefault("csp_nonce", secrets.token_urlsafe(18))


def init_app(app: Flask, settings: Settings) -> None:
    """Request limits, the access log filter, the CSP nonce and the security headers of every answer."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(installed, HideTokens) for installed in logger.filters):
            logger.addFilter(HideTokens())
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    app.json = RequestJSONProvider(app)
    app.register_error_handler(RequestEntityTooLarge, lambda _: answer_error(ShopError(
        "body_too_large", _l("The request is larger than the shop accepts."), 413)))
    # KCO's html_snippet is rendered as trusted markup, its <script> tags carrying this response's nonce.
    app.jinja_env.filters["kco_snippet"] = lambda html: snippet_with_nonce(html or "", csp_nonce())
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.before_request
    def refuse_oversized_body() -> None:
        # Werkzeug enforces MAX_CONTENT_LENGTH only when the body is read; a declared length says it at once,
        # so even a request refused for its token or CSRF is answered 413 first.
        if (request.content_length or 0) > app.config["MAX_CONTENT_LENGTH"]:
            raise RequestEntityTooLarge()

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.path.startswith("/static/"):
            # The checkout must never come from a cache (e.g. the back button after a purchase).
            response.headers["Cache-Control"] = "no-store"
        nonce = g.get("csp_nonce")
        policy = content_security_policy(nonce, settings.snippet_origins) if nonce else NO_PAGE_POLICY
        response.headers["Content-Security-Policy"] = policy
        return response
