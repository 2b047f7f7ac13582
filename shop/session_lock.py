"""One request at a time per shopper session, for the requests that change it (two tabs, a double click).

Flask-Session loads the session before the view runs and writes it back after, and in between
`shop.checkout_flow` may call KCO. Two such requests of one session side by side would both start from the
same session and KCO order, and the last to finish would write its session over the other's: the session's
cart could then differ from the KCO order, or two KCO orders could be created for one shopper. So this WSGI
middleware holds a lock for the whole request, from before the session is opened until after it is saved.

The lock is one per stored session, keyed by a digest of its id, and works across processes: an `fcntl`
file lock under `instance/locks/` (one host), or a Redis lock when the sessions live in Redis (several
hosts; taking it also reads the session and saving the session also frees it, `HeldRedisSession`, so the
lock adds no round trip). Three rules keep a hostile client from holding it (docs/security.md):
- the request body is read, and its size checked, before the lock is taken: a client that sends headers and
  never the body ties up only its own connection;
- only a session id that exists in the store is locked: a made-up cookie locks nothing;
- the cookie is read with Werkzeug's parser, the one Flask-Session uses, so the lock guards exactly the
  session the request will open.
Requests that only read (GET /api/cart, static files) and KCO's callbacks (no shopper cookie) pass without it.
"""

from __future__ import annotations

import enum
import fcntl
import hashlib
import io
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.commands.core import Script
from werkzeug.http import parse_cookie

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
SessionKey = str
SessionExists = Callable[[str], bool]

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
# Longer cookie values are no session id of ours (Flask-Session's ids are 43 characters): never looked up.
MAX_SESSION_ID_LENGTH = 128
READ_CHUNK = 64 * 1024


class SessionBusy(Exception):
    """The other request of this session did not finish within WAIT_SECONDS."""


class Found(enum.Enum):
    """What `hold_if_stored` found: the lock held, the session renewed while this request waited for it, or
    no stored session at all (then nothing is locked)."""

    HELD = "held"
    RENEWED = "renewed"
    NEVER_STORED = "never stored"


class FileLocks:
    """`fcntl.flock` on instance/locks/<session digest>.lock: excludes threads and processes on one host.

    One file per stored session; shop/sessions.py removes the files of sessions that have expired."""

    def __init__(self, directory: Path, session_exists: SessionExists | None = None) -> None:
        self.directory = directory
        self.session_exists = session_exists
        directory.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def hold_if_stored(self, sid: str) -> Iterator[Found]:
        """Holds the session's lock, then says whether the session is still stored (see SessionLock). Called
        only for a session SessionLock found stored, so one that is gone now was renewed meanwhile."""
        with self.hold(session_digest(sid)):
            yield Found.HELD if self.session_exists is None or self.session_exists(sid) else Found.RENEWED

    @contextmanager
    def hold(self, key: SessionKey) -> Iterator[None]:
        # Each request opens the file itself: flock locks belong to the open file, so two threads of one
        # process exclude each other as two processes do. A bare descriptor: nothing is read or written.
        descriptor = os.open(self.directory / f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.utime(descriptor)  # last use, for the clean-up of expired sessions' lock files
            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    # flock itself cannot time out, so wait in short steps up to the deadline.
                    if time.monotonic() > deadline:
                        raise SessionBusy(key) from None
                    time.sleep(0.005)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)


# Takes the lock (SET NX with an expiry, as redis-py's Lock does) only while the session is stored, and reads
# the session, in one round trip: {1, session} taken, {0} held by another request, {-1} no such session.
ACQUIRE_IF_STORED = """
local stored = redis.call('get', KEYS[1])
if not stored then return {-1} end
if redis.call('set', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, stored} end
return {0}
"""
# Frees the lock only if it is still this request's (it may have expired and been taken by another).
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
# Saves the session (KEYS[1], for ARGV[2] seconds) and then frees the lock (KEYS[2]) if it is still this
# request's, in one command; the save comes first, so the next request of this session reads it.
SAVE_AND_RELEASE = """
redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2])
if redis.call('get', KEYS[2]) == ARGV[3] then return redis.call('del', KEYS[2]) end
return 0
"""
REDIS_RETRY_SECONDS = 0.01


