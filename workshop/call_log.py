"""Where the workshop inspector keeps its log (workshop/inspector.py): per shopper checkout, keyed by the
checkout's id, which KCO's callbacks find through their order id.

With REDIS_URL in Redis beside the sessions (`RedisCallLog`: a change appends its entries to a list, the
panel's poll reads it), so several shop processes share it; else in the shop process's memory
(`ProcessCallLog`), which suits the workshop's one development server and costs a change next to nothing.
Two writes to one checkout's log at the very same moment may describe a change against the order content
before the other one: acceptable for a teaching aid, not for anything a payment relies on.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from cachelib import BaseCache, NullCache
from flask import Flask

MAX_ENTRIES = 50
MAX_CHECKOUTS = 2000  # logs kept in memory (`ProcessCallLog`), the most recently written ones
LOG_TTL_SECONDS = 6 * 3600

# A JSON object: a `kco.checkout.order_content` value, or the `{order_id, content}` a log keeps.
Content = dict[str, Any]


class CallLog:
    """Bounded per-checkout logs in a cachelib cache.

    Per checkout: its last MAX_ENTRIES entries, each with an `id` that keeps counting so the panel sees the
    new ones, and the order content the shop last sent (create/update) or a callback set,
    `{order_id, content}`, which the next entry is compared with. Here one cache entry holds both;
    `ProcessCallLog` and `RedisCallLog` keep them cheaper to change."""

    def __init__(self, cache: BaseCache) -> None:
        self.cache = cache
        self._lock = threading.Lock()  # one process's writers; across processes see the module docstring

    def entries(self, key: str) -> list[dict[str, Any]]:
        if not key:
            return []
        return list((self.cache.get(f"log:{key}") or {}).get("entries", []))

    def content(self, key: str) -> Content | None:
        """The order content last recorded for the checkout, `{order_id, content}`, or None."""
        return (self.cache.get(f"log:{key}") or {}).get("content")

    def record(self, key: str, new_entries: list[dict[str, Any]], content: Content | None = None) -> None:
        """Adds entries (given without `id`) to the checkout's log and, unless None, sets its `content`."""
        with self._lock:
            stored = self.cache.get(f"log:{key}") or {"next_id": 1, "entries": [], "content": None}
            stored["next_id"] = _add_entries(stored["entries"], stored["next_id"], new_entries)
            stored["entries"] = stored["entries"][-MAX_ENTRIES:]
            if content is not None:
                stored["content"] = content
            self.cache.set(f"log:{key}", stored, timeout=LOG_TTL_SECONDS)

    def append(self, key: str, new_entries: list[dict[str, Any]]) -> None:
        self.record(key, new_entries)


class ProcessCallLog(CallLog):
    """The log in this process's memory: for the workshop's one development server with file sessions, where
    nothing needs sharing; no file is read, pickled or written per change. Lost when the server restarts.
    Holds the last MAX_CHECKOUTS checkouts' logs."""

    def __init__(self) -> None:
        super().__init__(NullCache())
        self._logs: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def entries(self, key: str) -> list[dict[str, Any]]:
        with self._lock:
            stored = self._logs.get(key) if key else None
            return list(stored["entries"]) if stored else []

    def content(self, key: str) -> Content | None:
        with self._lock:
            stored = self._logs.get(key)
            return stored["content"] if stored else None

    def record(self, key: str, new_entries: list[dict[str, Any]], content: Content | None = None) -> None:
        with self._lock:
            stored = self._logs.get(key) or {"next_id": 1, "entries": [], "content": None}
            stored["next_id"] = _add_entries(stored["entries"], stored["next_id"], new_entries)
            if len(stored["entries"]) > MAX_ENTRIES:
                del stored["entries"][:-MAX_ENTRIES]
            if content is not None:
                stored["content"] = content
            _keep_newest(self._logs, key, stored)


class RedisCallLog(CallLog):
    """The log in Redis beside the sessions, shared by several shop processes: the entries in a Redis list
    and the content in its own key, as JSON, so recording a change reads the content (one GET) and appends
    its entries (one MULTI/EXEC) without loading or rewriting the whole log; the panel's poll reads the list.

    An entry's id is not stored: a counter key holds how many entries the checkout ever had, and the same
    transaction that pushes entries adds their number to it and trims the list, so the last entry's id is the
    counter and the ones before it count down from there."""

    PREFIX = "kco-inspector:"

    def __init__(self, client: Any) -> None:
        super().__init__(NullCache())
        self.client = client

    def _keys(self, key: str) -> tuple[str, str, str]:
        return f"{self.PREFIX}entries:{key}", f"{self.PREFIX}count:{key}", f"{self.PREFIX}content:{key}"

    def entries(self, key: str) -> list[dict[str, Any]]:
        if not key:
            return []
        entries_key, count_key, _ = self._keys(key)
        with self.client.pipeline(transaction=True) as transaction:
            transaction.lrange(entries_key, 0, -1)
            transaction.get(count_key)
            stored, count = transaction.execute()
        first_id = int(count or 0) - len(stored) + 1
        return [{"id": first_id + index, **json.loads(entry)} for index, entry in enumerate(stored)]

    def content(self, key: str) -> Content | None:
        stored = self.client.get(self._keys(key)[2])
        return json.loads(stored) if stored else None

    def record(self, key: str, new_entries: list[dict[str, Any]], content: Content | None = None) -> None:
        entries_key, count_key, content_key = self._keys(key)
        with self.client.pipeline(transaction=True) as transaction:
            if new_entries:
                transaction.rpush(entries_key, *map(json.dumps, new_entries))
                transaction.incrby(count_key, len(new_entries))
                transaction.ltrim(entries_key, -MAX_ENTRIES, -1)
            if content is not None:
                transaction.set(content_key, json.dumps(content))
            for stored_key in (entries_key, count_key, content_key):
                transaction.expire(stored_key, LOG_TTL_SECONDS)
            transaction.execute()


def _keep_newest(held: OrderedDict[str, Any], key: str, value: Any) -> None:
    held[key] = value
    held.move_to_end(key)
    while len(held) > MAX_CHECKOUTS:
        held.popitem(last=False)


def _add_entries(entries: list[dict[str, Any]], next_id: int, new_entries: list[dict[str, Any]]) -> int:
    """Appends `new_entries` to `entries`, numbered from `next_id`; returns the next free id."""
    for entry in new_entries:
        entries.append({"id": next_id, **entry})
        next_id += 1
    return next_id


def call_log_for(app: Flask) -> CallLog:
    """Redis, shared by several processes, when the sessions are there; else this process's memory."""
    if app.config.get("SESSION_TYPE") == "redis":
        return RedisCallLog(app.config["SESSION_REDIS"])
    return ProcessCallLog()
