"""The wheel carries the add-in's web files, so ``pip install .`` serves the add-in too."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
#: pip's words when the build backend (setuptools >= 77) cannot be fetched from the index.
_NO_INDEX = (
    "Could not find a version that satisfies",
    "No matching distribution",
    "NewConnectionError",
)


def test_the_wheel_holds_the_add_in_files(tmp_path: Path) -> None:
    """``pip wheel .`` puts addin/web/ under vmrsched/web/addin_files/, without dev leftovers."""
    had_build = (REPO / "build").exists()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if not had_build:  # setuptools builds in the tree; leave it as it was
        shutil.rmtree(REPO / "build", ignore_errors=True)
    if result.returncode != 0 and any(words in result.stderr for words in _NO_INDEX):
        pytest.skip(f"the build backend could not be installed: {result.stderr[-300:]}")
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(tmp_path.glob("vmrsched-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    prefix = "vmrsched/web/addin_files/"
    for expected in ("taskpane.html", "commands.html", "taskpane.js", "assets/icon-16.png",
                     "assets/icon-128.png", "vendor/msal-browser.min.js"):  # fmt: skip
        assert prefix + expected in names, expected
    shipped = [name for name in names if name.startswith(prefix)]
    assert not [name for name in shipped if "node_modules" in name or "/." in name]
    source = {
        str(path.relative_to(REPO / "addin" / "web"))
        for path in (REPO / "addin" / "web").rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.parts)
        and path.suffix != ".map"
    }
    assert {name.removeprefix(prefix) for name in shipped} == source