@dataclass
class HeldRedisSession:
    """The session whose Redis lock this request holds, as read in the round trip that took the lock.

    shop/sessions.py's `LockedRedisSessions` opens the session from `stored` instead of reading it again, and
    saves it with `save_and_release`: each request then talks to Redis twice, as it would without the lock."""

    session_key: str
    stored: bytes
    lock_key: str
    token: str
    save_and_release_script: Script
    released: bool = False

    def save_and_release(self, store_id: str, value: bytes, seconds: int) -> None:
        """Saves the session under `store_id` and frees the lock, in one command (`SAVE_AND_RELEASE`). If it
        fails, `released` stays False and the lock is freed by SessionLock, or on its own."""
        self.save_and_release_script(keys=[store_id, self.lock_key], args=[value, seconds, self.token])
        self.released = True


# The lock this request holds, while it runs; None outside SessionLock or with the file store.
held_redis_session: ContextVar[HeldRedisSession | None] = ContextVar("held_redis_session", default=None)


class RedisLocks:
    """SET NX with an expiry, as redis-py's Lock does: excludes processes on every host sharing the
    Redis."""

    def __init__(self, client: redis.Redis, session_prefix: str = "session:") -> None:
        self.client = client
        self.session_prefix = session_prefix
        self._acquire_if_stored = client.register_script(ACQUIRE_IF_STORED)
        self._release = client.register_script(RELEASE)
        self._save_and_release = client.register_script(SAVE_AND_RELEASE)

    @contextmanager
    def hold_if_stored(self, sid: str) -> Iterator[Found]:
        """Holds the session's lock, having checked that the session is stored and read it in the same
        round trip (see SessionLock and `HeldRedisSession`). A session missing at the first try was never
        stored (a new visitor, a made-up or expired cookie): nothing is locked. One that goes missing while
        this request waits was renewed by the request holding the lock."""
        key = f"shop:session-lock:{session_digest(sid)}"
        token = secrets.token_hex(16)
        deadline = time.monotonic() + WAIT_SECONDS
        waited = False
        while (answer := self._acquire_if_stored(keys=[self.session_prefix + sid, key],
                                                 args=[token, REDIS_LOCK_SECONDS * 1000]))[0] == 0:
            if time.monotonic() > deadline:
                raise SessionBusy(key)
            waited = True
            time.sleep(REDIS_RETRY_SECONDS)
        if answer[0] < 0:
            yield Found.RENEWED if waited else Found.NEVER_STORED
            return
        held = HeldRedisSession(self.session_prefix + sid, answer[1], key, token, self._save_and_release)
        context = held_redis_session.set(held)
        try:
            yield Found.HELD
        finally:
            held_redis_session.reset(context)
            if not held.released:  # the request saved no session, or its save failed
                self._release(keys=[key], args=[token])


class BodyTooLarge(Exception):
    """The request body is longer than the shop accepts (MAX_CONTENT_LENGTH)."""


