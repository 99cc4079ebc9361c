"""A request's ``event`` JSON as store field values (for POST and PATCH of events).

Writable properties of https://learn.microsoft.com/graph/api/resources/event that the store
keeps; read-only ones (``id``, ``changeKey``, ``iCalUId`` ...) are ignored as Graph ignores them,
anything else is a 400. Time zones may be Windows or IANA names; the store keeps Windows names.
"""

from __future__ import annotations

from typing import Any, Final

from exchangesim.graph import recurrence_json
from exchangesim.graph.errors import bad_request
from exchangesim.graph.messages import parse_body, parse_recipients
from exchangesim.graph.render_common import parse_local
from exchangesim.store import timezones
from exchangesim.store.errors import UnknownTimeZone
from exchangesim.store.items import Attendee

_SHOW_AS: Final = {
    "free": "Free",
    "tentative": "Tentative",
    "busy": "Busy",
    "oof": "OOF",
    "workingelsewhere": "WorkingElsewhere",
    "unknown": "NoData",
}
_IGNORED: Final = frozenset(
    {
        "@odata.type",
        "@odata.etag",
        "id",
        "changeKey",
        "createdDateTime",
        "lastModifiedDateTime",
        "iCalUId",
        "uid",
        "seriesMasterId",
        "type",
        "isOrganizer",
        "organizer",
        "responseStatus",
        "webLink",
        "bodyPreview",
        "hasAttachments",
        "originalStartTimeZone",
        "originalEndTimeZone",
        "isCancelled",
        "onlineMeeting",
        "onlineMeetingUrl",
        "onlineMeetingProvider",
        "locations",
        "transactionId",
        "isDraft",
        "hideAttendees",
        "occurrenceId",
    }
)


def windows_zone(name: str) -> str:
    """The Windows name of a request's time zone (Windows or IANA)."""
    if name.casefold() == "utc":
        return "UTC"
    try:
        timezones.zone(name)
    except UnknownTimeZone:
        try:
            return timezones.windows_id(name)
        except UnknownTimeZone:
            raise bad_request(
                f"The time zone '{name}' is not supported.", "TimeZoneNotSupportedException"
            ) from None
    return name


def _attendees(value: Any) -> dict[str, tuple[Attendee, ...]]:
    if not isinstance(value, list):
        raise bad_request("'attendees' must be a collection.")
    kinds: dict[str, list[Attendee]] = {"required": [], "optional": [], "resource": []}
    for entry in value:
        (address,) = parse_recipients([entry], "attendees")
        kind = str(entry.get("type") or "required").casefold()
        if kind not in kinds:
            raise bad_request(f"Unknown attendee type '{kind}'.")
        kinds[kind].append(Attendee(address))
    return {
        "required_attendees": tuple(kinds["required"]),
        "optional_attendees": tuple(kinds["optional"]),
        "resources": tuple(kinds["resource"]),
    }


def event_changes(data: Any) -> dict[str, object]:
    """Store field values for the properties present in ``data``; 400 for values of the wrong
    type (Graph's ``RequestBodyRead``)."""
    if not isinstance(data, dict):
        raise bad_request("The request body must be an event object.")
    try:
        return _changes(data)
    except (TypeError, ValueError, AttributeError) as exc:
        raise bad_request(f"Cannot read the event: {exc}", "RequestBodyRead") from exc


def _changes(data: dict[str, Any]) -> dict[str, object]:
    changes: dict[str, object] = {}
    for key, value in data.items():
        if key in _IGNORED or key.startswith("@"):
            continue
        if key == "subject":
            changes["subject"] = str(value or "")
        elif key == "body":
            changes["body"] = parse_body(value)
        elif key in ("start", "end"):
            instant, zone = parse_local(value, key)
            changes[key] = instant
            changes[f"{key}_time_zone"] = windows_zone(zone)
        elif key == "location":
            changes["location"] = (
                str((value or {}).get("displayName") or "")
                if isinstance(value, dict | None)
                else ""
            )
        elif key == "attendees":
            changes |= _attendees(value)
        elif key == "recurrence":
            changes["recurrence"] = recurrence_json.from_json(value)
        elif key == "isAllDay":
            changes["is_all_day"] = bool(value)
        elif key == "showAs":
            changes["legacy_free_busy_status"] = _SHOW_AS.get(str(value).casefold(), "Busy")
        elif key in ("importance", "sensitivity"):
            changes[key] = str(value).capitalize()
        elif key == "categories":
            changes["categories"] = tuple(str(c) for c in value or ())
        elif key == "isReminderOn":
            changes["reminder_is_set"] = bool(value)
        elif key == "reminderMinutesBeforeStart":
            changes["reminder_minutes_before_start"] = int(value)
        elif key == "responseRequested":
            changes["is_response_requested"] = bool(value)
        elif key == "allowNewTimeProposals":
            changes["allow_new_time_proposal"] = bool(value)
        elif key == "isOnlineMeeting":
            changes["is_online_meeting"] = bool(value)
        else:
            raise bad_request(
                f"The property '{key}' does not exist on type 'microsoft.graph.event'. Make sure "
                "to only use property names that are defined by the type.",
                "RequestBodyRead",
            )
    return changes
