"""Every failure answers in one shape, from one handler: `{"error": {"code": "...", "message": "..."}}`.

The shape may carry extra keys, such as the cart the server holds, so the page can return to the server's
truth; a page request gets the same text as an HTML page. A failed KCO call is turned into a shop error in
one place, `kco_failure`, whoever made the call.

A message for the shopper is a `lazy_gettext`: it is translated when the answer is written, into the language
of the checkout as the request left it (shop/shopper_language.py), so an error after a change of language
speaks the new one. Answers to KCO's callbacks are read by KCO's servers, not by a shopper: they stay English.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, jsonify, render_template, request
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from kco.errors import KCOError, KCOUnreachable

log = logging.getLogger("shop")
# What a shopper reads for an HTTP error of Flask's; any other status reads as the 400's.
HTTP_MESSAGES = {
    400: _l("The shop could not understand this request."),
    404: _l("There is nothing at this address."),
    405: _l("This address does not answer that kind of request."),
}
# Where KCO calls the shop back (shop/callbacks.py): answers there are read by KCO's servers, not a shopper.
CALLBACK_PATH = "/kco/callbacks/"
# A store the shop needs went away (a restart, the network): worth trying again in a moment.
STORE_FAILURES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OperationalError,
                  InterfaceError)


class ShopError(Exception):
    def __init__(self, code: str, message: str | LazyString, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": str(self.message)}, **self.extra}


def kco_failure(error: KCOError | None, to_kco: bool = False, **extra: Any) -> ShopError:
    """What the shop answers when a KCO call failed.

    To the shopper: 503 `kco_unreachable` when KCO gave no answer (worth trying again in a moment), else
    502 `kco_error` (reload). To KCO, answering a callback such as the push: always 503, because KCO repeats a
    push until it gets a 2xx, which is how a failed acknowledgement is retried
    (kco-rules: push-and-acknowledge).
    """
    if to_kco:
        return ShopError("kco_unreachable", "KCO's Order Management could not be used just now; push again.",
                         503, **extra)
    if isinstance(error, KCOUnreachable):
        return ShopError("kco_unreachable", _l("The checkout could not be reached just now; nothing is lost. "
                                               "Please try again in a moment."), 503, **extra)
    return ShopError("kco_error", _l("The checkout answered with an error; nothing is lost. "
                                     "Please reload the page."), 502, **extra)


def first_line(error: BaseException) -> str:
    """The first line of an error (a driver's, behind SQLAlchemy's wrapper), for a one-line message."""
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def init_app(app: Flask) -> None:
    app.register_error_handler(Exception, answer_error)


def answer_error(error: Exception) -> tuple[Any, int]:
    """Every failure, ours, Flask's (404, 405) or KCO's, answered in the one shape."""
    if isinstance(error, ShopError):
        shop_error = error
    elif isinstance(error, KCOError):
        log.warning("KCO call failed: %s", error)
        shop_error = kco_failure(error, to_kco=request.path.startswith(CALLBACK_PATH))
    elif isinstance(error, STORE_FAILURES):
        # A store dropped after the start (checked then: shop/settings.py): the shopper is told to try again;
        # the log says which store, in one line.
        store = "Redis (REDIS_URL)" if isinstance(error, redis.exceptions.RedisError) else "the database"
        log.error("%s does not answer: %s", store, first_line(error))
        shop_error = ShopError("store_unavailable", _l("The shop cannot reach its storage just now; nothing "
                                                       "was changed. Please try again in a moment."), 503)
    elif isinstance(error, HTTPException):
        # Werkzeug's descriptions are English and written for developers; the code keeps their meaning.
        shop_error = ShopError((error.name or "error").lower().replace(" ", "_"),
                               HTTP_MESSAGES.get(error.code or 500, HTTP_MESSAGES[400]), error.code or 500)
    else:
        log.exception("unexpected error")
        shop_error = ShopError("internal_error", _l("Something went wrong on our side."), 500)
    wants_page = (request.method == "GET" and not request.path.startswith(("/api/", "/kco/"))
                  and request.accept_mimetypes.accept_html)
    if wants_page:
        return render_template("error.html", error=shop_error), shop_error.status
    return jsonify(shop_error.body()), shop_error.status
