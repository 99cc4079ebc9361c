"""The route table: which handler answers which method and path under a user, and the Graph
permission it needs (the least-privileged one Microsoft lists for the API; a broader one such as
``Mail.ReadWrite`` satisfies a narrower need through `exchangesim.access`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from exchangesim.graph.context import GraphResult

_ID = r"[^/]+"
_FOLDER = rf"(?:mailFolders|mailfolders)/(?P<folder>{_ID})"
_CAL = r"(?:calendar/)?"


@dataclass(frozen=True)
class Route:
    """One route: method, compiled path pattern (below the user), permission, handler name."""

    method: str
    pattern: re.Pattern[str]
    needs: str
    name: str
    handler: Callable[..., GraphResult]


_ROUTES: list[Route] = []


def route(
    method: str, path: str, needs: str
) -> Callable[[Callable[..., GraphResult]], Callable[..., GraphResult]]:
    """Register a handler for ``method`` and a path below ``/users/{id}/`` (a regex)."""

    def register(func: Callable[..., GraphResult]) -> Callable[..., GraphResult]:
        pattern = re.compile(f"^{path}/?$", re.IGNORECASE)
        _ROUTES.append(Route(method, pattern, needs, func.__name__, func))
        return func

    return register


def match(method: str, rest: str) -> tuple[Route, dict[str, str]] | bool | None:
    """The route and its path parameters; False when the path exists for other methods only."""
    path_known = False
    for candidate in _ROUTES:
        found = candidate.pattern.match(rest)
        if found is None:
            continue
        if candidate.method == method:
            return candidate, {k: v for k, v in found.groupdict().items() if v is not None}
        path_known = True
    return False if path_known else None


#: The delta function as clients spell it: ``delta``, ``delta()``, ``microsoft.graph.delta()``.
DELTA = r"(?:microsoft\.graph\.)?delta(?:\(\))?"
#: A segment that is not the delta function (for id segments).
NOT_DELTA = rf"(?!{DELTA}$)"
FOLDER = _FOLDER
CAL = _CAL
ID = _ID
