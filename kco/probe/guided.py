"""What the guided probes share: the orders they create, the page that shows each one, and the person (or a
test's guide) who does each step in the widget.

A guide is a function `guide(step, page_url)`: it is called when the page shows a new step, and returns once
it has done it (a test's guide presses the page's Done itself) or at once (`print_step`, for a person, who
presses Done when the step is done). The probe then waits for that Done, at most `step_timeout` seconds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from kco.probe.clock import Clock
from kco.probe.kco_calls import Exchange, RawKco, sample_order
from kco.probe.listener import Listener, Step

Guide = Callable[[Step, str], None]

# Klarna's sample test person for Sweden (Kustom took KCO over from Klarna); the instruction points to
# Kustom's test data should the playground refuse it. The emulator takes any address.
SHOPPER = {"email": "youremail@email.com", "given_name": "Testperson-se", "family_name": "Approved",
           "street_address": "Stårgatan 1", "postal_code": "12345", "city": "Ankeborg"}
SHOPPER_EXTRAS = ("phone 0765260000 and personal number 410321-9202 if asked; if the playground refuses "
                  "them, Kustom's test data for Sweden")
RECIPIENT = {"given_name": "Testperson-se", "family_name": "Recipient", "street_address": "Sveavägen 1",
             "postal_code": "11157", "city": "Stockholm"}


def spelled(address: dict[str, str]) -> str:
    return ", ".join(address.values())


class NotObserved(Exception):
    """A step could not be done or KCO refused what it needs: the reason goes into the report."""


class Guided:
    def __init__(self, kco: RawKco, listener: Listener, public_url: str, guide: Guide, clock: Clock,
                 step_timeout: float, total_steps: int) -> None:
        self.kco = kco
        self.listener = listener
        self.public_url = public_url
        self.guide = guide
        self.clock = clock
        self.step_timeout = step_timeout
        self.total_steps = total_steps
        self.steps_shown = 0
        self.open_orders: list[str] = []
        self.snippets: list[str] = []

    def new_order(self, *callbacks: str, **extra: Any) -> tuple[str, str]:
        """A fresh order calling back `callbacks`; its id and html_snippet. Aborted at the end unless
        completed."""
        created = self.kco.create(sample_order(self.public_url, *callbacks, **extra))
        body = created.json if isinstance(created.json, dict) else {}
        if created.status != 201 or not body.get("order_id"):
            raise NotObserved(f"KCO refused the order this probe needs: {_refusal(created)}")
        self.open_orders.append(body["order_id"])
        self.snippets.append(str(body.get("html_snippet") or ""))
        return body["order_id"], str(body.get("html_snippet") or "")

    def open_in_page(self, order_id: str, snippet: str) -> None:
        self.listener.page_order_id = order_id
        self.listener.page_snippet = snippet

    def show(self, step_id: str, instruction: str, order_id: str | None, action: str | None = None,
             **details: Any) -> int:
        self.steps_shown += 1
        step = Step(step_id, instruction, order_id, details, action, self.steps_shown, self.total_steps)
        seq = self.listener.show(step)
        self.guide(step, self.public_url + "/")
        return seq

    def ask(self, step_id: str, instruction: str, order_id: str | None, action: str | None = None,
            **details: Any) -> dict[str, Any]:
        """Show the step, let the guide do it, and wait for Done; what the page posted with it."""
        seq = self.show(step_id, instruction, order_id, action, **details)
        observed = self.listener.wait_done(seq, self.step_timeout)
        if observed is None:
            raise NotObserved(f"the step “{instruction}” was not done within {self.step_timeout:g} s")
        return observed

    def read(self, order_id: str) -> dict[str, Any]:
        read = self.kco.read(order_id)
        if read.status != 200 or not isinstance(read.json, dict):
            raise NotObserved(f"reading the order answered {_refusal(read)}")
        return read.json

    def finish(self) -> None:
        """Abort every order that is still open (a completed order is read-only and stays)."""
        for order_id in self.open_orders:
            self.kco.abort(order_id)
        self.listener.show(None)


def _refusal(exchange: Exchange) -> str:
    body = exchange.json
    if exchange.status is None:
        return f"no answer ({exchange.error})"
    if isinstance(body, dict) and body.get("error_messages"):
        return f"{exchange.status} {body.get('error_code')}: {'; '.join(map(str, body['error_messages']))}"
    return str(exchange.status)


def print_step(step: Step, page_url: str) -> None:
    """The guide for a person: the step on the terminal too, and where the page is."""
    if step.number == 1:
        print(f"Open {page_url} in a browser; the page shows each step and a Done button.", flush=True)
    print(f"Step {step.number} of {step.total}: {step.instruction}", file=sys.stdout, flush=True)
