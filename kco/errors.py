"""The errors `kco.client` raises, so a caller can tell "KCO said no" from "KCO did not answer".

Every failure of a KCO call is a `KCOError`:

- `KCOApiError`: KCO answered with a non-2xx status. It keeps what KCO sent back (`error_code`,
  `error_messages`, `correlation_id`) so a merchant can quote the correlation id to support.
- `KCOUnreachable`: no answer at all (timeout, connection refused, DNS failure).
- `KCOProtocolError`: a 2xx answer the client cannot use (create without `Location`, a body that is not JSON).
- `KCOConfigError`: the environment does not describe a usable KCO connection; raised at start-up.

Error messages from KCO are for developers, not shoppers (kco-rules: error-body); show the shopper a short
text of your own.
"""

from __future__ import annotations


class KCOError(Exception):
    """Base class of every error raised by the `kco` package."""


class KCOConfigError(KCOError):
    """The configuration is missing or wrong; the message names the environment variable to fix."""


class KCOApiError(KCOError):
    """KCO answered a call with an error status (4xx/5xx, or a 3xx the client does not follow)."""

    def __init__(
        self,
        operation: str,
        status: int,
        error_code: str | None = None,
        error_messages: list[str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.operation = operation
        self.status = status
        self.error_code = error_code
        self.error_messages = list(error_messages or [])
        self.correlation_id = correlation_id
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"KCO {self.operation} failed with HTTP {self.status}"
        if self.error_code:
            text += f" {self.error_code}"
        if self.error_messages:
            text += ": " + "; ".join(self.error_messages)
        if self.correlation_id:
            text += f" (correlation id {self.correlation_id})"
        return text

    @property
    def is_read_only_order(self) -> bool:
        """True when the order is already completed and can no longer change.

        KCO answers an update (or abort) of a completed order with 403 READ_ONLY_ORDER, "Resource is
        read-only" (kco-rules: status-codes, error-codes). Integrations treat it as "the shopper has paid".
        """
        return self.status == 403 and self.error_code == "READ_ONLY_ORDER"


class KCOUnreachable(KCOError):
    """No HTTP answer from KCO: connect or read timeout, connection refused, DNS failure.

    `request_sent` is True after a read timeout: KCO got the request and may have acted on it (a timed-out
    create may still have created an order).
    """

    def __init__(self, operation: str, reason: str, *, request_sent: bool = False) -> None:
        self.operation = operation
        self.reason = reason
        self.request_sent = request_sent
        super().__init__(f"KCO {operation} failed: {reason}")


class KCOProtocolError(KCOError):
    """KCO answered with a success status, but the answer cannot be used as documented."""

    def __init__(self, operation: str, problem: str) -> None:
        self.operation = operation
        self.problem = problem
        super().__init__(f"KCO {operation} returned an unusable answer: {problem}")
