"""The project installs the way a merchant installs it, and its emulator, pytest plugin and Playwright helpers
work outside this repository.

A wheel is built from the files pyproject.toml packages, installed with the [emulator] extra into a fresh
virtual environment in a temporary folder, and the example merchant project (docs/examples/mug_shop: a Flask
shop on the installed `kco`, and a test file using the `kco_emulator` fixture, `KcoWidget` and a shop under
gunicorn) runs its tests in Chromium there. Every snippet of docs/testing-your-shop.md is a part of those
files (tests/test_doc_examples.py), so this runs each of them. The wheels of the tools it needs are kept in
.venv/.wheelhouse, so only the first run downloads anything.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "mug_shop"
WHEELHOUSE = ROOT / ".venv" / ".wheelhouse"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# What the merchant project installs besides the wheel, at the versions requirements*.txt pin for this repo.
TEST_TOOLS = ("pytest", "playwright", "pytest-playwright", "gunicorn")
LISTENING = re.compile(r"^KCO emulator listening on http://127\.0\.0\.1:(\d+)$")


def pinned(*names: str) -> list[str]:
    pins = {}
    for requirements in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / requirements).read_text(encoding="utf-8").splitlines():
            name, _, version = line.partition("==")
            if version:
                pins[name.strip().lower()] = f"{name.strip()}=={version.strip()}"
    return [pins[name] for name in names]


def pip(*arguments: str | Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *map(str, arguments)],
                   check=True, stdin=subprocess.DEVNULL)


def fill_wheelhouse() -> None:
    """Download, once, every wheel the build and the install below need, so they run with --no-index."""
    wanted = ["setuptools>=77", *pinned("flask", "requests", "cheroot", *TEST_TOOLS)]
    done = WHEELHOUSE / "requirements.txt"
    if done.is_file() and done.read_text(encoding="utf-8").split() == wanted:
        return
    pip("download", "--dest", WHEELHOUSE, *wanted)
    done.write_text("\n".join(wanted), encoding="utf-8")


def clean_environment() -> dict[str, str]:
    """This process's environment without what would point the merchant project back here."""
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("KCO_", "PYTEST_", "PYTHON", "VIRTUAL_ENV"))}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel` of a copy of what pyproject.toml packages (a build in place would leave build/ behind)."""
    fill_wheelhouse()
    source = tmp_path_factory.mktemp("source")
    setuptools = PYPROJECT["tool"]["setuptools"]
    project = PYPROJECT["project"]
    for name in ("pyproject.toml", project["readme"], *project["license-files"]):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    for package in setuptools["packages"]:
        if "." in package:
            continue  # a subpackage (kco.probe) comes with its parent's folder
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path_factory.mktemp("dist")
    pip("wheel", "--no-deps", "--no-index", "--find-links", WHEELHOUSE, "--wheel-dir", dist, source)
    (built,) = dist.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel, its [emulator] extra and the test tools; its bin folder."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", folder], check=True)
    pip("--python", folder / "bin" / "python", "install", "--no-index", "--find-links", WHEELHOUSE,
        f"{wheel}[emulator]", *pinned(*TEST_TOOLS))
    return folder / "bin"


@pytest.fixture
def emulator_command(venv: Path, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([venv / "kco-emulator", "--port", "0"], cwd=tmp_path, env=clean_environment(),
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield process
    process.terminate()
    process.wait(timeout=10)


def test_the_library_needs_only_requests_and_the_emulator_comes_with_its_extra(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        metadata = archive.read(name)
    requires = [line.removeprefix("Requires-Dist: ") for line in metadata.decode().splitlines()
                if line.startswith("Requires-Dist: ")]
    always = [requirement for requirement in requires if "extra ==" not in requirement]
    assert [re.split(r"[<>=;\s]", requirement)[0] for requirement in always] == ["requests"]
    emulator_only = [requirement for requirement in requires if 'extra == "emulator"' in requirement]
    assert any(requirement.startswith("flask") for requirement in emulator_only)


def test_the_package_describes_itself_with_docs_package_md(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        metadata = archive.read(name).decode()
    description = (ROOT / "docs" / "package.md").read_text(encoding="utf-8")
    assert "Description-Content-Type: text/markdown" in metadata
    assert description.splitlines()[0] in metadata
    assert "make run" not in metadata  # the README's front page is not the package's description


def test_both_packages_ship_their_type_hints(wheel: Path) -> None:
    # PEP 561: without py.typed a merchant's type checker ignores the hints of kco and kco_emulator.
    with zipfile.ZipFile(wheel) as archive:
        assert {"kco/py.typed", "kco_emulator/py.typed"} <= set(archive.namelist())


def test_the_kco_probe_command_comes_with_its_guided_page(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode()
    assert "kco-probe = kco.probe.__main__:main" in scripts
    assert {"kco/probe/page.html", "kco/probe/page.js", "kco/probe/__main__.py"} <= set(names)


def test_the_kco_emulator_command_prints_where_it_listens_and_serves_its_package_files(
        emulator_command: subprocess.Popen[str]) -> None:
    assert emulator_command.stdout is not None
    first_line = emulator_command.stdout.readline().strip()
    match = LISTENING.match(first_line)
    assert match, first_line
    assert int(match.group(1)) > 0
    url = f"http://127.0.0.1:{match.group(1)}"
    for path in ("/_emulator/openapi.json", "/widget/checkout.js"):
        assert requests.get(url + path, timeout=10).status_code == 200, path


def test_a_merchant_project_buys_in_chromium_with_the_plugin_and_the_widget_helpers(
        venv: Path, tmp_path: Path) -> None:
    project = tmp_path / "merchant-shop"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
    environment = clean_environment()
    system_chromium = shutil.which("chromium")
    if system_chromium:
        environment["CHROMIUM"] = system_chromium
    elif not any((Path.home() / ".cache" / "ms-playwright").glob("chromium-*")):
        pytest.skip("no Chromium: run `apt-get install -y chromium` (make test does this as root)")

    imported = subprocess.run(
        [venv / "python", "-c", "import kco, kco_emulator.playwright; print(kco.__file__)"],
        cwd=project, env=environment, capture_output=True, text=True, check=True,
    )
    assert Path(imported.stdout.strip()).is_relative_to(venv.parent), "kco must come from the installed wheel"

    run = subprocess.run([venv / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project,
                         env=environment, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"\b3 passed\b", run.stdout), run.stdout
    # The plugin hides pytest-base-url's deprecation warning itself: a merchant's run shows none.
    assert "warning" not in run.stdout.lower(), run.stdout
