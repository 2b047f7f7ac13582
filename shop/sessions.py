"""Server-side sessions (Flask-Session), the per-session lock around every request that writes them, and a new
session id whenever the shopper starts paying or has paid.

Redis when several processes share the sessions (REDIS_URL), else files in instance/. The lock
(shop/session_lock.py) runs two requests of one session one after the other, also across processes, so two
tabs never interleave "read session -> call KCO -> save session".

A session is stored only once a visitor changed something (a cart, a market): browsing pages stores
nothing (the CSRF token of such a visitor lives in its own cookie, shop/security.py), so no amount of
anonymous traffic fills the store. The file store has no size threshold, so it never evicts a live session
to make room; expired session files are removed in the background instead (`remove_expired_sessions`).
Redis expires its keys itself. docs/security.md weighs this against a sessions table in the database.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from cachelib.file import FileSystemCache
from flask import Flask, Response, g, session
from flask_session import Session
from flask_session.base import ServerSideSession
from flask_session.redis import RedisSessionInterface

from shop.session_lock import SessionExists, held_redis_session, session_lock
from shop.settings import Settings

log = logging.getLogger("shop.sessions")

# How often (at most) each process scans the session folder for expired sessions.
CLEANUP_INTERVAL_SECONDS = 3600
# cachelib's count file, the one file in the folder that is no session.
CACHELIB_COUNT_FILE_PREFIX = "__"


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
    prefix = app.config.setdefault("SESSION_KEY_PREFIX", "session:")
    session_exists: SessionExists | None = None
    if settings.redis_url:
        import redis

        client = redis.Redis.from_url(settings.redis_url)
        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=client)
        # session_exists stays None: the Redis lock checks that the session is stored in the same round trip
        # as it takes the lock, and LockedRedisSessions (below) uses what it read.
    else:
        folder = settings.instance_path / "sessions"
        # threshold=0: no size limit, so storing a session never deletes another one to make room.
        cache = SessionFiles(str(folder), threshold=0, mode=0o600)
        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=cache)

        def stored_in_a_file(sid: str) -> bool:
            return cache.holds(prefix + sid)

        session_exists = stored_in_a_file

        cleanup = ExpiredSessionCleanup(folder, settings.instance_path / "locks",
                                        app.permanent_session_lifetime.total_seconds())
        app.after_request(cleanup.start_when_due)
    if settings.redis_url:
        # Flask-Session's Redis interface, in the subclass that shares round trips with the lock
        # (Flask-Session lets an app set the interface itself).
        app.session_interface = LockedRedisSessions(app, client=app.config["SESSION_REDIS"],
                                                    key_prefix=prefix, permanent=True)
    else:
        Session(app)
    renew_session_id_when_paying(app)
    # The body limit is read per request: shop/security.py sets MAX_CONTENT_LENGTH.
    app.wsgi_app = session_lock(app.wsgi_app, settings.instance_path, app.config.get("SESSION_REDIS"),
                                app.config["SESSION_COOKIE_NAME"], session_exists,
                                lambda: app.config.get("MAX_CONTENT_LENGTH"), prefix)


class SessionFiles(FileSystemCache):
    """cachelib's file store, plus `holds`: whether a session has a file, from one look at the folder. Unlike
    `has` it neither opens the file nor reads its expiry (the lock asks twice per request); a session that has
    expired but is not removed yet is locked once more, and Flask-Session then starts a fresh one."""

    def holds(self, key: str) -> bool:
        return os.path.exists(self._get_filename(key))


class LockedRedisSessions(RedisSessionInterface):
    """Flask-Session's Redis sessions, in step with the session lock (shop/session_lock.py `RedisLocks`): a
    request that holds the lock opens its session from what the lock read, and saves it and frees the lock
    in one command. Every other request (no lock) reads and writes as Flask-Session does. The two methods
    are the ones each Flask-Session 0.8 backend implements (the version requirements.txt pins)."""

    def _retrieve_session_data(self, store_id: str) -> dict[str, Any] | None:
        held = held_redis_session.get()
        if held is None or held.session_key != store_id:
            return super()._retrieve_session_data(store_id)
        return self.serializer.decode(held.stored)

    def _upsert_session(self, session_lifetime: timedelta, session: ServerSideSession, store_id: str) -> None:
        held = held_redis_session.get()
        if held is None or held.released:
            super()._upsert_session(session_lifetime, session, store_id)
            return
        seconds = int(session_lifetime.total_seconds())
        held.save_and_release(store_id, self.serializer.encode(session), seconds)


# --- A new session id when the shopper starts paying and when they have paid --------------------------------

def _orders(shopper_session: Any) -> tuple[Any, Any]:
    return shopper_session.get("order_id"), shopper_session.get("confirmed_order_id")


def renew_session_id_when_paying(app: Flask) -> None:
    """Session fixation: a session id planted in the shopper's browser before they pay must not lead to their
    KCO order or confirmation. So the session gets a new id (its data kept, the old id deleted) in the request
    that stores a new KCO order id in it (checkout_flow creates one) and in the one that confirms it."""

    @app.before_request
    def note_orders() -> None:
        g.session_orders_at_start = _orders(session)

    @app.after_request
    def renew(response: Response) -> Response:
        started = g.get("session_orders_at_start")
        if started is None or not session:
            return response
        order_id, confirmed_order_id = _orders(session)
        created = order_id is not None and order_id != started[0]
        confirmed = confirmed_order_id is not None and confirmed_order_id != started[1]
        if created or confirmed:
            app.session_interface.regenerate(session)  # type: ignore[attr-defined]
        return response


# --- Removing expired sessions (file store) -----------------------------------------------------------------

def remove_expired_sessions(folder: Path, locks: Path, lifetime_seconds: float, now: float) -> int:
    """Delete the session files whose expiry has passed, and lock files unused for a session lifetime.

    cachelib writes each entry as a 4-byte expiry timestamp and the pickled session; only the timestamp is
    read. Returns how many sessions were removed."""
    removed = 0
    for path in folder.iterdir() if folder.exists() else ():
        if path.name.startswith(CACHELIB_COUNT_FILE_PREFIX):
            continue
        try:
            with open(path, "rb") as handle:
                expires = struct.unpack("I", handle.read(4))[0]
            if expires != 0 and expires < now:
                path.unlink()
                removed += 1
        except (FileNotFoundError, struct.error):
            continue  # removed or being written meanwhile
    for path in locks.glob("*.lock") if locks.exists() else ():
        try:
            if path.stat().st_mtime < now - lifetime_seconds:
                path.unlink()
        except FileNotFoundError:
            continue
    return removed


class ExpiredSessionCleanup:
    """Runs `remove_expired_sessions` in a background thread at most every CLEANUP_INTERVAL_SECONDS per
    process, started by a request but never making it wait."""

    def __init__(self, folder: Path, locks: Path, lifetime_seconds: float) -> None:
        self.folder = folder
        self.locks = locks
        self.lifetime_seconds = lifetime_seconds
        self.next_run = 0.0
        self._lock = threading.Lock()

    def start_when_due(self, response: Response) -> Response:
        now = time.monotonic()
        if now >= self.next_run and self._lock.acquire(blocking=False):
            self.next_run = now + CLEANUP_INTERVAL_SECONDS
            threading.Thread(target=self._run, daemon=True, name="session-cleanup").start()
        return response

    def _run(self) -> None:
        try:
            removed = remove_expired_sessions(self.folder, self.locks, self.lifetime_seconds, time.time())
            if removed:
                log.info("removed %d expired sessions", removed)
        except OSError:
            log.exception("could not remove expired sessions")
        finally:
            self._lock.release()
