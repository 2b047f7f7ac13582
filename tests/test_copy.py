"""The copy a merchant takes stays what docs/adapt-to-your-shop.md says it is.

The guide's table "The files you copy" names each file; these tests hold the table to the files, and the copy
to itself: the copied files import only each other, the standard library and `requests`, so nothing else from
this repository is needed. e2e/test_copy_works_on_its_own.py then runs the guide's example shop on the copy
alone.
"""

from __future__ import annotations

import ast
import posixpath
import re
import sys
from pathlib import Path

from harness.copy_set import ROOT, listed_files

EXAMPLE_APP = ROOT / "docs" / "examples" / "candle_shop" / "candle_shop.py"
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


def test_the_guide_lists_copied_files_that_exist() -> None:
    listed = listed_files()
    assert listed, "docs/adapt-to-your-shop.md has no table under 'The files you copy'"
    assert [file.path for file in listed if not file.source.is_file()] == []


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


def test_the_guides_example_shop_imports_only_the_copy_and_flask() -> None:
    allowed = {"kco", "flask", "werkzeug"} | set(sys.stdlib_module_names)
    assert imported_modules(EXAMPLE_APP) - allowed == set()


# --- The shape the essential path keeps --------------------------------------------------------------------

def test_the_sync_core_exports_its_one_entry() -> None:
    source = (ROOT / "static" / "js" / "kco-sync.js").read_text(encoding="utf-8")
    assert re.findall(r"^export\s+(?:async\s+)?function\s+(\w+)", source, re.MULTILINE) == ["startKcoSync"]


def test_only_the_app_and_the_root_conftest_are_python_files_at_the_top_level() -> None:
    assert sorted(path.name for path in ROOT.glob("*.py")) == ["app.py", "conftest.py"]
