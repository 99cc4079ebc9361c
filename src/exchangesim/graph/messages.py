"""Mail: list and read messages (all, or one folder's), an event message's ``event``, mark read,
delete, and ``sendMail``.

https://learn.microsoft.com/graph/api/user-list-messages, .../message-get,
.../eventmessage-get (``$expand=microsoft.graph.eventMessage/event``), .../message-update,
.../message-delete, .../user-sendmail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from exchangesim.graph import extended
from exchangesim.graph.collection import entity, page
from exchangesim.graph.context import GraphResult
from exchangesim.graph.errors import GraphError, bad_request, not_found
from exchangesim.graph.ids import rest_id, store_id
from exchangesim.graph.render_common import instant
from exchangesim.graph.render_event import render_event
from exchangesim.graph.render_message import render_message
from exchangesim.graph.routing import FOLDER, ID, NOT_DELTA, route
from exchangesim.store import transport
from exchangesim.store.errors import ItemNotFound
from exchangesim.store.items import Address, Body, CalendarItem, Item, MeetingMessage, Message

if TYPE_CHECKING:
    from exchangesim.graph.context import GraphCall

#: Graph's well-known folder names that the store knows by the same (EWS) name.
WELL_KNOWN: Final = frozenset(
    {
        "inbox",
        "sentitems",
        "deleteditems",
        "drafts",
        "outbox",
        "junkemail",
        "msgfolderroot",
        "calendar",
    }
)
#: Folders whose items ``/messages`` lists: every mail folder (calendar etc. are not mail).
_MAIL_FOLDERS: Final = ("inbox", "sentitems", "deleteditems", "drafts", "outbox", "junkemail")


def folder_ref(folder: str) -> str:
    """The store folder reference of a Graph folder segment (well-known name or id)."""
    return folder.casefold() if folder.casefold() in WELL_KNOWN else store_id(folder)


def _is_message(item: Item) -> bool:
    return not isinstance(item, CalendarItem)


def _mailbox_items(call: GraphCall, folder: str | None) -> list[Item]:
    store = call.sim.store
    if folder is not None:
        ref = folder_ref(folder)
        return [i for i in store.items(call.mailbox, ref) if _is_message(i)]
    found: list[Item] = []
    for name in _MAIL_FOLDERS:
        found.extend(i for i in store.items(call.mailbox, name) if _is_message(i))
    for custom in store.child_folders(call.mailbox, "msgfolderroot", deep=True):
        if custom.distinguished is None and (custom.folder_class or "IPF.Note").startswith(
            "IPF.Note"
        ):
            found.extend(i for i in store.items(call.mailbox, custom.id) if _is_message(i))
    return found


def _own_message(call: GraphCall, message_id: str) -> Item:
    store = call.sim.store
    found = store.find_item(store_id(message_id))
    if (
        found is None
        or found[0].address.casefold() != call.mailbox.casefold()
        or not _is_message(found[2])
    ):
        raise not_found()
    return found[2]


def linked_event(call: GraphCall, item: Item) -> CalendarItem | None:
    """The calendar item an event message is about in this mailbox, if the Calendar Attendant
    (or a response) put one there: the message's PidLidAssociated... link, as EWS
    ``AssociatedCalendarItemId``. None with ``AutomateProcessing None`` before any response."""
    if not isinstance(item, MeetingMessage) or not item.associated_calendar_item_id:
        return None
    try:
        event = call.sim.store.get_item(item.associated_calendar_item_id)
    except ItemNotFound:
        return None
    return event if isinstance(event, CalendarItem) else None


def render_with_expand(call: GraphCall, item: Item) -> dict[str, Any]:
    """A message, with its ``event`` when ``$expand`` asks and the message is an event message."""
    data = render_message(item, call)
    if call.query.extended:
        found = extended.render(item, call.query.extended)
        if found:
            data["singleValueExtendedProperties@odata.context"] = call.context_url(
                f"messages('{rest_id(item.id)}')/singleValueExtendedProperties"
            )
            data["singleValueExtendedProperties"] = found
    if call.query.expand_event and isinstance(item, MeetingMessage):
        event = linked_event(call, item)
        data["event@odata.context"] = call.context_url(
            f"messages('{rest_id(item.id)}')/microsoft.graph.eventMessage/event/$entity"
        )
        data["event"] = None if event is None else render_event(event, call)
    return data


def _received(item: Item) -> str | None:
    # The rendered receivedDateTime: ISO text in UTC sorts as the times do.
    return instant(item.date_time_received or item.date_time_created)


@route("GET", "messages", "Mail.Read")
def list_messages(call: GraphCall) -> GraphResult:
    """GET /users/{id}/messages."""
    items = _mailbox_items(call, None)
    return page(
        call,
        items,
        lambda i: render_with_expand(call, i),
        "messages",
        default_order=("receivedDateTime", True),
        raw_order=_received,
    )


@route("GET", f"{FOLDER}/messages", "Mail.Read")
def list_folder_messages(call: GraphCall, folder: str) -> GraphResult:
    """GET /users/{id}/mailFolders/{folder}/messages."""
    items = _mailbox_items(call, folder)
    return page(
        call,
        items,
        lambda i: render_with_expand(call, i),
        f"mailFolders('{folder}')/messages",
        default_order=("receivedDateTime", True),
        raw_order=_received,
    )


@route("GET", f"(?:{FOLDER}/)?messages/(?P<message>{NOT_DELTA}{ID})", "Mail.Read")
def get_message(call: GraphCall, message: str, folder: str | None = None) -> GraphResult:
    """GET /users/{id}/messages/{id}."""
    del folder
    item = _own_message(call, message)
    return entity(call, render_with_expand(call, item), "messages/$entity")


@route(
    "GET", f"messages/(?P<message>{ID})/(?:microsoft\\.graph\\.eventMessage/)?event", "Mail.Read"
)
def get_message_event(call: GraphCall, message: str) -> GraphResult:
    """GET /users/{id}/messages/{id}/microsoft.graph.eventMessage/event."""
    item = _own_message(call, message)
    event = linked_event(call, item)
    if event is None:
        raise not_found()
    return entity(call, render_event(event, call), "events/$entity")


@route("PATCH", f"messages/(?P<message>{ID})", "Mail.ReadWrite")
def update_message(call: GraphCall, message: str) -> GraphResult:
    """PATCH /users/{id}/messages/{id}: ``isRead``, ``categories``, ``subject`` (drafts)."""
    item = _own_message(call, message)
    body = call.body if isinstance(call.body, dict) else {}
    changes: dict[str, object] = {}
    if "isRead" in body:
        changes["is_read"] = bool(body["isRead"])
    if "categories" in body:
        changes["categories"] = tuple(str(c) for c in body["categories"] or ())
    if "importance" in body:
        changes["importance"] = str(body["importance"]).capitalize()
    unknown = set(body) - {"isRead", "categories", "importance"}
    if unknown:
        raise bad_request(
            f"exchangesim cannot update {sorted(unknown)} on a message.", "ErrorInvalidPropertySet"
        )
    updated = call.sim.store.update_item(item.id, changes)
    return entity(call, render_message(updated, call), "messages/$entity")


@route("DELETE", f"messages/(?P<message>{ID})", "Mail.ReadWrite")
def delete_message(call: GraphCall, message: str) -> GraphResult:
    """DELETE /users/{id}/messages/{id}: the message moves to Deleted Items."""
    item = _own_message(call, message)
    call.sim.store.delete_item(item.id)
    return _no_content()


def _no_content() -> GraphResult:
    return GraphResult(204)


def parse_recipients(value: Any, field: str) -> tuple[Address, ...]:
    """``[{"emailAddress": {"address", "name"}}]`` as store addresses."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise bad_request(f"'{field}' must be a collection of recipients.")
    found = []
    for entry in value:
        email = (entry or {}).get("emailAddress") if isinstance(entry, dict) else None
        if not isinstance(email, dict) or not isinstance(email.get("address"), str):
            raise bad_request(f"Each of '{field}' needs emailAddress.address.")
        found.append(Address(email["address"], str(email.get("name") or "")))
    return tuple(found)


