"""What docs/adapt-to-your-shop.md gives a merchant: the files to copy, read from the table under "The files
you copy", and the example shop, written from the guide's code blocks.

tests/test_copy.py holds the table to the files (each exists, and the copy imports only itself);
e2e/test_copy_works_on_its_own.py copies exactly these files into an empty folder, writes the shop beside them
from the guide as a reader would, and runs it; tests/test_doc_examples.py holds the blocks to
docs/examples/candle_shop.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "adapt-to-your-shop.md"
HEADING = "## The files you copy"
EXAMPLE = ROOT / "docs" / "examples" / "candle_shop"
# Every Python block of the guide is the next part of candle_shop.py; a page is one block, under the line
# that names its file: `templates/checkout.html`:
CODE_BLOCK = re.compile(r"^```(?P<language>[\w-]*)\n(?P<text>.*?)^```$", re.MULTILINE | re.DOTALL)
FILE_CAPTION = re.compile(r"^`(?P<path>templates/[\w.-]+)`:\n\n\Z", re.MULTILINE)
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


def example_from_guide() -> dict[str, str]:
    """The example shop's files as the guide's blocks make them: {path: text}."""
    text = GUIDE.read_text(encoding="utf-8")
    python = []
    files = {}
    for block in CODE_BLOCK.finditer(text):
        if block["language"] == "python":
            python.append(block["text"])
            continue
        caption = FILE_CAPTION.search(text[:block.start()])
        if caption is not None:
            files[caption["path"]] = block["text"]
    source = python[0]
    for part in python[1:]:
        # PEP 8's blank lines: two before a top-level part, one before a part inside create_app.
        source += ("\n" if part.startswith(" ") else "\n\n") + part
    files["candle_shop.py"] = source
    return files


def write_example_from_guide(folder: Path) -> None:
    """Writes the example shop into `folder` from the guide's blocks; its terms page, which the guide leaves
    to the reader, from docs/examples/candle_shop."""
    for path, text in example_from_guide().items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text, encoding="utf-8")
    terms = folder / "static" / "terms.html"
    terms.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLE / "static" / "terms.html", terms)
