"""Build step that pyproject.toml cannot express: ship the Outlook add-in's web files.

The add-in lives at the repository root (``addin/web/``, with its own npm tooling), outside the
Python package. Building a wheel copies it to ``vmrsched/web/addin_files/``, where
``vmrsched.web.files.find_addin_root`` looks first; an editable install reads ``addin/web/``
from the checkout instead. Everything else is configured in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ADDIN_WEB = Path(__file__).resolve().parent / "addin" / "web"


class BuildPyWithAddin(build_py):
    """``build_py`` that also copies ``addin/web/`` into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False) or not ADDIN_WEB.is_dir():
            return
        target = Path(self.build_lib) / "vmrsched" / "web" / "addin_files"
        shutil.copytree(
            ADDIN_WEB,
            target,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".*", "node_modules", "*.map"),
        )


setup(cmdclass={"build_py": BuildPyWithAddin})
