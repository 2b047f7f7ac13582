"""The shop's settings fail fast, naming the variable, when KCO could not reach the shop's callbacks; and
`.env.example` lists exactly the variables the project reads."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shop.settings import Settings, SettingsError

REAL_KCO = {"KCO_ENVIRONMENT": "playground", "KCO_API_KEY": "kco_test_api_x",
            "KCO_SNIPPET_ORIGINS": "https://js.example.com",
            "SECRET_KEY": "a-test-secret-key-of-at-least-32-bytes"}


@pytest.mark.parametrize("public_base_url", [None, "", "http://shop.example.com"])
def test_a_real_kco_host_requires_an_https_public_base_url(tmp_path: Path,
                                                           public_base_url: str | None) -> None:
    environ = {**REAL_KCO, "INSTANCE_PATH": str(tmp_path)}
    if public_base_url is not None:
        environ["PUBLIC_BASE_URL"] = public_base_url
    with pytest.raises(SettingsError, match="PUBLIC_BASE_URL"):
        Settings.from_env(environ)


def test_a_real_kco_host_accepts_an_https_public_base_url(tmp_path: Path) -> None:
    settings = Settings.from_env({**REAL_KCO, "INSTANCE_PATH": str(tmp_path),
                                  "PUBLIC_BASE_URL": "https://shop.example.com/"})
    assert settings.public_base_url == "https://shop.example.com"


def test_the_local_emulator_needs_no_public_base_url(tmp_path: Path) -> None:
    settings = Settings.from_env({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                                  "KCO_API_URL": "http://127.0.0.1:5001"})
    assert settings.public_base_url is None and settings.kco.is_local


# --- .env.example -------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
# A WSGI environ is the request's, not the process's: its CGI names are no settings.
WSGI_NAME = re.compile(r"^(?:REQUEST_|PATH_INFO$|QUERY_STRING$|SCRIPT_NAME$|HTTP_|SERVER_|CONTENT_|REMOTE_)")
VARIABLE_NAME = re.compile(r"^[A-Z][A-Z0-9_]+$")


def _is_environ(node: ast.expr) -> bool:
    """`os.environ`, or a mapping of it handed on as `environ` or `env` (shop.settings,
    kco_emulator.store)."""
    return ((isinstance(node, ast.Attribute) and node.attr == "environ")
            or (isinstance(node, ast.Name) and node.id in ("environ", "env")))


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and VARIABLE_NAME.match(node.value):
        return None if WSGI_NAME.match(node.value) else node.value
    return None


def environment_reads(source: str) -> set[str]:
    """The variables a module reads by name: environ.get("X"), environ["X"], os.getenv("X"), and helpers
    called as helper(environ, "X", ...)."""
    names: set[str | None] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            names.add(_name(node.slice))
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if node.args and isinstance(func, ast.Attribute) and (
                func.attr == "getenv" or (func.attr == "get" and _is_environ(func.value))):
            names.add(_name(node.args[0]))
        names.update(_name(second) for first, second in zip(node.args, node.args[1:], strict=False)
                     if _is_environ(first))
    return {name for name in names if name}


# docs/examples/ holds a merchant's own project, with its own environment; build/ is a wheel build's copy.
NOT_THIS_PROJECT = (("docs", "examples"), ("build",))


def project_modules() -> list[Path]:
    def ours(parts: tuple[str, ...]) -> bool:
        return not any(part.startswith(".") for part in parts) and not any(
            parts[:len(prefix)] == prefix for prefix in NOT_THIS_PROJECT)
    return sorted(path for path in ROOT.rglob("*.py") if ours(path.relative_to(ROOT).parts))


def test_env_example_lists_exactly_the_variables_the_project_reads() -> None:
    readers: dict[str, list[str]] = {}
    for path in project_modules():
        for name in environment_reads(path.read_text()):
            readers.setdefault(name, []).append(str(path.relative_to(ROOT)))
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    missing = {name: files for name, files in readers.items() if name not in listed}
    assert not missing, f"read but not in .env.example: {missing}"
    assert listed <= set(readers), f"in .env.example but read nowhere: {listed - set(readers)}"


def test_the_environment_scan_finds_every_way_a_module_reads_a_variable() -> None:
    source = '''
import os
a = os.environ.get("A_GET")
b = os.environ["B_ITEM"]
c = os.getenv("C_GETENV")
d = _seconds(env, "D_HELPER", "3")
e = environ.get("E_PASSED_ON")
f = request.environ.get("PATH_INFO")
'''
    assert environment_reads(source) == {"A_GET", "B_ITEM", "C_GETENV", "D_HELPER", "E_PASSED_ON"}
