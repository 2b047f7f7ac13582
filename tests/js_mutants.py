"""Planted mistakes in static/js/kco-sync.js and the journeys that must catch each: `make mutate-js`.

Each mutant replaces one line of kco-sync.js (found by its exact text, which must occur once) with a mistake a
developer could make. The runner copies the repository to a temporary folder once, runs the journeys of all
mutants there unchanged (they must pass), then plants each mutant in turn in the copy and runs its journeys: a
failing journey kills it. It prints one line per mutant and the score; it exits 1 when a mutant survives or
the unchanged copy fails. docs/mutation-testing.md explains the measurement.

    python -m tests.js_mutants            # every mutant
    python -m tests.js_mutants timeout    # the mutants whose name contains "timeout"
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path("static/js/kco-sync.js")


@dataclass(frozen=True)
class Mutant:
    name: str
    line: str  # the whole line as kco-sync.js has it, without its indentation
    replacement: str  # what the mistake puts there instead, "" to drop the line
    journeys: tuple[str, ...]  # pytest node ids, relative to the repository


# The test that decides whether a change waits for the shopper's pause.
BUSY_TEST = ("if (requestRunning || debounceTimer !== null || "
             "performance.now() - lastAnswerAt < DEBOUNCE_MS) {")

MUTANTS = (
    Mutant("coalescing ignores the running request",
           BUSY_TEST,
           "if (debounceTimer !== null || performance.now() - lastAnswerAt < DEBOUNCE_MS) {",
           ("e2e/test_clicks_going_on_after_the_first_answer.py",)),
    Mutant("an isolated change waits for a pause",
           BUSY_TEST,
           "if (true) {",
           ("e2e/test_an_isolated_change_goes_at_once.py",)),
    Mutant("two requests in flight",
           "if (requestRunning) return; // the running loop sends the latest state as soon as its request is "
           "done",
           "",
           ("e2e/test_changes_during_a_request.py",)),
    Mutant("emptying the cart reloads the page",
           "const orderId = answer.cart.items.length > 0 ? answer.order?.order_id ?? null : shownOrderId;",
           "const orderId = answer.order?.order_id ?? null;",
           ("e2e/test_removing_lines_and_emptying_the_cart.py",)),
    Mutant("a replaced order never reloads the page",
           "if (reloadWanted) return window.location.reload();",
           "",
           ("e2e/test_kco_failures.py::test_an_update_answered_503_three_times_moves_the_change_to_a_new_order",)),
    Mutant("data-timeout-ms ignored",
           "const signal = AbortSignal.timeout(Number(root.dataset.timeoutMs) || FALLBACK_TIMEOUT_MS);",
           "const signal = AbortSignal.timeout(FALLBACK_TIMEOUT_MS);",
           ("e2e/test_a_shop_that_answers_too_late.py",)),
    Mutant("timeout taken for another error",
           'const ownMessage = { TimeoutError: "timeout", TypeError: "offline" }[name] ?? "failed";',
           'const ownMessage = { AbortError: "timeout", TypeError: "offline" }[name] ?? "failed";',
           ("e2e/test_a_shop_that_answers_too_late.py",)),
    Mutant("offline taken for another error",
           'const ownMessage = { TimeoutError: "timeout", TypeError: "offline" }[name] ?? "failed";',
           'const ownMessage = { TimeoutError: "timeout", NetworkError: "offline" }[name] ?? "failed";',
           ("e2e/test_kco_failures.py::test_an_offline_shopper_sees_a_message_and_the_cart_as_the_shop_holds_it",)),
    Mutant("the shop's own message ignored",
           "const message = answer?.error?.message ?? messagesFor(serverCart.locale)[ownMessage];",
           "const message = messagesFor(serverCart.locale)[ownMessage];",
           ("e2e/test_kco_failures.py::test_unreachable_kco_leaves_the_widget_resumed_shows_a_message_and_keeps_"
            "the_cart",)),
    Mutant("an unchanged cart is never resent to a KCO order behind it",
           "if (orderBehindCart || quantities(wanted.items) !== quantities(serverCart.items)) {",
           "if (quantities(wanted.items) !== quantities(serverCart.items)) {",
           ("e2e/test_kco_catching_up_after_it_was_unreachable.py",)),
    Mutant("a 503 does not mark the KCO order behind the cart",
           'if (code === "kco_unreachable" || code === "kco_error") orderBehindCart = true;',
           "",
           ("e2e/test_kco_catching_up_after_it_was_unreachable.py",)),
    Mutant("session_renewed never sent again",
           'if (code === "session_renewed" && !renewalResent) {',
           'if (code === "session_renewed" && renewalResent) {',
           ("e2e/test_a_page_living_through_session_renewals.py",)),
    Mutant("session_renewed sent again only once per page",
           "renewalResent = false; // the next renewed session (another tab, a new order) is sent again too",
           "",
           ("e2e/test_a_page_living_through_session_renewals.py",)),
    Mutant("the widget resumed only after a success",
           "if (body && !reloadWanted) widget((api) => api.resume()); // a given-up order awaits the reload",
           "if (body && !reloadWanted && accepted) widget((api) => api.resume());",
           ("e2e/test_kco_failures.py::test_unreachable_kco_leaves_the_widget_resumed_shows_a_message_and_keeps_"
            "the_cart",)),
    Mutant("the widget not suspended for a change",
           "widget((api) => api.suspend({ autoResume: { enabled: false } }));",
           "",
           ("e2e/test_changes_during_a_request.py",)),
    Mutant("a paid order's answer does not lead to the confirmation",
           'if (code === "purchase_completed" && answer.redirect) '
           "return window.location.assign(answer.redirect);",
           "",
           ("e2e/test_completing_the_purchase.py::test_a_cart_change_after_paying_elsewhere_leads_to_the_"
            "confirmation",)),
    Mutant("a new country keeps the old country's language",
           "const body = { country: wanted.country, locale: unsent.countryChosen ? undefined : wanted.locale "
           "};",
           "const body = { country: wanted.country, locale: wanted.locale };",
           ("e2e/test_switching_country.py",)),
    Mutant("a change sent without the CSRF token",
           'const headers = { Accept: "application/json", "Content-Type": "application/json", '
           '"X-CSRFToken": csrf };',
           'const headers = { Accept: "application/json", "Content-Type": "application/json" };',
           ("e2e/test_changing_a_quantity.py",)),
)


def planted(source: str, mutant: Mutant) -> str:
    """kco-sync.js with `mutant`'s line replaced, its indentation kept."""
    lines = source.splitlines(keepends=True)
    matches = [index for index, line in enumerate(lines) if line.strip() == mutant.line]
    if len(matches) != 1:
        raise ValueError(f"{mutant.name}: the line occurs {len(matches)} times in {SCRIPT}: {mutant.line}")
    index = matches[0]
    indent = lines[index][:len(lines[index]) - len(lines[index].lstrip())]
    lines[index] = f"{indent}{mutant.replacement}\n" if mutant.replacement else ""
    return "".join(lines)


