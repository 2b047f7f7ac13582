"""The files a merchant copies, read from the table under "The files you copy" in docs/adapt-to-your-shop.md.

tests/test_copy.py holds the table to the files (each exists, and the copy imports only itself);
e2e/test_copy_works_on_its_own.py copies exactly these files into an empty folder and runs a shop of its own
on them.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "adapt-to-your-shop.md"
HEADING = "## The files you copy"
# | [`kco/client.py`](../kco/client.py) | what it does |
ROW = re.compile(r"^\| \[`(?P<path>[^`]+)`\]\([^)]+\) \| (?P<purpose>.+?) \|$")


@dataclass(frozen=True)
class ListedFile:
    path: str
    """Relative to the repository root, and to the merchant's project: the copy keeps the same paths."""
    purpose: str

    @property
    def source(self) -> Path:
        return ROOT / self.path



def guide_section() -> str:
    """The text under the heading, up to the next heading of the same or a higher level."""
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(HEADING + "\n") + len(HEADING) + 1
    following = re.search(r"^#{1,2} ", text[start:], re.MULTILINE)
    return text[start:start + following.start()] if following else text[start:]


def listed_files() -> list[ListedFile]:
    return [ListedFile(match["path"], match["purpose"])
            for match in map(ROW.match, guide_section().splitlines()) if match]


def copy_into(folder: Path) -> list[Path]:
    """Copies every listed file to the same relative path under `folder`; returns the copies."""
    copies = []
    for listed in listed_files():
        copy = folder / listed.path
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(listed.source, copy)
        copies.append(copy)
    return copies
