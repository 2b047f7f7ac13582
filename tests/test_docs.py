"""The docs stay true: every link resolves, every line link points at the code it names, every diagram parses.

Links like [`def on_change`](../kco/checkout.py#L141) must name an existing file, a line inside it, and (when
the link text is code) a line that contains that text, so a link that drifted after an edit fails here with
the line it moved to. Mermaid diagrams are checked by a strict parser for the subset of `sequenceDiagram` the
docs use; a diagram outside that subset fails too, rather than being waved through.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FLOW_PAGES = ("create.md", "reload.md", "cart-change.md", "market-change.md", "expiry-and-errors.md",
              "callbacks.md", "confirmation-and-push.md")
OTHER_PAGES = ("adapt-to-your-shop.md", "real-playground.md", "troubleshooting.md", "workshop.md")
# docs/fault-matrix.md has its own owner and checks; every other page here is held to these rules.
PAGES = sorted(path for path in DOCS.glob("*.md") if path.name != "fault-matrix.md")

LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)\)")
LINE_FRAGMENT = re.compile(r"^L(\d+)(?:-L(\d+))?$")
MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)^```", re.MULTILINE | re.DOTALL)


def links(page: Path) -> list[tuple[str, str]]:
    """(text, target) of every Markdown link outside code blocks."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    return LINK.findall(text)


def github_slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def link_problem(page: Path, text: str, target: str) -> str | None:
    """What is wrong with one link, or None."""
    if re.match(r"^[a-z]+:", target):
        return None  # http(s), mailto: not checked offline
    path_part, _, fragment = target.partition("#")
    path = (page.parent / path_part).resolve() if path_part else page
    if not path.is_relative_to(ROOT):
        return f"{target} leaves the repository"
    if not path.exists():
        return f"{target}: no such file"
    if not fragment:
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    if match := LINE_FRAGMENT.match(fragment):
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if not 1 <= first <= last <= len(lines):
            return f"{target}: lines {first}-{last} outside the file's {len(lines)} lines"
        code = re.fullmatch(r"`([^`]+)`", text)
        if code and not any(code.group(1) in line for line in lines[first - 1:last]):
            found = [number for number, line in enumerate(lines, 1) if code.group(1) in line]
            return f"{target}: `{code.group(1)}` is not at L{first}; it is at {found or 'no line'}"
        return None
    if path.suffix == ".md":
        headings = {github_slug(line.lstrip("#")) for line in lines if line.startswith("#")}
        if fragment not in headings:
            return f"{target}: no heading #{fragment}"
        return None
    return f"{target}: unknown kind of fragment"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_link_resolves_and_every_line_link_points_at_the_code_it_names(page: Path) -> None:
    problems = [problem for text, target in links(page) if (problem := link_problem(page, text, target))]
    assert problems == []


def test_the_index_links_every_flow_and_guide_and_each_flow_has_a_diagram_and_code_links() -> None:
    index_targets = {target for _, target in links(DOCS / "README.md")}
    for name in FLOW_PAGES + OTHER_PAGES:
        assert name in index_targets, f"docs/README.md does not link {name}"
    for name in FLOW_PAGES:
        page = DOCS / name
        assert MERMAID_BLOCK.search(page.read_text(encoding="utf-8")), f"{name} has no sequence diagram"
        code_links = [target for _, target in links(page) if LINE_FRAGMENT.match(target.partition("#")[2])]
        assert len(code_links) >= 3, f"{name} links too little code"


def test_the_workshop_page_shows_the_screenshot_the_browser_suite_writes() -> None:
    assert ("The checkout with the KCO inspector open", "images/checkout-inspector.png") in links(
        DOCS / "workshop.md")


# --- A strict checker for the sequenceDiagram subset the docs use ---------------------------------------

PARTICIPANT = re.compile(r"^(participant|actor)\s+(\w+)(?:\s+as\s+(\S.*))?$")
MESSAGE = re.compile(r"^(\w+)\s*(-->>|->>|-->|->|--x|-x|--\)|-\))([+-]?)\s*(\w+)\s*:\s*(\S.*)$")
NOTE = re.compile(r"^Note\s+(over|left of|right of)\s+(\w+)(?:\s*,\s*(\w+))?\s*:\s*(\S.*)$")
BLOCK_OPEN = re.compile(r"^(alt|opt|loop|par|critical|break|rect)\b(.*)$")
BLOCK_MIDDLE = {"else": "alt", "and": "par", "option": "critical"}
ACTIVATION = re.compile(r"^(activate|deactivate)\s+(\w+)$")


