"""The add-in's static files (``addin/web/``): found, read once, served with cache headers.

Where they are: ``vmrsched/web/addin_files/`` inside an installed package (``setup.py`` copies
``addin/web/`` there when the wheel is built), else ``addin/web/`` of the source checkout this
module runs from (an editable install).

Caching: every answer carries a strong ``ETag`` (a hash of the content) and ``If-None-Match``
gets ``304``. Pages (``.html``) are ``no-cache`` (always revalidated, so a new version reaches
Outlook at once); scripts, styles and images may be reused for an hour without asking.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

PAGE_CACHE: Final = "no-cache"
ASSET_CACHE: Final = "public, max-age=3600"
#: Files kept in memory at most (the add-in has a few dozen).
MAX_CACHED: Final = 1000
_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".map": "application/json",
}


def find_addin_root() -> Path | None:
    """The folder with ``taskpane.html``, installed or in the source checkout; None if absent."""
    here = Path(__file__).resolve().parent
    candidates = (here / "addin_files", here.parents[2] / "addin" / "web")
    return next((path for path in candidates if (path / "taskpane.html").is_file()), None)


@dataclass(frozen=True)
class StaticFile:
    """One file, ready to send."""

    body: bytes
    content_type: str
    etag: str
    cache_control: str

    @property
    def is_page(self) -> bool:
        """Whether it is an HTML page (gets the Content-Security-Policy)."""
        return self.content_type.startswith("text/html")


class StaticFiles:
    """The files under ``root``, read on first request and kept (they change only on upgrade)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root.resolve() if root is not None else None
        self._cache: dict[str, StaticFile] = {}

    def get(self, relative: str) -> StaticFile | None:
        """The file at ``relative`` (a URL path below ``/addin/``), or None; never escapes root."""
        if relative in self._cache:
            return self._cache[relative]
        found = self._read(relative)
        # Only files are kept: names that are not (anyone may ask for any) would fill the cache
        # and leave the real files to be read from disk on every request.
        if found is not None and len(self._cache) < MAX_CACHED:
            self._cache[relative] = found
        return found

    def _read(self, relative: str) -> StaticFile | None:
        if self.root is None:
            return None
        parts = PurePosixPath(relative).parts
        if not parts or any(part.startswith(".") or "\x00" in part for part in parts):
            return None  # ".", "..", hidden files; a NUL no file name can hold
        try:
            path = self.root.joinpath(*parts).resolve()
            if not path.is_relative_to(self.root) or not path.is_file():
                return None
            body = path.read_bytes()
        except (OSError, ValueError):  # unreadable, or a name the file system refuses
            return None
        suffix = path.suffix.lower()
        content_type = _TYPES.get(suffix) or mimetypes.guess_type(path.name)[0]
        digest = hashlib.sha256(body).hexdigest()[:32]
        return StaticFile(
            body=body,
            content_type=content_type or "application/octet-stream",
            etag=f'"{digest}"',
            cache_control=PAGE_CACHE if suffix == ".html" else ASSET_CACHE,
        )
