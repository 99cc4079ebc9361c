"""Collections: ``$filter``, ``$orderby``, ``$select``, paging with ``@odata.nextLink``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from exchangesim.graph.context import GraphResult
from exchangesim.graph.odata import path_value

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from exchangesim.graph.context import GraphCall

#: Always sent, whatever ``$select`` says (Graph keeps the id and the OData annotations).
_ALWAYS: Final = ("@odata.type", "@odata.etag", "id", "@removed")
#: Outlook's default page for messages, events and calendarView (https://learn.microsoft.com/graph/paging).
DEFAULT_PAGE: Final = 10


def select(data: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """Only the selected properties (and the ones Graph always sends)."""
    if not fields:
        return data
    wanted = {f.casefold() for f in fields}
    return {
        k: v
        for k, v in data.items()
        if k in _ALWAYS
        or k.casefold() in wanted
        or (k.endswith("@odata.context") and k.split("@")[0].casefold() in wanted)
    }


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)


def page(
    call: GraphCall,
    rows: Sequence[Any],
    render: Callable[[Any], dict[str, Any]],
    context: str,
    *,
    default_order: tuple[str, bool] | None = None,
    raw_order: Callable[[Any], Any] | None = None,
    page_size: int = DEFAULT_PAGE,
) -> GraphResult:
    """One page of a collection, filtered and ordered on the rendered JSON.

    Without ``$filter`` and ``$orderby``, ``raw_order`` (the store-side key of the default
    order) sorts the rows before rendering, so only the page is rendered.
    """
    size = call.page_size(page_size)
    start = call.query.skip
    if call.query.filter is None and call.query.orderby is None and raw_order is not None:
        descending = default_order is not None and default_order[1]
        ordered = sorted(rows, key=lambda r: _sort_key(raw_order(r)), reverse=descending)
        total = len(ordered)
        chunk = [render(r) for r in ordered[start : start + size]]
    else:
        rendered = [render(r) for r in rows]
        if call.query.filter is not None:
            rendered = [r for r in rendered if call.query.filter(r)]
        order = call.query.orderby or default_order
        if order is not None:
            prop, reverse = order
            rendered.sort(key=lambda r: _sort_key(path_value(r, prop)), reverse=reverse)
        total = len(rendered)
        chunk = rendered[start : start + size]
    selected = call.query.select
    body: dict[str, Any] = {
        "@odata.context": call.context_url(context),
        "value": [select(r, selected) for r in chunk],
    }
    if start + size < total:
        params = {k: v for k, v in call.query.raw.items() if k.casefold() != "$skip"}
        params["$skip"] = str(start + size)
        body["@odata.nextLink"] = call.link(call.path, params)
    return GraphResult(200, body)


def entity(call: GraphCall, data: dict[str, Any], context: str) -> GraphResult:
    """A single entity answer (with ``$select`` applied)."""
    body = {"@odata.context": call.context_url(context), **select(data, call.query.select)}
    return GraphResult(200, body)
