"""Graph JSON → our words, on recorded payloads (../shared/conformance/graph-samples/) and on
the shapes exchangesim renders; Graph's errors → the port's error tree."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vmrsched.adapters.graph import mapping
from vmrsched.adapters.graph.errors import retry_after, translate
from vmrsched.domain import recurrence as rec
from vmrsched.domain.meetings import MessageKind
from vmrsched.ports.mailbox import (
    CursorExpiredError,
    MailboxAccessError,
    MailboxAuthError,
    MailboxUnavailableError,
    MessageGoneError,
)

SAMPLES = Path(__file__).resolve().parents[3] / "../shared/conformance/graph-samples"
SEQUENCE = {"id": mapping.SEQUENCE_PROPERTY, "value": "3"}


def sample(name: str) -> Any:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"{name} is not in the conformance samples")
    return json.loads(path.read_text(encoding="utf-8"))["response"]


def request_json(**changes: Any) -> dict[str, Any]:
    """An eventMessageRequest as exchangesim renders it with MESSAGE_EXPAND, UTC times."""
    data: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.eventMessageRequest",
        "id": "AAMkAG-request=",
        "receivedDateTime": "2027-02-20T08:00:00Z",
        "subject": "Budget review",
        "body": {"contentType": "html", "content": "<p>Join</p><!-- vmrsched-marker: m:1 -->"},
        "sender": {"emailAddress": {"name": "Dan", "address": "dan@contoso.com"}},
        "from": {"emailAddress": {"name": "Alice", "address": "alice@contoso.com"}},
        "meetingMessageType": "meetingRequest",
        "meetingRequestType": "fullUpdate",
        "isOutOfDate": False,
        "type": "singleInstance",
        "recurrence": None,
        "startDateTime": {"dateTime": "2027-03-01T09:00:00.0000000", "timeZone": "UTC"},
        "endDateTime": {"dateTime": "2027-03-01T10:00:00.0000000", "timeZone": "UTC"},
        "singleValueExtendedProperties": [SEQUENCE],
        "event": {
            "id": "AAMkAG-event=",
            "uid": "040000008200E00074C5B7101A82E008000000001",
            "iCalUId": "040000008200E00074C5B7101A82E008000000001",
            "originalStartTimeZone": "W. Europe Standard Time",
            "organizer": {"emailAddress": {"name": "Alice", "address": "alice@contoso.com"}},
            "responseStatus": {"response": "notResponded", "time": "0001-01-01T00:00:00Z"},
        },
    }
    data.update(changes)
    return data


def test_a_recorded_request_with_its_event_is_a_new_meeting_of_its_organizer() -> None:
    """Graph's captured request ($expand event): NEW, UID from the event's iCalUId, organizer
    from the event, times from the event when the message has none, zone mapped to IANA."""
    body = sample("eventMessage-meetingRequest-expandEvent.json")["body"]
    message = mapping.meeting_message(body)
    assert message.kind is MessageKind.NEW
    assert message.uid == body["event"]["iCalUId"]
    assert message.organizer_email == "admin@contoso.onmicrosoft.com"
    assert message.time_zone == "America/Los_Angeles"
    assert message.start is not None
    assert message.start.tzinfo is not None
    assert message.sequence == 0


def test_a_request_without_an_event_cannot_name_its_meeting_and_is_other() -> None:
    """AutomateProcessing None: event null → OTHER, not a crash and not a guess."""
    body = copy.deepcopy(sample("eventMessage-meetingRequest-expandEvent.json")["body"])
    body["event"] = None
    assert mapping.meeting_message(body).kind is MessageKind.OTHER


def test_an_update_reads_its_sequence_times_sender_and_our_marker() -> None:
    """fullUpdate → UPDATE with PidLidAppointmentSequence, UTC times, the delegate as sender
    and vmrsched's marker from the body comment."""
    message = mapping.meeting_message(request_json())
    assert message.kind is MessageKind.UPDATE
    assert message.sequence == 3
    assert message.start == datetime(2027, 3, 1, 9, tzinfo=UTC)
    assert message.end == datetime(2027, 3, 1, 10, tzinfo=UTC)
    assert message.sender_email == "dan@contoso.com"
    assert message.time_zone == "Europe/Berlin"
    assert message.marker == "m:1"


def test_an_out_of_date_request_is_other() -> None:
    """A request a newer one has overtaken is not answered (as under EWS)."""
    assert mapping.meeting_message(request_json(isOutOfDate=True)).kind is MessageKind.OTHER


def test_a_cancellation_without_a_sequence_is_newer_than_anything() -> None:
    """meetingCancelled → CANCEL; no sequence read → the largest, never mistaken for stale."""
    data = request_json(
        **{"@odata.type": "#microsoft.graph.eventMessage"},
        meetingMessageType="meetingCancelled",
        singleValueExtendedProperties=[],
    )
    message = mapping.meeting_message(data)
    assert message.kind is MessageKind.CANCEL
    assert message.sequence == mapping.UNKNOWN_CANCEL_SEQUENCE


