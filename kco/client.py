"""A small HTTP client for the KCO Checkout v3 and Order Management v1 APIs.

One method per API operation the integration uses (kco-rules: status-codes):

    create_order        POST /checkout/v3/orders                              201 + Location
    read_order          GET  /checkout/v3/orders/{order_id}                   200
    update_order        POST /checkout/v3/orders/{order_id}                   200
    abort_order         POST /checkout/v3/orders/{order_id}/abort             200
    read_om_order       GET  /ordermanagement/v1/orders/{order_id}            200
    acknowledge_order   POST /ordermanagement/v1/orders/{order_id}/acknowledge 204

What a merchant should know before copying it:

- Configuration comes from the environment through `ClientConfig.from_env`, which fails at start-up naming
  the variable to fix.
- Reads are retried a few times on connection errors and 502/503/504 (not on a read timeout: KCO is then
  slow rather than absent, and a retry would only make the shopper wait longer). Create and update are never
  retried: if a create timed out, KCO may have made the order, and a blind retry would make a second one.
  Acknowledge is retried with the same `Klarna-Idempotency-Key`, which makes the retry safe
  (order-management-v1-openapi.yml acknowledgeOrder).
- Every failure is a `kco.errors.KCOError`; see that module.
- Each HTTP attempt is logged on the `kco` logger (method, path, status, duration, correlation id): at
  WARNING when it failed, at DEBUG when it succeeded (`logging.getLogger("kco").setLevel(logging.DEBUG)` to
  see every call). Each is also reported to the optional `on_call` hook as a `KCOCall`. Credentials never
  appear in either.
"""

from __future__ import annotations

import base64
import json
import logging
import platform
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from kco import __version__
from kco.errors import KCOApiError, KCOConfigError, KCOProtocolError, KCOUnreachable

logger = logging.getLogger("kco")

