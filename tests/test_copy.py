"""The copy a merchant takes stays what docs/adapt-to-your-shop.md says it is, and stays small.

The guide's table "The files you copy" names each file with its exact line count; these tests hold the table
to the files, the totals to the targets (at most 1,800 lines in at most 10 files), and the copy to itself:
the copied files import only each other, the standard library and `requests`, so nothing else from this
repository is needed. e2e/test_copy_works_on_its_own.py then runs a shop on the copy alone.
"""

from __future__ import annotations

import ast
import posixpath
import re
import sys
from pathlib import Path

from harness.copy_set import ROOT, line_count, listed_files, listed_totals

MAX_LINES = 1800
MAX_FILES = 10
HOST_APP = ROOT / "e2e" / "copy_host" / "host_app.py"
MAX_HOST_APP_LINES = 80
JS_IMPORT = re.compile(r"""^\s*(?:import|export)\b[^;]*?\bfrom\s+["']([^"']+)["']""", re.MULTILINE)


def imported_modules(path: Path) -> set[str]:
    """The top-level names of the modules a Python file imports, relative imports left out."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_guide_lists_each_copied_file_with_its_exact_line_count() -> None:
    listed = listed_files()
    assert listed, "docs/adapt-to-your-shop.md has no table under 'The files you copy'"
    missing = [file.path for file in listed if not file.source.is_file()]
    assert missing == []
    wrong = {file.path: (file.listed_lines, line_count(file.source)) for file in listed
             if file.listed_lines != line_count(file.source)}
    assert wrong == {}, f"correct docs/adapt-to-your-shop.md, {{file: (listed, actual)}}: {wrong}"


def test_the_guide_totals_python_and_javascript_truly() -> None:
    actual: dict[str, tuple[int, int]] = {}
    for file in listed_files():
        lines, files = actual.get(file.language, (0, 0))
        actual[file.language] = (lines + line_count(file.source), files + 1)
    sentence = " and ".join(f"{lines:,} lines of {language} in {files} files"
                            for language, (lines, files) in actual.items())
    assert listed_totals() == actual, f"the guide should say: {sentence}"


def test_the_copy_stays_within_1800_lines_in_10_files() -> None:
    listed = listed_files()
    assert len(listed) <= MAX_FILES
    assert sum(line_count(file.source) for file in listed) <= MAX_LINES


def test_every_module_of_the_kco_package_is_in_the_copy() -> None:
    package = {str(path.relative_to(ROOT)) for path in (ROOT / "kco").glob("*.py")}
    assert package <= {file.path for file in listed_files()}


def test_the_copied_python_imports_only_the_copy_the_standard_library_and_requests() -> None:
    copied_packages = {Path(file.path).parts[0] for file in listed_files() if file.path.endswith(".py")}
    allowed = copied_packages | set(sys.stdlib_module_names) | {"__future__", "requests"}
    outside = {file.path: sorted(imported_modules(file.source) - allowed)
               for file in listed_files() if file.path.endswith(".py")}
    assert {path: names for path, names in outside.items() if names} == {}


def test_the_copied_javascript_imports_only_copied_modules() -> None:
    listed = {file.path for file in listed_files()}
    outside = {}
    for file in listed_files():
        if file.path.endswith(".js"):
            # A relative specifier resolves against the importing file, as in the browser.
            imported = {posixpath.normpath(posixpath.join(posixpath.dirname(file.path), target))
                        for target in JS_IMPORT.findall(file.source.read_text(encoding="utf-8"))}
            if imported - listed:
                outside[file.path] = sorted(imported - listed)
    assert outside == {}


def test_the_host_app_of_the_copy_test_is_at_most_80_lines_and_imports_only_the_copy_and_flask() -> None:
    assert line_count(HOST_APP) <= MAX_HOST_APP_LINES
    allowed = {"kco", "flask"} | set(sys.stdlib_module_names)
    assert imported_modules(HOST_APP) - allowed == set()


# --- The shape the essential path keeps --------------------------------------------------------------------

def test_app_py_reads_in_one_screen_with_the_first_route_near_the_top() -> None:
    lines = (ROOT / "app.py").read_text(encoding="utf-8").splitlines()
    route = re.compile(r"\s*@app\.(get|post|route)\(")
    first_route = next(number for number, line in enumerate(lines, 1) if route.match(line))
    assert len(lines) <= 150 and first_route <= 60, (len(lines), first_route)


def test_the_sync_core_is_small_and_exports_its_one_entry() -> None:
    source = (ROOT / "static" / "js" / "kco-sync.js").read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 200
    assert re.findall(r"^export\s+(?:async\s+)?function\s+(\w+)", source, re.MULTILINE) == ["startKcoSync"]


def test_only_the_app_and_the_root_conftest_are_python_files_at_the_top_level() -> None:
    assert sorted(path.name for path in ROOT.glob("*.py")) == ["app.py", "conftest.py"]
