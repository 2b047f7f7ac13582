"""Server-side sessions (Flask-Session) and the per-session lock around every request that writes them.

Redis when several processes share the sessions (REDIS_URL), else files in instance/. The lock
(shop/session_lock.py) runs two requests of one session one after the other, also across processes, so two
tabs never interleave "read session -> call KCO -> save session".
"""

from __future__ import annotations

from cachelib.file import FileSystemCache
from flask import Flask
from flask_session import Session

from shop.session_lock import session_lock
from shop.settings import Settings


def init_app(app: Flask, settings: Settings) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_PERMANENT=True,
        # Write the session only when a request changed it: a read (GET /api/cart) that overlaps a cart change
        # must not save its older copy over the change (the session lock covers writing requests only).
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    if settings.redis_url:
        import redis

        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=redis.Redis.from_url(settings.redis_url))
    else:
        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=FileSystemCache(
            str(settings.instance_path / "sessions"), threshold=10_000, mode=0o600))
    Session(app)
    app.wsgi_app = session_lock(app.wsgi_app, settings.instance_path,
                                app.config.get("SESSION_REDIS"), app.config["SESSION_COOKIE_NAME"])