# Base URLs by environment (kco-rules: api-hosts). Kustom documents one host per environment, for every
# region: Kustom's own WooCommerce plugin removed "-na" for US stores as a bug (2.19.0). Regional Kustom hosts
# (api-na.kustom.co, api-oc.kustom.co) appear only in Kustom's Magento module, are unverified, and are used
# only when named in KCO_API_URL.
KUSTOM_HOSTS = {"live": "https://api.kustom.co", "playground": "https://api.playground.kustom.co"}
# After 31 March 2026 API calls to Klarna's hosts no longer work for KCO merchants (kco-rules: api-hosts).
KLARNA_BRAND_REFUSED = (
    "KCO_BRAND=klarna: Kustom moved KCO merchants off the Klarna hosts, which no longer answer KCO calls "
    "since 31 March 2026; set KCO_BRAND=kustom (https://api.kustom.co, playground "
    "https://api.playground.kustom.co)"
)
# The local emulator's demo credentials, which kco_emulator accepts: used for a loopback KCO_API_URL when
# none are set, so a first start against the emulator needs none.
EMULATOR_CREDENTIALS = ("demo", "demo")
# A Kustom API key says which environment it is for (kco-rules: basic-auth).
KEY_ENVIRONMENTS = {"kco_test_": "playground", "kco_live_": "live"}
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# Connect: a little over 3 s, the usual TCP retransmission step, so one lost SYN is retried before we give up.
# Read: KCO itself gives up after 30 s and answers 504 (kco-rules: error-codes); a shopper should not stare at
# a spinner that long, and a healthy answer takes well under a second, so 10 s is the ceiling.
DEFAULT_CONNECT_TIMEOUT = 3.05
DEFAULT_READ_TIMEOUT = 10.0
# Reads and acknowledge: up to 3 attempts, waiting 0.25 s then 0.5 s (doubling, capped at 2 s).
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 2.0
RETRYABLE_STATUSES = frozenset({502, 503, 504})
# When the time budget of the KCO calls made for the current request ends (`time_budget`), on the monotonic
# clock; None outside one.
_budget_end: ContextVar[float | None] = ContextVar("kco_budget_end", default=None)


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Every KCO call made inside shares `seconds`: each gets what is left as its connect and read timeouts,
    a wait between attempts never outlasts it, and no call starts once it is spent (`KCOUnreachable`). So one
    request waits at most `seconds` for KCO, however many calls it needs."""
    token = _budget_end.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _budget_end.reset(token)


def budget_left() -> float | None:
    """Seconds left of the current `time_budget` (zero or less once spent); None outside one."""
    end = _budget_end.get()
    return None if end is None else end - time.monotonic()


def sleep_within_budget(seconds: float) -> None:
    """`time.sleep`, cut short where the current time budget ends."""
    left = budget_left()
    time.sleep(max(0.0, seconds if left is None else min(seconds, left)))


def default_user_agent() -> str:
    """`Key/Name_Version` parts with an optional `(...)` group, the Klarna SDK convention.

    See kco-rules: request-headers.
    """
    return (
        f"Library/kco-python-reference_{__version__} (requests/{requests.__version__}) "
        f"OS/{platform.system()}_{platform.release()} Language/Python_{platform.python_version()}"
    )


@dataclass(frozen=True)
class ClientConfig:
    """Where KCO is and how to authenticate. Secrets are kept out of `repr` so they never reach a log."""

    base_url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    user_agent: str = field(default_factory=default_user_agent)
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS

    @property
    def is_local(self) -> bool:
        """True for the local emulator (127.0.0.1 / localhost): without credentials, its demo ones go."""
        return host_of(self.base_url) in LOCAL_HOSTS

    @property
    def authorization(self) -> str | None:
        """The `Authorization` header value, or None when no credentials are configured."""
        if self.api_key:
            # A Kustom API key goes after "Basic " as issued, not base64-encoded again
            # (kco-rules: basic-auth).
            return f"Basic {self.api_key}"
        if self.username is not None and self.password is not None:
            # Classic HTTP Basic: base64("username:password") (kco-rules: basic-auth).
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
            return f"Basic {token}"
        return None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ClientConfig:
        """Read the KCO_* variables; raise `KCOConfigError` naming the variable that is missing or wrong.

        Host: KCO_API_URL, or KCO_ENVIRONMENT (playground/live). KCO_BRAND may only be kustom
        (`KLARNA_BRAND_REFUSED`); KCO_REGION (eu/na/oc) is checked but picks nothing, since Kustom has one
        host for every region.
        Credentials: KCO_USERNAME + KCO_PASSWORD, or KCO_API_KEY, whose kco_test_ or kco_live_ prefix must
        match the host's environment (the emulator's is playground).
        Timeouts in seconds: KCO_CONNECT_TIMEOUT, KCO_READ_TIMEOUT.
        """
        base_url = _base_url_from_env(environ)
        username = environ.get("KCO_USERNAME") or None
        password = environ.get("KCO_PASSWORD") or None
        api_key = environ.get("KCO_API_KEY") or None
        is_local = host_of(base_url) in LOCAL_HOSTS
        if api_key and (username or password):
            raise KCOConfigError("set either KCO_API_KEY or KCO_USERNAME and KCO_PASSWORD, not both")
        if username and not password:
            raise KCOConfigError("KCO_PASSWORD is not set (KCO_USERNAME is)")
        if password and not username:
            raise KCOConfigError("KCO_USERNAME is not set (KCO_PASSWORD is)")
        if not api_key and not username:
            if not is_local:
                raise KCOConfigError(
                    f"KCO_USERNAME and KCO_PASSWORD (or KCO_API_KEY) must be set to call {base_url}")
            username, password = EMULATOR_CREDENTIALS
        _check_key_environment(api_key, base_url)
        return cls(
            base_url=base_url,
            username=username,
            password=password,
            api_key=api_key,
            connect_timeout=_seconds_from_env(environ, "KCO_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT),
            read_timeout=_seconds_from_env(environ, "KCO_READ_TIMEOUT", DEFAULT_READ_TIMEOUT),
        )


def _base_url_from_env(environ: Mapping[str, str]) -> str:
    explicit = environ.get("KCO_API_URL", "").strip()
    if explicit:
        parts = urlsplit(explicit)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise KCOConfigError(f"KCO_API_URL must be an http(s) URL, got {explicit!r}")
        # KCO is served over HTTPS only (kco-rules: api-hosts); plain http is for the local emulator.
        if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
            raise KCOConfigError("KCO_API_URL must use https unless it points at 127.0.0.1 or localhost")
        return explicit.rstrip("/")
    environment = environ.get("KCO_ENVIRONMENT", "").strip().lower()
    if not environment:
        raise KCOConfigError("set KCO_API_URL, or KCO_ENVIRONMENT (playground or live) to pick a KCO host")
    region = environ.get("KCO_REGION", "eu").strip().lower() or "eu"
    brand = environ.get("KCO_BRAND", "kustom").strip().lower() or "kustom"
    if environment not in KUSTOM_HOSTS:
        raise KCOConfigError(f"KCO_ENVIRONMENT must be playground or live, got {environment!r}")
    if region not in ("eu", "na", "oc"):
        raise KCOConfigError(f"KCO_REGION must be eu, na or oc, got {region!r}")
    if brand == "klarna":
        raise KCOConfigError(KLARNA_BRAND_REFUSED)
    if brand != "kustom":
        raise KCOConfigError(f"KCO_BRAND must be kustom, got {brand!r}")
    return KUSTOM_HOSTS[environment]


def _check_key_environment(api_key: str | None, base_url: str) -> None:
    """A kco_test_ key against a live host, or a kco_live_ key against the playground or the emulator, would
    only be refused (401) on the first call: refused at start instead."""
    host = host_of(base_url)
    environment = "playground" if host in LOCAL_HOSTS or "playground" in host else "live"
    for prefix, key_environment in KEY_ENVIRONMENTS.items():
        if api_key and api_key.startswith(prefix) and key_environment != environment:
            raise KCOConfigError(f"KCO_API_KEY is a {key_environment} key ({prefix}...) but {base_url} is "
                                 f"{environment}: use a key for {environment}, or the {key_environment} host")


def host_of(url: str) -> str:
    """The URL's host name, lower-cased; "" for a URL without one."""
    return urlsplit(url).hostname or ""


