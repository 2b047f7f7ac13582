"""One request at a time per shopper session, for the requests that change it (two tabs, a double click).

Flask-Session loads the session before the view runs and writes it back after, and in between
`shop.checkout_flow` may call KCO. Two such requests of one session side by side would both start from the
same session and KCO order, and the last to finish would write its session over the other's: the session's
cart could then differ from the KCO order, or two KCO orders could be created for one shopper. So this WSGI
middleware holds a lock for the whole request, from before the session is opened until after it is saved.

The lock is keyed by the session cookie and works across processes: an `fcntl` file lock under
`instance/locks/` (one host), or a Redis lock when the sessions live in Redis (several hosts). Requests that
only read (GET /api/cart, static files) and KCO's callbacks (no shopper cookie) pass without it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any

import redis

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
SessionKey = str

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# GET pages that write the session: the checkout may create or update the KCO order, the confirmation
# starts a fresh cart.
WRITING_PAGES = frozenset({"/checkout", "/confirmation"})
# How long a request waits for the other request of its session. Longer than a KCO call may take
# (kco.client: 10 s read timeout), so a waiting request normally gets its turn.
WAIT_SECONDS = 30.0
# A Redis lock expires on its own after this long, so a crashed process cannot block a session forever.
# (A file lock is released by the operating system when its process dies.)
REDIS_LOCK_SECONDS = 60
# Lock files are shared by stripes of sessions, so their number stays bounded; two sessions in one stripe
# just wait for each other now and then.
FILE_STRIPES = 1024


class SessionBusy(Exception):
    """The other request of this session did not finish within WAIT_SECONDS."""


class FileLocks:
    """`fcntl.flock` on instance/locks/<stripe>.lock: excludes threads and processes on one host."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def hold(self, key: SessionKey) -> Iterator[None]:
        stripe = int(key[:8], 16) % FILE_STRIPES
        # Each request opens the file itself: flock locks belong to the open file, so two threads of one
        # process exclude each other as two processes do.
        with open(self.directory / f"{stripe:04d}.lock", "a+b") as handle:
            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    # flock itself cannot time out, so wait in short steps up to the deadline.
                    if time.monotonic() > deadline:
                        raise SessionBusy(key) from None
                    time.sleep(0.005)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class RedisLocks:
    """redis-py's Lock (SET NX with an expiry): excludes processes on every host sharing the Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    @contextmanager
    def hold(self, key: SessionKey) -> Iterator[None]:
        lock = self.client.lock(f"shop:session-lock:{key}", timeout=REDIS_LOCK_SECONDS,
                                blocking_timeout=WAIT_SECONDS)
        if not lock.acquire():
            raise SessionBusy(key)
        try:
            yield
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:
                pass  # expired meanwhile (a request slower than REDIS_LOCK_SECONDS); nothing left to free


class SessionLock:
    """WSGI middleware: runs each session-writing request of one session alone."""

    def __init__(self, app: WSGIApp, locks: FileLocks | RedisLocks, cookie_name: str) -> None:
        self.app = app
        self.locks = locks
        self.cookie_name = cookie_name

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        key = self.session_key(environ)
        if key is None:
            return self.app(environ, start_response)
        try:
            with self.locks.hold(key):
                # The whole body is produced inside the lock: Flask-Session saves the session while the
                # response is finalised, before the app returns.
                body = self.app(environ, start_response)
                try:
                    return list(body)
                finally:
                    close = getattr(body, "close", None)
                    if close is not None:
                        close()
        except SessionBusy:
            body = json.dumps({"error": {"code": "session_busy", "message": "Another request for your cart "
                                         "is still running. Please try again in a moment."}}).encode()
            start_response("503 Service Unavailable", [("Content-Type", "application/json"),
                                                       ("Content-Length", str(len(body))),
                                                       ("Retry-After", "1")])
            return [body]

    def session_key(self, environ: dict[str, Any]) -> SessionKey | None:
        """A digest of the session cookie for a request that may write the session; else None."""
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "")
        if path.startswith("/kco/callbacks/") or (method in SAFE_METHODS and path not in WRITING_PAGES):
            return None
        try:
            cookie = SimpleCookie(environ.get("HTTP_COOKIE", "")).get(self.cookie_name)
        except CookieError:
            return None
        if cookie is None or not cookie.value:
            return None  # no session yet: this request starts a new one, nothing to race with
        return hashlib.sha256(cookie.value.encode()).hexdigest()


def session_lock(app: WSGIApp, instance_path: Path, redis_client: redis.Redis | None,
                 cookie_name: str) -> SessionLock:
    """The lock that matches the session store: Redis when sessions are in Redis, else files."""
    locks: FileLocks | RedisLocks = (RedisLocks(redis_client) if redis_client is not None
                                     else FileLocks(instance_path / "locks"))
    return SessionLock(app, locks, cookie_name)
