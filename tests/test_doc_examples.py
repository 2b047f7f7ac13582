"""The guides show their examples as they are: every code block is a verbatim part of the example's files.

docs/adapt-to-your-shop.md walks through docs/examples/candle_shop, which e2e/test_copy_works_on_its_own.py
runs; docs/testing-your-shop.md and docs/package.md show parts of docs/examples/mug_shop, which
tests/test_installable.py runs in a fresh virtual environment. A block is "a part" when its lines equal
consecutive lines of one file, compared without their common indentation (a guide may show a nested function
on its own). The adapt guide's blocks are more: in order, they are the candle shop itself, line for line, as
e2e/test_copy_works_on_its_own.py writes it from the guide (harness/copy_set.py `example_from_guide`).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from harness.copy_set import example_from_guide

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CANDLE_SHOP = DOCS / "examples" / "candle_shop"
MUG_SHOP = DOCS / "examples" / "mug_shop"
# Each guide and the folder of the example it shows.
GUIDES = {
    "adapt-to-your-shop.md": CANDLE_SHOP,
    "testing-your-shop.md": MUG_SHOP,
    "package.md": MUG_SHOP,
}
EXAMPLE_SUFFIXES = (".py", ".html")
CODE_BLOCK = re.compile(r"^```[\w-]*\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def code_blocks(guide: Path) -> list[str]:
    return CODE_BLOCK.findall(guide.read_text(encoding="utf-8"))


def example_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.suffix in EXAMPLE_SUFFIXES
                  and "__pycache__" not in path.parts)


def shown_at(block: str, files: list[Path]) -> tuple[Path, range] | None:
    """The file and line numbers (0-based) whose text the block shows, or None when no file holds it."""
    wanted = textwrap.dedent(block).rstrip("\n").split("\n")
    for path in files:
        lines = path.read_text(encoding="utf-8").split("\n")
        for start in range(len(lines) - len(wanted) + 1):
            window = lines[start:start + len(wanted)]
            if textwrap.dedent("\n".join(window)).split("\n") == wanted:
                return path, range(start, start + len(wanted))
    return None


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_every_code_block_of_the_guide_is_a_part_of_its_example(guide: str) -> None:
    files = example_files(GUIDES[guide])
    blocks = code_blocks(DOCS / guide)
    assert blocks, f"{guide} shows no code"
    not_in_the_example = [block.split("\n")[0] for block in blocks if shown_at(block, files) is None]
    assert not_in_the_example == []


def non_blank_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def test_the_adapt_guides_blocks_in_order_are_the_candle_shop_line_for_line() -> None:
    # The copy journey runs the shop as example_from_guide writes it: these are the same files.
    from_guide = example_from_guide()
    templates = sorted((CANDLE_SHOP / "templates").glob("*.html"))
    files = ["candle_shop.py", *(f"templates/{path.name}" for path in templates)]
    assert sorted(from_guide) == sorted(files)
    for path in files:
        in_the_example = (CANDLE_SHOP / path).read_text(encoding="utf-8")
        assert non_blank_lines(from_guide[path]) == non_blank_lines(in_the_example), path


def test_a_block_that_differs_from_the_file_by_one_character_is_not_a_part_of_it() -> None:
    files = [CANDLE_SHOP / "candle_shop.py"]
    source = files[0].read_text(encoding="utf-8").split("\n")
    start = source.index("def kco_order() -> dict[str, Any] | None:")
    block = "\n".join(source[start:start + 6]) + "\n"
    assert shown_at(block, files) == (files[0], range(start, start + 6))
    assert shown_at("    " + block.replace("\n", "\n    "), files) is not None  # indented as a whole
    assert shown_at(block.replace("market = session_market()", "market = session_market() "), files) is None
    assert shown_at(block.replace("lines = ", "lines  = "), files) is None