def buffer_body(environ: dict[str, Any], max_bytes: int | None) -> None:
    """Read the whole request body now and hand the app an in-memory copy; BodyTooLarge past `max_bytes`."""
    stream = environ["wsgi.input"]
    length_header = environ.get("CONTENT_LENGTH") or ""
    if length_header.isdigit():
        remaining = int(length_header)
        if max_bytes is not None and remaining > max_bytes:
            raise BodyTooLarge
    elif environ.get("wsgi.input_terminated"):
        remaining = (max_bytes if max_bytes is not None else 1 << 62) + 1  # chunked: read to the end
    else:
        remaining = 0  # neither a length nor a terminated stream: WSGI says there is no body
    chunks: list[bytes] = []
    while remaining > 0:
        chunk = stream.read(min(remaining, READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    body = b"".join(chunks)
    if max_bytes is not None and len(body) > max_bytes:
        raise BodyTooLarge
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("wsgi.input_terminated", None)
    environ.pop("HTTP_TRANSFER_ENCODING", None)


class SessionLock:
    """WSGI middleware: runs each session-writing request of one stored session alone."""

    def __init__(self, app: WSGIApp, locks: FileLocks | RedisLocks, cookie_name: str,
                 session_exists: SessionExists | None, max_body: Callable[[], int | None]) -> None:
        """`session_exists`: asked before the body is read, when asking is cheap (a file); None when the
        lock's own round trip says it (Redis, `RedisLocks.hold_if_stored`)."""
        self.app = app
        self.locks = locks
        self.cookie_name = cookie_name
        self.session_exists = session_exists
        self.max_body = max_body

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        sid = self.session_id(environ)
        if sid is None or (self.session_exists is not None and not self.session_exists(sid)):
            # No stored session to race with: a new visitor, or a made-up or expired cookie, which
            # Flask-Session replaces with a fresh session.
            return self.app(environ, start_response)
        try:
            buffer_body(environ, self.max_body())
        except BodyTooLarge:
            return _answer(start_response, "413 Request Entity Too Large", "body_too_large",
                           "The request is larger than the shop accepts.")
        try:
            with self.locks.hold_if_stored(sid) as found:
                if found is Found.RENEWED:
                    # The request that held the lock gave the session a new id (shop/sessions.py renews it
                    # when a KCO order is created and at the confirmation) or ended it. The browser already
                    # holds the new cookie; this request, sent with the old one, must not start afresh.
                    return self._renewed(environ, start_response)
                if found is Found.HELD:
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
            return _answer(start_response, "503 Service Unavailable", "session_busy",
                           "Another request for your cart is still running. Please try again in a moment.",
                           [("Retry-After", "1")])
        # Found.NEVER_STORED (Redis, which checks in the lock's round trip): as above, nothing to race with.
        return self.app(environ, start_response)

    def session_id(self, environ: dict[str, Any]) -> str | None:
        """The session cookie of a request that may write the session, read as Flask reads it; else None."""
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "")
        if path.startswith("/kco/callbacks/") or (method in SAFE_METHODS and path not in WRITING_PAGES):
            return None
        sid = parse_cookie(environ).get(self.cookie_name)
        if not sid or len(sid) > MAX_SESSION_ID_LENGTH:
            return None
        return sid

    @staticmethod
    def _renewed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET").upper() in SAFE_METHODS:
            # A page: ask again, now with the browser's new cookie.
            query = environ.get("QUERY_STRING", "")
            location = environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")
            start_response("303 See Other", [("Location", location), ("Content-Length", "0")])
            return [b""]
        return _answer(start_response, "409 Conflict", "session_renewed",
                       "Your session was renewed in another tab. Please reload the page.")


def session_digest(sid: str) -> SessionKey:
    return hashlib.sha256(sid.encode()).hexdigest()


def _answer(start_response: Callable[..., Any], status: str, code: str, message: str,
            headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    """The shop's one error shape (shop/errors.py), from below Flask."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store"), *(headers or [])])
    return [body]


def session_lock(app: WSGIApp, instance_path: Path, redis_client: redis.Redis | None, cookie_name: str,
                 session_exists: SessionExists | None, max_body: Callable[[], int | None],
                 session_prefix: str = "session:") -> SessionLock:
    """The lock that matches the session store: Redis when sessions are in Redis (`session_prefix` + id is a
    session's key there), else files (`session_exists` then says whether a file holds the session)."""
    if redis_client is not None:
        # The lock's script checks that the session is stored: no separate round trip before it.
        return SessionLock(app, RedisLocks(redis_client, session_prefix), cookie_name, None, max_body)
    return SessionLock(app, FileLocks(instance_path / "locks", session_exists), cookie_name, session_exists,
                       max_body)
