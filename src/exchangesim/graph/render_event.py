"""Calendar items as Graph ``event`` resources.

Field by field from https://learn.microsoft.com/graph/api/resources/event (v1.0) and the
captured responses in ../shared/conformance/graph-samples/ (``event-get-attendeeResponses``,
``events-list-seriesMaster-group``, ``event-instances-occurrences-exception``). ``iCalUId`` is the
item's PidLidGlobalObjectId in hex (different for each instance of a series); ``uid`` its
PidLidCleanGlobalObjectId (the same for the whole series), as Outlook fills them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from exchangesim.graph import recurrence_json
from exchangesim.graph.ids import rest_id
from exchangesim.graph.render_common import NEVER, body, instant, local, preview, recipient
from exchangesim.store.mapi_properties import global_object_id, instance_date

if TYPE_CHECKING:
    from exchangesim.graph.context import GraphCall
    from exchangesim.store.items import Attendee, CalendarItem, ResponseType

EVENT_TYPE: Final = {
    "Single": "singleInstance",
    "Occurrence": "occurrence",
    "Exception": "exception",
    "RecurringMaster": "seriesMaster",
}
SHOW_AS: Final = {
    "Free": "free",
    "Tentative": "tentative",
    "Busy": "busy",
    "OOF": "oof",
    "WorkingElsewhere": "workingElsewhere",
    "NoData": "unknown",
}
RESPONSE: Final[dict[str, str]] = {
    "Unknown": "none",
    "Organizer": "organizer",
    "Tentative": "tentativelyAccepted",
    "Accept": "accepted",
    "Decline": "declined",
    "NoResponseReceived": "notResponded",
}


def response_word(value: ResponseType) -> str:
    """Graph's ``responseType`` word for a store response."""
    return RESPONSE[value]


def _attendee(attendee: Attendee, kind: str, call: GraphCall) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": kind,
        "status": {
            "response": RESPONSE[attendee.response_type],
            "time": instant(attendee.last_response_time, fraction=True) or NEVER,
        },
    }
    if attendee.proposed_start is not None and attendee.proposed_end is not None:
        zone = call.zone()
        out["proposedNewTime"] = {
            "start": local(attendee.proposed_start, zone),
            "end": local(attendee.proposed_end, zone),
        }
    out |= recipient(attendee.mailbox) or {}
    return out


def _location(text: str) -> dict[str, Any]:
    if not text:
        return {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        }
    return {
        "displayName": text,
        "locationType": "default",
        "uniqueId": text,
        "uniqueIdType": "private",
    }


def _icaluid(item: CalendarItem) -> str | None:
    return global_object_id(item.uid, instance_date(item)).hex().upper() if item.uid else None


def render_event(item: CalendarItem, call: GraphCall) -> dict[str, Any]:
    """The full default property set of an ``event``."""
    zone = call.zone()
    attendees = (
        [_attendee(a, "required", call) for a in item.required_attendees]
        + [_attendee(a, "optional", call) for a in item.optional_attendees]
        + [_attendee(a, "resource", call) for a in item.resources]
    )
    master = item.master_id if item.calendar_item_type in ("Occurrence", "Exception") else None
    location = _location(item.location)
    out: dict[str, Any] = {
        "@odata.etag": f'W/"{item.change_key}"',
        "id": rest_id(item.id),
        "createdDateTime": instant(item.date_time_created, fraction=True),
        "lastModifiedDateTime": instant(item.last_modified_time, fraction=True),
        "changeKey": item.change_key,
        "categories": list(item.categories),
        "transactionId": None,
        "originalStartTimeZone": item.start_time_zone,
        "originalEndTimeZone": item.end_time_zone,
        "iCalUId": _icaluid(item),
        "uid": global_object_id(item.uid).hex().upper() if item.uid else None,
        "reminderMinutesBeforeStart": item.reminder_minutes_before_start,
        "isReminderOn": item.reminder_is_set,
        "hasAttachments": item.has_attachments,
        "subject": item.subject,
        "bodyPreview": preview(item.body),
        "importance": item.importance.lower(),
        "sensitivity": item.sensitivity.lower(),
        "isAllDay": item.is_all_day,
        "isCancelled": item.is_cancelled,
        "isOrganizer": item.is_organizer,
        "responseRequested": bool(item.is_response_requested) if item.is_meeting else True,
        "seriesMasterId": rest_id(master) if master else None,
        "showAs": SHOW_AS[item.legacy_free_busy_status],
        "type": EVENT_TYPE[item.calendar_item_type],
        "webLink": f"https://outlook.office365.com/owa/?itemid={rest_id(item.id)}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": item.is_online_meeting,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": item.allow_new_time_proposal,
        "occurrenceId": None,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {
            "response": RESPONSE[item.my_response_type],
            "time": instant(item.appointment_reply_time, fraction=True) or NEVER,
        },
        "body": body(item.body, call.body_type()),
        "start": local(item.start, zone),
        "end": local(item.end, zone),
        "location": location,
        "locations": [location] if item.location else [],
        "recurrence": recurrence_json.to_json(item.recurrence, item.start_time_zone),
        "attendees": attendees,
        "organizer": recipient(item.organizer),
        "onlineMeeting": None,
    }
    if master and item.original_start is not None:
        # Only instances of a series carry originalStart: their start as the series scheduled
        # it (https://learn.microsoft.com/graph/api/resources/event, "originalStart").
        out["originalStart"] = instant(item.original_start)
    return out