class DiagramError(ValueError):
    pass


def check_sequence_diagram(source: str) -> None:
    """Raise DiagramError naming the first line outside the subset: declared participants only, known
    arrows, balanced blocks, non-empty texts, no `;` or `#` (Mermaid reads them as syntax in texts)."""
    lines = [line.strip() for line in source.splitlines()]
    lines = [line for line in lines if line and not line.startswith("%%")]
    if not lines or lines[0] != "sequenceDiagram":
        raise DiagramError("a diagram must start with sequenceDiagram")
    declared: set[str] = set()
    open_blocks: list[str] = []
    for number, line in enumerate(lines[1:], 2):
        if ";" in line or "#" in line:
            raise DiagramError(f"line {number}: ';' and '#' are Mermaid syntax, not text: {line}")
        if line == "autonumber":
            continue
        if match := PARTICIPANT.match(line):
            if match.group(2) in declared:
                raise DiagramError(f"line {number}: {match.group(2)} declared twice")
            declared.add(match.group(2))
            continue
        if match := MESSAGE.match(line):
            for name in (match.group(1), match.group(4)):
                if name not in declared:
                    raise DiagramError(f"line {number}: {name} is not a declared participant")
            continue
        if match := NOTE.match(line):
            for name in filter(None, (match.group(2), match.group(3))):
                if name not in declared:
                    raise DiagramError(f"line {number}: {name} is not a declared participant")
            if match.group(3) and match.group(1) != "over":
                raise DiagramError(f"line {number}: only 'Note over' spans two participants")
            continue
        if match := ACTIVATION.match(line):
            if match.group(2) not in declared:
                raise DiagramError(f"line {number}: {match.group(2)} is not a declared participant")
            continue
        if match := BLOCK_OPEN.match(line):
            if match.group(1) != "rect" and not match.group(2).strip():
                raise DiagramError(f"line {number}: {match.group(1)} needs a label")
            open_blocks.append(match.group(1))
            continue
        keyword = line.split(maxsplit=1)[0]
        if keyword in BLOCK_MIDDLE:
            if not open_blocks or open_blocks[-1] != BLOCK_MIDDLE[keyword]:
                raise DiagramError(f"line {number}: {keyword} outside {BLOCK_MIDDLE[keyword]}")
            continue
        if line == "end":
            if not open_blocks:
                raise DiagramError(f"line {number}: end without a block")
            open_blocks.pop()
            continue
        raise DiagramError(f"line {number}: not part of the sequenceDiagram subset: {line}")
    if open_blocks:
        raise DiagramError(f"unclosed block(s): {', '.join(open_blocks)}")
    if not declared:
        raise DiagramError("no participants")


def diagrams() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for index, block in enumerate(MERMAID_BLOCK.findall(page.read_text(encoding="utf-8")), 1):
            found.append((f"{page.name}#{index}", block))
    return found


@pytest.mark.parametrize(("where", "source"), diagrams(), ids=[where for where, _ in diagrams()])
def test_every_mermaid_diagram_parses(where: str, source: str) -> None:
    check_sequence_diagram(source)


@pytest.mark.parametrize(("source", "complaint"), [
    ("graph TD\n A-->B", "start with sequenceDiagram"),
    ("sequenceDiagram\n participant A\n A->>B: hi", "B is not a declared participant"),
    ("sequenceDiagram\n participant A\n participant B\n A=>>B: hi", "not part of the sequenceDiagram subset"),
    ("sequenceDiagram\n participant A\n participant B\n alt x\n A->>B: hi", "unclosed block"),
    ("sequenceDiagram\n participant A\n participant B\n A->>B: hi\n end", "end without a block"),
    ("sequenceDiagram\n participant A\n participant B\n loop x\n else y\n end", "else outside alt"),
    ("sequenceDiagram\n participant A\n participant B\n A->>B: a; b", "';' and '#'"),
    ("sequenceDiagram\n participant A\n participant B\n A->>B:", "not part of the sequenceDiagram subset"),
])
def test_the_diagram_checker_rejects_what_mermaid_would_not_draw(source: str, complaint: str) -> None:
    with pytest.raises(DiagramError, match=re.escape(complaint)):
        check_sequence_diagram(source)