def parse_body(value: Any) -> Body:
    """An ``itemBody`` as a store body (text when absent)."""
    if value is None:
        return Body()
    if not isinstance(value, dict):
        raise bad_request("'body' must be an itemBody.")
    content = str(value.get("content") or "")
    if str(value.get("contentType", "text")).casefold() == "html":
        return Body("HTML", content)
    return Body("Text", content)


@route("POST", "sendMail", "Mail.Send")
def send_mail(call: GraphCall) -> GraphResult:
    """POST /users/{id}/sendMail: deliver ``message`` to its recipients (202, no body)."""
    body = call.body if isinstance(call.body, dict) else None
    data = body.get("message") if body else None
    if not isinstance(data, dict):
        raise GraphError(400, "ErrorInvalidRequest", "The 'message' parameter is required.")
    to = parse_recipients(data.get("toRecipients"), "toRecipients")
    cc = parse_recipients(data.get("ccRecipients"), "ccRecipients")
    bcc = parse_recipients(data.get("bccRecipients"), "bccRecipients")
    if not (to or cc or bcc):
        raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
    message = Message(
        subject=str(data.get("subject") or ""),
        body=parse_body(data.get("body")),
        to_recipients=to,
        cc_recipients=cc,
        bcc_recipients=bcc,
    )
    save = body.get("saveToSentItems", True) if body else True
    transport.send_message(call.sim.store, call.mailbox, message, save_copy=save is not False)
    return GraphResult(202)
