"""Server-side sessions (Flask-Session) holding a reference to the shopper's checkout, and a new session id
whenever an answer shows the shopper a KCO order.

A session holds the id of the shopper's checkout (the checkout itself is a database row, shop/records.py),
the CSRF token (shop/security.py), and the order the shopper last paid for, so its confirmation page can be
shown again. It is stored only once a visitor changes something: browsing stores nothing. Redis when several
processes share the sessions (REDIS_URL), which expires them itself; else files under instance/sessions,
through cachelib, which removes expired sessions once the folder holds SESSION_FILE_LIMIT and then, if need
be, the ones closest to expiry. A session lives SESSION_LIFETIME after it was last written (stored, or given
a new id): a cart nobody came back to is forgotten with it. docs/security.md says what this bounds.

Session fixation: a session id planted in the shopper's browser must not lead to their KCO order, their
typed address or their confirmation. So each answer that shows a KCO order (the checkout page with its
widget, a cart change that created an order, the confirmation) gives the session a new id, its data kept
(`renew_session_id`). Whoever held the old id, a planted copy included, holds nothing from then on. The old
id is remembered for an hour: a request still on its way with it (sent from another tab just before the
answer with the new cookie arrived) gets 409 `session_renewed`, which the page answers by sending its
change again, now with the new cookie; a page asked for with it is sent to itself once.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import redis
from cachelib.file import FileSystemCache
from flask import Flask, Request, Response, current_app, g, redirect, request, session
from flask.sessions import SessionInterface, SessionMixin
from flask_babel import lazy_gettext as _l
from flask_session import Session
from flask_session.base import ServerSideSessionInterface

from shop.errors import CALLBACK_PATH, STORE_FAILURES, ShopError
from shop.records import Records
from shop.settings import Settings, SettingsError

SESSION_LIFETIME = timedelta(days=7)
SESSION_FILE_LIMIT = 20_000


def init_app(app: Flask, settings: Settings, records: Records) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_PERMANENT=True,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        # Written only when a request changed it (which gives it a new id, but for the first write): a request
        # that only read the old id never brings it back.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    if settings.redis_url:
        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=connected_redis(settings.redis_url))
    else:
        folder = settings.instance_path / "sessions"
        cache = FileSystemCache(str(folder), threshold=SESSION_FILE_LIMIT, mode=0o600)
        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=cache)
    Session(app)
    app.session_interface = SessionsOrUnavailable(app.session_interface)

    @app.before_request
    def refuse_without_session_store() -> None:
        if "session_store_failure" in g:
            raise g.session_store_failure  # answered 503 by shop/errors.py

    @app.before_request
    def answer_a_superseded_session_id() -> Response | None:
        sent = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        if not sent or sent == session.sid:  # type: ignore[attr-defined]
            return None  # no cookie, or its session was found
        if request.endpoint == "static" or request.path.startswith(CALLBACK_PATH):
            return None
        if not records.was_superseded(sent):
            return None  # expired or made up: a new visitor
        if request.method != "GET" or request.path.startswith("/api/"):
            raise ShopError("session_renewed", _l("Your session was renewed in another tab. "
                                               "Please send your change again."), 409)
        # A page asked for again comes with the cookie the browser holds by now; only once per id, since a
        # browser that never got the new cookie (its answer was lost) would ask forever.
        if records.first_redirect(sent):
            return redirect(request.full_path.rstrip("?"), 303)
        return None


class SessionsOrUnavailable(SessionInterface):
    """Flask-Session's sessions, except when their store does not answer as a request's session is opened:
    then the request gets Flask's null session, and `refuse_without_session_store` answers it 503 like any
    other store failure (shop/errors.py). Raised from opening the session, the error would reach Flask before
    any handler of the shop's, as a 500. Flask's own interface for sessions, around Flask-Session's."""

    def __init__(self, store: ServerSideSessionInterface) -> None:
        self.store = store

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        try:
            return self.store.open_session(app, request)
        except STORE_FAILURES as error:
            g.session_store_failure = error
            return None  # Flask makes its null session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        self.store.save_session(app, session, response)

    def regenerate(self, session: SessionMixin) -> None:
        """A new id for the session, its data kept (Flask-Session's)."""
        self.store.regenerate(session)


def connected_redis(url: str) -> redis.Redis:
    """A client of the Redis at `url`, which answered a ping: one that does not stops the shop at start."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        client.ping()
    except (ValueError, redis.exceptions.RedisError) as error:
        parts = urlsplit(url)
        shown = f"{parts.hostname}:{parts.port or 6379}" if parts.hostname else repr(url)
        raise SettingsError(f"REDIS_URL: cannot use the Redis at {shown}: {error}") from None
    return client


def redis_ready(client: redis.Redis) -> bool:
    """Redis answers (for /readyz)."""
    try:
        return bool(client.ping())
    except redis.exceptions.RedisError:
        return False


def renew_session_id(records: Records) -> None:
    """A new id for the shopper's stored session, its data kept; the old id is remembered as superseded. A
    session stored first by this very request has an id nobody else has seen: nothing to renew."""
    old_id = request.cookies.get(current_app.config["SESSION_COOKIE_NAME"])
    if not session or old_id != session.sid:  # type: ignore[attr-defined]
        return
    current_app.session_interface.regenerate(session)  # type: ignore[attr-defined]
    records.supersede_session(old_id)
