"""Delta queries: ``mailFolders/{id}/messages/delta`` and ``calendarView/delta``.

https://learn.microsoft.com/graph/delta-query-messages and .../delta-query-events: a round is
one or more pages linked by ``@odata.nextLink`` (``$skiptoken``) and ends with an
``@odata.deltaLink`` (``$deltatoken``) to start the next round from. Removed items come as
``{"id", "@removed": {"reason": "deleted"}}``; the first round returns what exists now.

- Message tokens carry the store's folder sync state (the journal behind EWS SyncFolderItems),
  so they survive a restart of the simulator.
- Calendar view tokens name a snapshot of the window's instances (id and content) kept in a
  bounded cache, as Outlook keeps delta state: a token pushed out of the cache, or lost with a
  restart, answers 410 ``syncStateNotFound`` and the client starts over
  (https://learn.microsoft.com/graph/delta-query-overview: for Outlook resources the token's
  lifetime "is dependent on the size of the internal delta token cache").
- Changing the ``graph_delta_epoch`` knob expires every token issued before.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import secrets
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from exchangesim.graph.collection import DEFAULT_PAGE, select
from exchangesim.graph.context import GraphResult
from exchangesim.graph.errors import GraphError, sync_state_gone
from exchangesim.graph.events import window
from exchangesim.graph.messages import folder_ref, render_with_expand
from exchangesim.graph.render_event import render_event
from exchangesim.graph.routing import CAL, DELTA, FOLDER, route
from exchangesim.store.errors import InvalidSyncState, ItemNotFound
from exchangesim.store.items import CalendarItem

if TYPE_CHECKING:
    from datetime import datetime

    from exchangesim.graph.context import GraphCall
    from exchangesim.sim import Simulator

#: Calendar view delta states kept per simulator (oldest dropped first).
CACHE_SIZE: Final = 5000
_CHANGE_TYPES: Final = {
    "created": {"Create"},
    "updated": {"Update", "ReadFlagChange"},
    "deleted": {"Delete"},
}


def _encode(data: dict[str, Any]) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )


def _decode(token: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise sync_state_gone() from None
    if not isinstance(data, dict):
        raise sync_state_gone()
    return data


def _tokens(call: GraphCall) -> tuple[str | None, str | None]:
    lowered = {k.casefold(): v for k, v in call.query.raw.items()}
    return lowered.get("$skiptoken"), lowered.get("$deltatoken")


def _epoch(call: GraphCall) -> int:
    return call.sim.knobs.settings.graph_delta_epoch


def _removed(odata_type: str, item_id: str) -> dict[str, Any]:
    return {"@odata.type": odata_type, "id": item_id, "@removed": {"reason": "deleted"}}


# --- messages ----------------------------------------------------------------------------------


@route("GET", f"{FOLDER}/messages/{DELTA}", "Mail.Read")
def message_delta(call: GraphCall, folder: str) -> GraphResult:
    """GET /users/{id}/mailFolders/{id}/messages/delta."""
    from exchangesim.graph.ids import rest_id  # noqa: PLC0415

    store = call.sim.store
    skip, delta = _tokens(call)
    token = skip or delta
    folder_id = store.folder(call.mailbox, folder_ref(folder)).id
    if token is not None:
        state = _decode(token)
        if state.get("e") != _epoch(call) or state.get("f") != folder_id:
            raise sync_state_gone()
        sync_state, fields, change_type = state.get("s"), state.get("q", []), state.get("c")
        size = int(state.get("n", DEFAULT_PAGE))
    else:
        lowered = {k.casefold(): v for k, v in call.query.raw.items()}
        sync_state, fields, change_type = None, list(call.query.select), lowered.get("changetype")
        if change_type is not None and change_type not in _CHANGE_TYPES:
            raise GraphError(
                400, "ErrorInvalidUrlQuery", f"Unsupported changeType '{change_type}'."
            )
        size = call.page_size(DEFAULT_PAGE)
    try:
        result = store.changes_since(folder_id, sync_state, max_changes=size)
    except InvalidSyncState:
        raise sync_state_gone() from None
    wanted = _CHANGE_TYPES[change_type] if change_type else None
    value: list[dict[str, Any]] = []
    for change in result.changes:
        if wanted is not None and change.kind not in wanted:
            continue
        if change.kind == "Delete" or change.item is None:
            value.append(_removed("#microsoft.graph.message", rest_id(change.item_id)))
            continue
        data = render_with_expand(call, change.item)
        data.setdefault("@odata.type", "#microsoft.graph.message")
        value.append(select(data, fields))
    following = _encode(
        {
            "e": _epoch(call),
            "f": folder_id,
            "s": result.sync_state,
            "q": fields,
            "c": change_type,
            "n": size,
        }
    )
    body: dict[str, Any] = {
        "@odata.context": f"{call.service_root}/$metadata#Collection(message)",
        "value": value,
    }
    link_name = "@odata.deltaLink" if result.includes_last_item_in_range else "@odata.nextLink"
    param = "$deltatoken" if result.includes_last_item_in_range else "$skiptoken"
    body[link_name] = call.link(call.path, {param: following})
    return GraphResult(200, body)


# --- calendar view -------------------------------------------------------------------------------


@dataclass
class _ViewState:
    """A calendar view delta state: the window, the instances as the client has them after the
    round (``snapshot``), and the changes of the round still to send (``pending``)."""

    mailbox: str
    start: datetime
    end: datetime
    epoch: int
    snapshot: dict[str, str]
    pending: list[tuple[str, str]]  # ("upsert" | "remove", store id)


class _ViewCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: OrderedDict[str, _ViewState] = OrderedDict()

    def put(self, state: _ViewState) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._states[token] = state
            while len(self._states) > CACHE_SIZE:
                self._states.popitem(last=False)
        return token

    def get(self, token: str) -> _ViewState | None:
        with self._lock:
            state = self._states.get(token)
            if state is not None:
                self._states.move_to_end(token)
            return state


_CACHES: weakref.WeakKeyDictionary[Simulator, _ViewCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache(sim: Simulator) -> _ViewCache:
    with _CACHES_LOCK:
        cache = _CACHES.get(sim)
        if cache is None:
            cache = _CACHES[sim] = _ViewCache()
        return cache


def _version(item: CalendarItem) -> str:
    """What an instance looks like, without the bookkeeping that moves when only its series'
    other instances change (an occurrence shares its master's change key)."""
    plain = dataclasses.replace(item, change_key="", last_modified_time=None)
    return hashlib.sha256(repr(plain).encode()).hexdigest()[:32]


def _instances(call: GraphCall, start: datetime, end: datetime) -> dict[str, str]:
    items = call.sim.store.calendar_view(call.mailbox, "calendar", start, end, limit=100_000)
    return {i.id: _version(i) for i in items}


@route("GET", f"{CAL}calendarView/{DELTA}", "Calendars.Read")
def calendar_view_delta(call: GraphCall) -> GraphResult:
    """GET /users/{id}/calendarView/delta?startDateTime=...&endDateTime=..."""
    from exchangesim.graph.ids import rest_id  # noqa: PLC0415

    cache = _cache(call.sim)
    skip, delta = _tokens(call)
    if skip is not None:
        state = cache.get(skip)
        if state is None or state.epoch != _epoch(call) or state.mailbox != call.mailbox.casefold():
            raise sync_state_gone()
        pending, snapshot = list(state.pending), state.snapshot
        start, end = state.start, state.end
    else:
        if delta is not None:
            previous = cache.get(delta)
            if (
                previous is None
                or previous.epoch != _epoch(call)
                or previous.mailbox != call.mailbox.casefold()
            ):
                raise sync_state_gone()
            start, end, known = previous.start, previous.end, previous.snapshot
        else:
            start, end = window(call.query.raw)
            known = {}
        snapshot = _instances(call, start, end)
        pending = [("upsert", i) for i, ck in snapshot.items() if known.get(i) != ck]
        pending += [("remove", i) for i in known if i not in snapshot]
    size = call.page_size(DEFAULT_PAGE)
    chunk, rest = pending[:size], pending[size:]
    value: list[dict[str, Any]] = []
    for kind, item_id in chunk:
        item = None
        if kind == "upsert":
            try:
                found = call.sim.store.get_item(item_id)
                item = found if isinstance(found, CalendarItem) else None
            except ItemNotFound:
                item = None
        if item is None:
            value.append(_removed("#microsoft.graph.event", rest_id(item_id)))
        else:
            value.append({"@odata.type": "#microsoft.graph.event", **render_event(item, call)})
    following = _ViewState(call.mailbox.casefold(), start, end, _epoch(call), snapshot, rest)
    token = cache.put(following)
    body: dict[str, Any] = {
        "@odata.context": f"{call.service_root}/$metadata#Collection(event)",
        "value": value,
    }
    path = call.path
    if rest:
        body["@odata.nextLink"] = call.link(path, {"$skiptoken": token})
    else:
        body["@odata.deltaLink"] = call.link(path, {"$deltatoken": token})
    return GraphResult(200, body)
