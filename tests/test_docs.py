"""The docs stay true: every link resolves, every code link names a symbol that exists, every rule cited in
the code is a row of docs/kco-rules.md, and every diagram parses.

Docs link to symbols, never to line numbers: [`CheckoutSync.on_change`](../kco/checkout.py) must name a
function, class, method or constant defined in that file, so a link breaks here when the code is renamed or
moved, not silently when lines shift. Mermaid diagrams are checked by a strict parser for the subset of
`sequenceDiagram` the docs use; a diagram outside that subset fails too, rather than being waved through.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RULES = DOCS / "kco-rules.md"
FLOW_PAGES = ("create.md", "reload.md", "cart-change.md", "market-change.md", "expiry-and-errors.md",
              "callbacks.md", "confirmation-and-push.md")
OTHER_PAGES = ("adapt-to-your-shop.md", "real-playground.md", "troubleshooting.md", "workshop.md",
               "kco-rules.md", "testing-your-shop.md", "emulator.md", "production.md", "performance.md",
               "package.md")
# The README is read in five minutes: what it is, the two commands, the picture, one flow, where things are,
# and links. The reference it used to hold lives on these pages.
README_MAX_LINES = 150
README_MOVED_TO = ("docs/emulator.md", "docs/performance.md", "docs/production.md")
SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache",
                ".mypy_cache", "instance"}
# docs/fault-matrix.md has its own owner and checks; every other page here is held to these rules.
PAGES = sorted(path for path in DOCS.glob("*.md") if path.name != "fault-matrix.md")

LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)\)")
LINE_LINK = re.compile(r"#L\d+")
SYMBOL = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")
CODE_SUFFIXES = (".py", ".js")
MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)^```", re.MULTILINE | re.DOTALL)
# `kco-rules: line-tax` or a list, `kco-rules: line-total, line-tax`; a list ends before `, inferred`,
# `, observed` or another `kco-rules:`.
_SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*(?![\w:-])"
RULE_CITATION = re.compile(rf"kco-rules: ({_SLUG}(?:, (?!inferred\b|observed\b){_SLUG})*)")
SPLIT_CITATION = re.compile(r"kco-rules:[ \t]*\n[ \t]*(?:#|//|\*|\{#-?)?[ \t]*")
RULE_ROW = re.compile(r"^\| `([a-z0-9-]+)` \|", re.MULTILINE)
# Retired citations a reader cannot open: section numbers of an API notes file kept outside the repository,
# and its source tags. Spelled with escapes and character classes so that this file does not match itself.
OLD_CITATION = re.compile(
    r"notes \u00a7|\u00a7"  # the notes' section sign, in any form
    r"|\bK[UP]?-(?:URLS|CREATE|READ|UPD|ERR|APIERR|CSE|ANALYTICS|SSC|CB|VAL|CONF|ACK|PEND|BP|TAX|MULTI|LANG"
    r"|GLOBAL|AUTH|SWITCH|API|CHK)\b"
    r"|\bSPEC(?:2[04])\b|\b(?:CB|OM)SPEC\b|\bKRO-(?:JS|PHP)\b|\b(?:S[N]IP|U[M]B|T[S]DEF)\b|\b(?:PHP|NET)-SDK\b")


def repository_files(*suffixes: str) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = [name for name in subdirectories if name not in SKIPPED_DIRS]
        for name in files:
            if name.endswith(suffixes):
                yield Path(directory) / name


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def links(page: Path) -> list[tuple[str, str]]:
    """(text, target) of every Markdown link outside code blocks."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    return LINK.findall(text)


def github_slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def python_symbols(source: str) -> set[str]:
    """Dotted names of every function, class, method and module-level constant, e.g. `Class.method`."""
    found: set[str] = set()

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.add(prefix + child.name)
                visit(child, prefix + child.name + ".")
            elif isinstance(child, (ast.Assign, ast.AnnAssign)) and not prefix:
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                found.update(target.id for target in targets if isinstance(target, ast.Name))
            elif not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                visit(child, prefix)  # definitions inside if/try/with blocks

    visit(ast.parse(source), "")
    return found


