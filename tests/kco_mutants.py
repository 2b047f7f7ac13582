"""Mutation testing of kco/ with mutmut: `make mutate`.

mutmut (configured under [tool.mutmut] in pyproject.toml) plants one mistake at a time in kco/ and runs the
tests that exercise it; a mutant that no test notices survives. This script starts from nothing (no cached
results, so each run measures the same thing), prints the score and every survivor with its diff, and exits 1
when a survivor is not one that docs/mutation-testing.md explains as equivalent (it changes no behaviour).

    python -m tests.kco_mutants
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).parent / "mutmut"
EXPLAINED = ROOT / "docs" / "mutation-testing.md"
# mutmut's names, e.g. kco.client.xǁKCOClientǁ_send__mutmut_11, as the docs quote them.
MUTANT_NAME = re.compile(r"kco\.[\w.ǁ]+__mutmut_\d+")
WORKERS = 2
MUTANTS = ROOT / "mutants"  # mutmut's copy of the code with every mutant in it
# A mutant that makes a test hang (timeout) or that a type check refuses is caught as well as a killed one.
CAUGHT = frozenset({"killed", "timeout", "caught by type check"})


def mutmut(*args: str, capture: bool = True) -> str:
    run = subprocess.run([str(MUTMUT), *args], cwd=ROOT, check=True, text=True,
                         stdout=subprocess.PIPE if capture else None)
    return run.stdout or ""


def main() -> int:
    shutil.rmtree(MUTANTS, ignore_errors=True)
    try:
        started = time.monotonic()
        mutmut("run", "--max-children", str(WORKERS), capture=False)
        seconds = round(time.monotonic() - started)
        results = mutmut("results", "--all", "true").splitlines()
        verdicts = dict(line.strip().rsplit(": ", 1) for line in results if ": " in line)
        survivors = sorted(name for name, verdict in verdicts.items() if verdict not in CAUGHT)
        explained = set(MUTANT_NAME.findall(EXPLAINED.read_text(encoding="utf-8")))
        unexplained = [name for name in survivors if name not in explained]
        for name in survivors:
            print(f"\n{verdicts[name]}: {name}{'' if name in explained else '  (not explained)'}")
            print(mutmut("show", name).strip())
    finally:
        # The mutated copy would otherwise be read as part of the project by the tests that scan its files.
        shutil.rmtree(MUTANTS, ignore_errors=True)
    killed = len(verdicts) - len(survivors)
    print(f"\nkco/: {killed} of {len(verdicts)} mutants caught ({100 * killed / len(verdicts):.1f}%), "
          f"{len(survivors)} survived, {len(unexplained)} of them not explained in "
          f"{EXPLAINED.relative_to(ROOT)}; {seconds // 60} min {seconds % 60} s with {WORKERS} workers")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
