"""The default template texts (package data): ``<name>.html.j2`` and ``<name>.txt.j2``.

The names are those of `vmrsched.domain.templates.TemplateName`; admins override them in the
``[templates]`` section of the configuration (see docs/reference/templates.md).
"""

from __future__ import annotations

from importlib import resources


def default_sources() -> dict[str, tuple[str, str]]:
    """Every default template by name: (HTML source, plain-text source)."""
    folder = resources.files(__name__)
    sources: dict[str, tuple[str, str]] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".html.j2"):
            name = entry.name.removesuffix(".html.j2")
            text = folder.joinpath(f"{name}.txt.j2").read_text(encoding="utf-8")
            sources[name] = (entry.read_text(encoding="utf-8"), text)
    return sources