def javascript_defines(source: str, name: str) -> bool:
    name = re.escape(name)
    return bool(re.search(
        rf"\b(?:function\*?|class|const|let|var)\s+{name}\b"
        rf"|\bexport\s*\{{[^}}]*\b{name}\b[^}}]*\}}"
        rf"|^\s*(?:async\s+|static\s+|get\s+|set\s+)*{name}\s*\([^)]*\)\s*\{{", source, re.MULTILINE))


def symbol_problem(path: Path, symbol: str) -> str | None:
    """Why `symbol` is not defined in `path`, or None. A leading module name (`order_lines.build_order` in
    kco/order_lines.py) is allowed, as in the docs' prose."""
    parts = symbol.split(".")
    if parts[0] == path.stem and len(parts) > 1:
        parts = parts[1:]
    source = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        if ".".join(parts) not in python_symbols(source):
            return f"`{symbol}` is not defined in {path.relative_to(ROOT)}"
        return None
    if not all(javascript_defines(source, part) for part in parts):
        return f"`{symbol}` is not defined in {path.relative_to(ROOT)}"
    return None


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
    if fragment:
        if path.suffix != ".md":
            return f"{target}: link the file and name the symbol in the text, not a line or fragment"
        headings = {github_slug(line.lstrip("#")) for line in path.read_text(encoding="utf-8").splitlines()
                    if line.startswith("#")}
        return None if fragment in headings else f"{target}: no heading #{fragment}"
    code = re.fullmatch(r"`([^`]+)`", text)
    if not code or path.is_dir():
        return None
    name = code.group(1)
    if name in (path_part, path.name) or path_part.endswith("/" + name):
        return None  # the link names the file itself
    if path.suffix in CODE_SUFFIXES and SYMBOL.fullmatch(name):
        return symbol_problem(path, name)
    if name not in path.read_text(encoding="utf-8"):
        return f"{target}: `{name}` does not occur in the file"
    return None


def code_links(page: Path) -> list[tuple[str, str]]:
    return [(text, target) for text, target in links(page)
            if not re.match(r"^[a-z]+:", target) and target.endswith(CODE_SUFFIXES)
            and re.fullmatch(r"`[^`]+`", text)]


def markdown_files() -> list[Path]:
    return sorted(repository_files(".md"))


@pytest.mark.parametrize("page", markdown_files(), ids=lambda page: str(page.relative_to(ROOT)))
def test_no_markdown_links_to_a_line_number(page: Path) -> None:
    lines = [line for line in page.read_text(encoding="utf-8").splitlines() if LINE_LINK.search(line)]
    assert lines == []


@pytest.mark.parametrize("page", PAGES + [ROOT / "README.md"], ids=lambda page: page.name)
def test_every_link_resolves_and_every_code_link_names_a_symbol_of_its_file(page: Path) -> None:
    problems = [problem for text, target in links(page) if (problem := link_problem(page, text, target))]
    assert problems == []


@pytest.mark.parametrize(("text", "target", "complaint"), [
    ("`first_violation`", "../kco/order_lines.py#L251", "not a line"),
    ("`no_such_function`", "../kco/order_lines.py", "not defined"),
    ("`CheckoutSync.no_such_method`", "../kco/checkout.py", "not defined"),
    ("`CheckoutSync.on_change`", "../kco/no_such_file.py", "no such file"),
])
def test_the_link_checker_rejects_line_links_and_unknown_symbols(text: str, target: str,
                                                                  complaint: str) -> None:
    assert complaint in (link_problem(DOCS / "create.md", text, target) or "")


def test_the_link_checker_accepts_functions_methods_module_prefixes_and_constants() -> None:
    for text, target in [("`CheckoutSync.on_change`", "../kco/checkout.py"),
                         ("`order_lines.first_violation`", "../kco/order_lines.py"),
                         ("`RETRYABLE_STATUSES`", "../kco/client.py"),
                         ("`KCOApiError`", "../kco/errors.py")]:
        assert link_problem(DOCS / "create.md", text, target) is None, text


def test_the_index_links_every_flow_and_guide_and_each_flow_has_a_diagram_and_code_links() -> None:
    index_targets = {target for _, target in links(DOCS / "README.md")}
    for name in FLOW_PAGES + OTHER_PAGES:
        assert name in index_targets, f"docs/README.md does not link {name}"
    for name in FLOW_PAGES:
        page = DOCS / name
        assert MERMAID_BLOCK.search(page.read_text(encoding="utf-8")), f"{name} has no sequence diagram"
        assert len(code_links(page)) >= 3, f"{name} links too little code"