def copy_repository(target: Path) -> None:
    """The files git tracks or would track, as they are in the working tree."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def journeys_fail(copy: Path, journeys: tuple[str, ...]) -> bool:
    # One process, one file at a time, stopping at the first failure: a mutant needs one failing journey.
    run = subprocess.run([sys.executable, "-m", "pytest", *journeys, "-p", "no:xdist", "-x", "-q"], cwd=copy,
                         capture_output=True, text=True)
    if run.returncode not in (0, 1):
        raise RuntimeError(f"pytest could not run {journeys} (exit {run.returncode}):\n{run.stdout[-3000:]}")
    return run.returncode == 1


def main(names: list[str]) -> int:
    chosen = [mutant for mutant in MUTANTS if not names or any(name in mutant.name for name in names)]
    source = (ROOT / SCRIPT).read_text(encoding="utf-8")
    for mutant in chosen:
        planted(source, mutant)  # every line is found before anything runs
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kco-js-mutants-") as folder:
        copy = Path(folder)
        copy_repository(copy)
        every_journey = tuple(dict.fromkeys(journey for mutant in chosen for journey in mutant.journeys))
        if journeys_fail(copy, every_journey):
            print("the journeys fail on the unchanged kco-sync.js: fix them before measuring")
            return 1
        survivors = []
        for mutant in chosen:
            (copy / SCRIPT).write_text(planted(source, mutant), encoding="utf-8")
            killed = journeys_fail(copy, mutant.journeys)
            print(f"{'killed ' if killed else 'SURVIVED'}  {mutant.name}", flush=True)
            if not killed:
                survivors.append(mutant)
    minutes, seconds = divmod(round(time.monotonic() - started), 60)
    print(f"kco-sync.js: {len(chosen) - len(survivors)} of {len(chosen)} planted mistakes caught "
          f"({100 * (len(chosen) - len(survivors)) // len(chosen)}%) in {minutes} min {seconds} s")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