def test_an_exception_names_its_original_start_and_no_series() -> None:
    """type exception: the event's originalStart is the occurrence's original start."""
    data = request_json(type="exception")
    data["event"] = data["event"] | {"originalStart": "2027-03-15T09:00:00Z"}
    message = mapping.meeting_message(data)
    assert message.occurrence_original_start == datetime(2027, 3, 15, 9, tzinfo=UTC)
    assert message.recurrence is None
    assert mapping.meeting_message(request_json(type="exception")).kind is MessageKind.OTHER


def test_a_series_request_carries_its_pattern() -> None:
    """A seriesMaster's patternedRecurrence → weekly pattern and numbered range."""
    recurrence = {
        "pattern": {
            "type": "weekly",
            "interval": 1,
            "daysOfWeek": ["monday"],
            "firstDayOfWeek": "sunday",
            "index": "first",
            "month": 0,
            "dayOfMonth": 0,
        },
        "range": {
            "type": "numbered",
            "startDate": "2027-03-01",
            "endDate": "0001-01-01",
            "numberOfOccurrences": 5,
            "recurrenceTimeZone": "UTC",
        },
    }
    message = mapping.meeting_message(request_json(type="seriesMaster", recurrence=recurrence))
    assert message.recurrence is not None
    assert message.recurrence.pattern == rec.WeeklyPattern(
        frozenset({rec.Weekday.MONDAY}), 1, rec.Weekday.SUNDAY
    )
    assert message.recurrence.range == rec.NumberedRange(date(2027, 3, 1), 5)


def test_an_answer_counts_only_after_the_request_arrived() -> None:
    """responseStatus: 'never' or an answer before this request arrived is not its answer."""
    received = datetime(2027, 2, 20, 8, tzinfo=UTC)
    event = request_json()["event"]
    assert not mapping.answered_since(event, received)
    before = event | {"responseStatus": {"response": "accepted", "time": "2027-02-19T08:00:00Z"}}
    assert not mapping.answered_since(before, received)
    after = event | {
        "responseStatus": {"response": "accepted", "time": "2027-02-20T08:00:01.1234567Z"}
    }
    assert mapping.answered_since(after, received)


def test_the_reply_comment_is_the_replys_text() -> None:
    """Graph's comment is text: the reply's HTML is turned into its words."""
    assert mapping.comment("<p>Accepted: your VMR is <b>81123456</b></p>") == (
        "Accepted: your VMR is 81123456"
    )


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (401, "InvalidAuthenticationToken", MailboxAuthError),
        (403, "ErrorAccessDenied", MailboxAccessError),
        (404, "ErrorItemNotFound", MessageGoneError),
        (410, "syncStateNotFound", CursorExpiredError),
        (503, "ServiceNotAvailable", MailboxUnavailableError),
    ],
)
def test_graph_errors_land_in_the_port_tree(status: int, code: str, error: type) -> None:
    """Each status becomes the port error the service acts on, keeping Graph's code."""
    body = {"error": {"code": code, "message": "m", "innerError": {"request-id": "r-1"}}}
    raised = translate(status, body, {}, "reading")
    assert isinstance(raised, error)
    assert code in str(raised)
    assert "r-1" in str(raised)


def test_a_recorded_429_is_retryable_after_its_retry_after() -> None:
    """Graph's captured 429 (Retry-After with a fraction) → retryable with retry_after."""
    response = sample("error-429-TooManyRequests.json")
    raised = translate(429, response["body"], response["headers"], "reading")
    assert isinstance(raised, MailboxUnavailableError)
    assert raised.retryable
    assert raised.retry_after == timedelta(seconds=2.128)
    assert retry_after(
        {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"},
        datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC),
    ) == timedelta(seconds=30)


def test_a_uid_from_another_system_reads_as_ews_gives_it_and_back() -> None:
    """A vCal-Uid GlobalObjectId (a meeting from outside Exchange) reads as the UID it wraps,
    as EWS's calendar:UID does, so meeting keys survive a move from EWS to Graph; Exchange's
    own UIDs stay their hex; goid_hex turns either back into Graph's iCalUId."""
    own = "040000008200E00074C5B7101A82E00800000000A2A6F3535D7FD3010000000000000000100000003D770E2E8974F44B9471BDB348097FE3"
    assert mapping.ical_uid(own) == own
    assert mapping.goid_hex(own) == own
    wrapped = mapping.goid_hex("meeting-42@fabrikam.example")
    assert wrapped.startswith("040000008200E00074C5B7101A82E008")
    assert mapping.ical_uid(wrapped) == "meeting-42@fabrikam.example"