def test_the_readme_is_short_and_links_the_pages_that_hold_the_rest() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES
    assert "make run" in text and "make test" in text
    targets = {target for _, target in links(readme)}
    assert "docs/images/checkout-inspector.png" in targets
    assert set(README_MOVED_TO) <= targets


def test_the_package_description_has_no_link_into_the_repository() -> None:
    # docs/package.md is the wheel's long description (pyproject.toml), read where no repository file exists.
    relative = [target for _, target in links(DOCS / "package.md") if not re.match(r"^https://", target)]
    assert relative == []


def test_the_workshop_page_shows_the_screenshots_the_browser_suite_writes() -> None:
    shown = {target for _, target in links(DOCS / "workshop.md")}
    # e2e/test_workshop_inspector.py writes the first, e2e/test_workshop_on_a_projector.py the others.
    written = {"images/checkout-inspector.png", "images/workshop-125.png", "images/workshop-presenter.png"}
    assert written <= shown


# --- Rules: every citation is a row, every row names code and a test that exist -------------------------

def rule_rows() -> dict[str, str]:
    """slug -> the whole table row of docs/kco-rules.md."""
    rows = {}
    for line in RULES.read_text(encoding="utf-8").splitlines():
        if match := RULE_ROW.match(line):
            assert match.group(1) not in rows, f"{match.group(1)} is a row twice"
            rows[match.group(1)] = line
    return rows


def test_every_cited_rule_is_a_row_of_kco_rules() -> None:
    rows = rule_rows()
    unknown = []
    for path in repository_files(".py", ".js", ".html", ".md"):
        # A citation wrapped after "kco-rules:" continues on the next line, behind the comment marker.
        text = SPLIT_CITATION.sub("kco-rules: ", text_of(path) or "")
        for number, line in enumerate(text.splitlines(), 1):
            unknown += [f"{path.relative_to(ROOT)}:{number}: {slug}" for cited in RULE_CITATION.findall(line)
                        for slug in cited.split(", ") if slug not in rows]
    assert unknown == []


def test_every_rule_names_its_source_the_code_that_applies_it_and_a_test_that_proves_it() -> None:
    for slug, row in rule_rows().items():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        assert len(cells) == 5, f"{slug}: expected slug, rule, source, code, test"
        _, rule, source, code, proof = cells
        assert rule and source, f"{slug}: no rule or no source"
        code_targets = LINK.findall(code)
        test_targets = LINK.findall(proof)
        assert code_targets, f"{slug}: no code"
        assert test_targets and all(re.fullmatch(r"`test_\w+`", text) for text, _ in test_targets), (
            f"{slug}: name each test as [`test_...`](file)")
        problems = [problem for text, target in code_targets + test_targets
                    if (problem := link_problem(RULES, text, target))]
        assert problems == [], slug


def test_citations_are_read_as_lists_and_across_a_wrapped_comment() -> None:
    source = ("x (kco-rules: line-total, line-tax, inferred)\n    # y (kco-rules:\n    # market-change)\n"
              "kco-rules: locales, kco-rules: markets")
    text = SPLIT_CITATION.sub("kco-rules: ", source)
    assert RULE_CITATION.findall(text) == ["line-total, line-tax", "market-change", "locales", "markets"]


def test_no_citation_of_the_retired_notes_or_their_source_tags_is_left() -> None:
    found = []
    for path in repository_files(".py", ".js", ".html", ".md", ".txt", ".toml", ".cfg", ".ini", ".yml",
                                 ".yaml", ".css", ".example", "Makefile"):
        text = text_of(path) or ""
        found += [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
                  for number, line in enumerate(text.splitlines(), 1) if OLD_CITATION.search(line)]
    assert found == []


def test_the_retired_citation_pattern_catches_every_old_form() -> None:
    for old in ("notes \u00a77.2", "(\u00a76)", "K-" + "UPD", "KU-" + "VAL", "KP-" + "TAX", "SPEC" + "24",
                "CB" + "SPEC", "KRO-" + "JS", "TS" + "DEF"):
        assert OLD_CITATION.search(f"see {old} here"), old
    assert not OLD_CITATION.search("kco-rules: line-tax; checkout-v3-openapi.yml updateOrderMerchant")


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
