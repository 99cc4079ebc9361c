"""Messages as Graph ``message`` / ``eventMessage`` / ``eventMessageRequest`` resources.

Field by field from https://learn.microsoft.com/graph/api/resources/message,
.../eventmessage and .../eventmessagerequest (v1.0), checked against
../shared/conformance/graph-samples/eventMessage-*.json. Meeting messages are typed by their
item class ([MS-OXOCAL] 2.2.6-2.2.8): a request or update is an ``eventMessageRequest`` with
``meetingMessageType`` ``meetingRequest``; a cancellation or a response an ``eventMessage``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any, Final

from exchangesim.graph import recurrence_json
from exchangesim.graph.ids import rest_id
from exchangesim.graph.render_common import body, instant, local, preview, recipient
from exchangesim.graph.render_event import EVENT_TYPE
from exchangesim.store.items import (
    FORWARD_NOTIFICATION,
    MEETING_CANCELLED,
    MEETING_REQUEST,
    RESPONSE_CLASSES,
    MeetingMessage,
    MeetingRequest,
    Message,
)

if TYPE_CHECKING:
    from exchangesim.graph.context import GraphCall
    from exchangesim.store.items import Item

#: ``meetingMessageType`` by item class. "meetingTenativelyAccepted" is Graph's own spelling in
#: v1.0 (eventMessage-meetingTentativelyAccepted.json).
MEETING_MESSAGE_TYPE: Final = {
    MEETING_REQUEST: "meetingRequest",
    MEETING_CANCELLED: "meetingCancelled",
    RESPONSE_CLASSES["Accept"]: "meetingAccepted",
    RESPONSE_CLASSES["Tentative"]: "meetingTenativelyAccepted",
    RESPONSE_CLASSES["Decline"]: "meetingDeclined",
    FORWARD_NOTIFICATION: "none",
}
REQUEST_TYPE: Final = {
    "None": "none",
    "NewMeetingRequest": "newMeetingRequest",
    "FullUpdate": "fullUpdate",
    "InformationalUpdate": "informationalUpdate",
    "SilentUpdate": "silentUpdate",
    "Outdated": "outdated",
    "PrincipalWantsCopy": "principalWantsCopy",
}


def odata_type(item: Item) -> str:
    """``@odata.type`` of a message item."""
    if isinstance(item, MeetingRequest):
        return "#microsoft.graph.eventMessageRequest"
    if isinstance(item, MeetingMessage):
        return "#microsoft.graph.eventMessage"
    return "#microsoft.graph.message"


def _conversation_index(item: Item) -> str:
    seed = hashlib.sha256((item.conversation_id or item.id).encode()).digest()[:22]
    return base64.b64encode(seed).decode("ascii")


def render_message(item: Item, call: GraphCall) -> dict[str, Any]:
    """The default property set of a message (with the event-message fields for meetings)."""
    out: dict[str, Any] = {}
    kind = odata_type(item)
    if kind != "#microsoft.graph.message":
        out["@odata.type"] = kind
    sent = item.date_time_sent
    out |= {
        "@odata.etag": f'W/"{item.change_key}"',
        "id": rest_id(item.id),
        "createdDateTime": instant(item.date_time_created),
        "lastModifiedDateTime": instant(item.last_modified_time),
        "changeKey": item.change_key,
        "categories": list(item.categories),
        "receivedDateTime": instant(item.date_time_received or item.date_time_created),
        "sentDateTime": instant(sent),
        "hasAttachments": item.has_attachments,
        "internetMessageId": item.internet_message_id,
        "subject": item.subject,
        "bodyPreview": preview(item.body),
        "importance": item.importance.lower(),
        "parentFolderId": rest_id(item.folder_id),
        "conversationId": rest_id(item.conversation_id) if item.conversation_id else None,
        "conversationIndex": _conversation_index(item),
        "isDeliveryReceiptRequested": None,
        "isReadReceiptRequested": False,
        "isRead": item.is_read,
        "isDraft": item.is_draft,
        "webLink": f"https://outlook.office365.com/owa/?ItemID={rest_id(item.id)}&exvsurl=1&viewmodel=ReadMessageItem",
        "inferenceClassification": "focused",
    }
    if isinstance(item, Message):
        out["isDeliveryReceiptRequested"] = item.is_delivery_receipt_requested
        out["isReadReceiptRequested"] = item.is_read_receipt_requested
    if isinstance(item, MeetingMessage):
        out |= _event_message_fields(item, call)
    out["body"] = body(item.body, call.body_type())
    if isinstance(item, Message):
        out |= {
            "sender": recipient(item.sender),
            "from": recipient(item.author),
            "toRecipients": [recipient(a) for a in item.to_recipients],
            "ccRecipients": [recipient(a) for a in item.cc_recipients],
            "bccRecipients": [recipient(a) for a in item.bcc_recipients],
            "replyTo": [recipient(a) for a in item.reply_to],
        }
    out["flag"] = {"flagStatus": "notFlagged"}
    return out


def _event_message_fields(item: MeetingMessage, call: GraphCall) -> dict[str, Any]:
    zone = call.zone()
    kind = item.calendar_item_type
    if item.recurrence is not None:
        kind = "RecurringMaster"
    elif item.recurrence_id is not None:
        kind = "Exception"
    fields: dict[str, Any] = {
        "meetingMessageType": MEETING_MESSAGE_TYPE.get(item.item_class, "none"),
        "startDateTime": local(item.start, zone),
        "endDateTime": local(item.end, zone),
        "location": {
            "displayName": item.location,
            "locationType": "default",
            "uniqueIdType": "unknown",
        },
        "type": EVENT_TYPE.get(kind, "singleInstance"),
        "recurrence": recurrence_json.to_json(item.recurrence, item.start_time_zone),
        "isOutOfDate": item.is_out_of_date,
        "isAllDay": item.is_all_day,
        "isDelegated": item.is_delegated,
    }
    if isinstance(item, MeetingRequest):
        fields |= {
            "meetingRequestType": REQUEST_TYPE.get(item.meeting_request_type, "none"),
            "responseRequested": bool(item.is_response_requested),
            "allowNewTimeProposals": item.allow_new_time_proposal,
            "previousStartDateTime": None,
            "previousEndDateTime": None,
            "previousLocation": None,
        }
    return fields