def _seconds_from_env(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        raise KCOConfigError(f"{name} must be a number of seconds, got {text!r}") from None
    if not 0 < seconds <= 300:
        raise KCOConfigError(f"{name} must be between 0 and 300 seconds, got {text!r}")
    return seconds


def failure_cause(failure: requests.exceptions.RequestException, host: str) -> str:
    """Why a call got no answer, naming the host: DNS, connection refused, TLS, a proxy, connect timeout, read
    timeout, or the kind of failure and its text (e.g. a connection reset)."""
    causes = _causes(failure)
    if isinstance(failure, requests.exceptions.ProxyError):
        kind = "proxy failure"
    elif isinstance(failure, requests.exceptions.ConnectTimeout):
        kind = "connect timeout"
    elif isinstance(failure, requests.exceptions.ReadTimeout):
        kind = "read timeout"
    elif isinstance(failure, requests.exceptions.SSLError):
        kind = "TLS failure"
    elif any(isinstance(cause, socket.gaierror) for cause in causes):
        kind = "DNS lookup failed"
    elif any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        kind = "connection refused"
    else:
        return f"{type(failure).__name__} ({host}): {failure}"
    return f"{kind} ({host})"


def _causes(failure: BaseException) -> list[BaseException]:
    """The exception and those behind it: requests wraps urllib3's error, raised from the socket's."""
    found: list[BaseException] = []
    waiting: list[Any] = [failure]
    while waiting:
        cause = waiting.pop()
        if isinstance(cause, BaseException) and not any(cause is seen for seen in found):
            found.append(cause)
            waiting.extend([cause.__cause__, cause.__context__, *cause.args])
    return found


# Not an order id, whatever the caller says: an empty path segment, and the two that a URL resolves away
# ("orders/../x" is "x"), which requests does before it sends.
NOT_ORDER_IDS = ("", ".", "..")


def _segment(order_id: str) -> str:
    """The order id as one URL path segment, so an odd id can never point the call at another path; one of
    NOT_ORDER_IDS is refused (ValueError) before any call."""
    if order_id in NOT_ORDER_IDS:
        raise ValueError(f"{order_id!r} is not an order id: as a URL path segment it names another path")
    return quote(order_id, safe="")


def location_names_order(location: str, base_url: str, order_id: str) -> bool:
    """Whether a create's Location is the URL the client builds for `order_id` (on the API host, or a path
    without the host; a trailing slash allowed)."""
    if order_id in NOT_ORDER_IDS:
        return False
    built = urlsplit(f"{base_url}/checkout/v3/orders/{_segment(order_id)}")
    given = urlsplit(location)
    return given.path.rstrip("/") == built.path and given.netloc in ("", built.netloc)


@dataclass(frozen=True)
class KCOCall:
    """One HTTP attempt, as reported to `on_call`; deliberately has no headers or bodies."""

    operation: str
    method: str
    path: str
    status: int | None
    duration_ms: float
    correlation_id: str | None
    order_id: str | None
    error: str | None
    # When the attempt started, in seconds since the epoch (wall clock): a timeline of calls shows the waits
    # between them, such as a retry's.
    started_at: float


@dataclass(frozen=True)
class _Request:
    operation: str
    method: str
    path: str
    order_id: str | None
    expected_status: int
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry: bool = False
    """Safe to repeat: a read, or a write protected by an idempotency key."""


class KCOAuth(requests.auth.AuthBase):
    """The configured credentials as requests' `auth`, so they win over a `.netrc` entry for the KCO host, as
    requests documents for an explicit `auth` (with none configured, `.netrc` is used)."""

    def __init__(self, authorization: str) -> None:
        self.authorization = authorization

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.authorization
        return request


class KCOClient:
    """Calls KCO; one instance per process is enough (the session pools connections)."""

    def __init__(
        self,
        config: ClientConfig,
        session: requests.Session | None = None,
        on_call: Callable[[KCOCall], None] | None = None,
        *,
        sleep: Callable[[float], None] = sleep_within_budget,
    ) -> None:
        self.config = config
        # One session keeps KCO connections alive. It honours the environment as requests documents:
        # HTTPS_PROXY and NO_PROXY per URL, REQUESTS_CA_BUNDLE, and .netrc when no credentials are configured.
        self.session = session if session is not None else requests.Session()
        self._auth = KCOAuth(config.authorization) if config.authorization else None
        self.on_call = on_call
        self._sleep = sleep

    # --- Checkout API v3 (checkout-v3-openapi.yml; kco-rules: status-codes) ---------------------------------

    def create_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """Create a checkout order; returns the order including `order_id` and `html_snippet`.

        Never retried: after a timeout KCO may have created the order, and a retry would create another.
        An orphan order simply expires after 48 h (kco-rules: expiry-48h).
        """
        request = _Request("create", "POST", "/checkout/v3/orders", None, 201, body=order)
        response = self._send(request)
        created = self._json_object(request, response)
        # The answer carries the new order's URL in Location, which createOrderMerchant says to use for later
        # reads and updates instead of building it from the id. The client keeps only the id, and builds the
        # URL by the paths of readOrderMerchant and updateOrderMerchant, a deviation (kco-rules:
        # request-headers): so it checks here that Location is exactly that URL, and fails loudly if KCO ever
        # answers another form.
        location = response.headers.get("Location", "")
        order_id = created.get("order_id")
        if not location:
            raise KCOProtocolError("create", "201 without a Location header")
        if not isinstance(order_id, str) or order_id in NOT_ORDER_IDS:
            raise KCOProtocolError("create", f"order_id {order_id!r} is not an order id")
        if not location_names_order(location, self.config.base_url, order_id):
            raise KCOProtocolError("create", f"Location {location!r} is not the URL of order_id {order_id!r}")
        return created

    def read_order(self, order_id: str) -> dict[str, Any]:
        """Read a checkout order. 404 means unknown or expired: create a new order.

        See kco-rules: expiry-48h, new-order-on-error.
        """
        path = f"/checkout/v3/orders/{_segment(order_id)}"
        request = _Request("read", "GET", path, order_id, 200, retry=True)
        return self._json_object(request, self._send(request))

    def update_order(self, order_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Update an ongoing order; omitted fields keep their values (a partial merge: checkout-v3-openapi.yml
        updateOrderMerchant).

        A completed order answers 403 READ_ONLY_ORDER: see `KCOApiError.is_read_only_order`. Not retried,
        because after a lost answer the caller should read the order to learn what happened.
        """
        request = _Request(
            "update", "POST", f"/checkout/v3/orders/{_segment(order_id)}", order_id, 200, body=changes
        )
        return self._json_object(request, self._send(request))

    def abort_order(self, order_id: str) -> dict[str, Any]:
        """Abort a checkout order (checkout-v3-openapi.yml abortOrder).

        The status that follows is not documented (kco-rules: order-status).
        """
        path = f"/checkout/v3/orders/{_segment(order_id)}/abort"
        request = _Request("abort", "POST", path, order_id, 200)
        response = self._send(request)
        # abortOrder gives its answer the content type */*, so an empty body is tolerated here.
        return self._json_object(request, response) if response.content.strip() else {}

    # --- Order Management API v1 (order-management-v1-openapi.yml; kco-rules: order-management) -------------

    def read_om_order(self, order_id: str) -> dict[str, Any]:
        """Read a completed order from Order Management, the source of truth after purchase
        (kco-rules: push-and-acknowledge)."""
        request = _Request(
            "om_read", "GET", f"/ordermanagement/v1/orders/{_segment(order_id)}", order_id, 200, retry=True
        )
        return self._json_object(request, self._send(request))

    def acknowledge_order(self, order_id: str, idempotency_key: str | None = None) -> None:
        """Acknowledge a completed order, which stops KCO's push retries (kco-rules: push-and-acknowledge).
        Answers 204.

        Retried like a read: every attempt sends the same `Klarna-Idempotency-Key` (UUIDv4 recommended,
        acknowledgeOrder), so KCO treats repeats as one acknowledgement. Pass your own key to make retries
        across separate calls (e.g. a confirmation page and a push) share it too.
        """
        key = idempotency_key or str(uuid.uuid4())
        request = _Request(
            "acknowledge", "POST", f"/ordermanagement/v1/orders/{_segment(order_id)}/acknowledge", order_id,
            204, headers={"Klarna-Idempotency-Key": key}, retry=True,
        )
        self._send(request)

    # --- Transport ---------------------------------------------------------------------------------------

    def _send(self, request: _Request) -> requests.Response:
        """Send with retries where safe; return the response with the expected status, or raise."""
        attempts = self.config.max_attempts if request.retry else 1
        for attempt in range(1, attempts + 1):
            try:
                response = self._attempt(request)
            except KCOUnreachable as failure:
                # A read timeout is not retried: KCO was slow, not absent, and retrying would multiply the
                # shopper's wait. A missed acknowledge is repaired by KCO's next push
                # (kco-rules: push-and-acknowledge).
                if failure.request_sent or attempt == attempts:
                    raise
            else:
                if response.status_code == request.expected_status:
                    return response
                if 200 <= response.status_code < 300:
                    raise KCOProtocolError(
                        request.operation, f"HTTP {response.status_code}, expected {request.expected_status}"
                    )
                if response.status_code not in RETRYABLE_STATUSES or attempt == attempts:
                    raise self._api_error(request, response)
            self._sleep(min(self.config.backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
        raise AssertionError("unreachable: the loop returns or raises")

    def _attempt(self, request: _Request) -> requests.Response:
        headers = {
            "User-Agent": self.config.user_agent,
            "Accept": "application/json",
            **request.headers,
        }
        if request.body is not None:
            # Required on create and update (kco-rules: request-headers).
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        connect_timeout, read_timeout = self._timeouts(request, started)
        try:
            response = self.session.request(
                request.method,
                self.config.base_url + request.path,
                data=json.dumps(request.body) if request.body is not None else None,
                headers=headers,
                auth=self._auth,
                timeout=(connect_timeout, read_timeout),
                # A redirect is not part of the API; not following it also keeps the Authorization header
                # from travelling anywhere else.
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as failure:
            # The log and the error name the host and the cause (DNS, connection refused, TLS, a timeout),
            # never the headers.
            cause = failure_cause(failure, host_of(self.config.base_url))
            self._report(request, started, None, None, cause)
            if isinstance(failure, requests.exceptions.ReadTimeout):
                # KCO got the request and may have acted on it.
                raise KCOUnreachable(request.operation, f"{cause}: no answer within {read_timeout:.2f} s",
                                     request_sent=True) from None
            raise KCOUnreachable(request.operation, cause) from None
        correlation_id = response.headers.get("Klarna-Correlation-Id")
        error = None if response.status_code == request.expected_status else f"HTTP {response.status_code}"
        self._report(request, started, response.status_code, correlation_id, error)
        return response

    def _timeouts(self, request: _Request, started: float) -> tuple[float, float]:
        """The configured connect and read timeouts, or what is left of the time budget if that is less."""
        left = budget_left()
        if left is None:
            return self.config.connect_timeout, self.config.read_timeout
        if left <= 0:
            self._report(request, started, None, None, "time budget spent")
            raise KCOUnreachable(request.operation, "the time budget of this request is spent")
        return min(self.config.connect_timeout, left), min(self.config.read_timeout, left)

    def _report(
        self, request: _Request, started: float, status: int | None, correlation_id: str | None,
        error: str | None,
    ) -> None:
        elapsed = time.perf_counter() - started
        call = KCOCall(
            operation=request.operation,
            method=request.method,
            path=request.path,
            status=status,
            duration_ms=round(elapsed * 1000, 1),
            correlation_id=correlation_id,
            order_id=request.order_id,
            error=error,
            started_at=time.time() - elapsed,
        )
        logger.log(
            # A successful call at DEBUG: a line per call costs every request its formatting and writing.
            logging.DEBUG if error is None else logging.WARNING,
            "KCO %s %s -> %s in %.1f ms (operation=%s correlation_id=%s%s)",
            call.method, call.path, call.status if call.status is not None else "no answer", call.duration_ms,
            call.operation, call.correlation_id or "-", f" error={error}" if error else "",
        )
        if self.on_call is not None:
            try:
                self.on_call(call)
            except Exception:
                # Instrumentation must never change the outcome of a payment call.
                logger.exception("on_call hook failed")

    @staticmethod
    def _json_object(request: _Request, response: requests.Response) -> dict[str, Any]:
        try:
            parsed = response.json()
        except ValueError:
            raise KCOProtocolError(request.operation, f"{response.status_code} body is not JSON") from None
        if not isinstance(parsed, dict):
            raise KCOProtocolError(request.operation, f"{response.status_code} body is not a JSON object")
        return parsed

    @staticmethod
    def _api_error(request: _Request, response: requests.Response) -> KCOApiError:
        """Build the error from whatever came back; the body may be JSON, HTML or empty.

        See kco-rules: error-body.
        """
        try:
            parsed = response.json() if response.content.strip() else None
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else {}
        # Error bodies: error_code, error_messages[], correlation_id (kco-rules: error-body); some answers use
        # a single error_message (Klarna's PHP SDK, klarna/kco_rest_php, merges both).
        error_code = body.get("error_code") if isinstance(body.get("error_code"), str) else None
        messages = [text for text in body.get("error_messages") or [] if isinstance(text, str)]
        if isinstance(body.get("error_message"), str):
            messages.append(body["error_message"])
        if not messages and not body:
            content_type = response.headers.get("Content-Type", "no content type")
            described = "empty body" if not response.content.strip() else f"{content_type} body, not JSON"
            messages.append(f"{response.reason or 'error'} ({described})")
        correlation_id = body.get("correlation_id")
        if not isinstance(correlation_id, str) or not correlation_id:
            correlation_id = response.headers.get("Klarna-Correlation-Id")
        return KCOApiError(request.operation, response.status_code, error_code, messages, correlation_id)
