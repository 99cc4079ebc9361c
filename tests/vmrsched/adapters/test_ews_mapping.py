"""EWS items → `MeetingMessage`, tested on GetItem payloads in Exchange 2016's shape and on the
recorded samples of ../shared/conformance/ews-samples."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest
from ews_payloads import (
    CONFORMANCE,
    SCHEMA,
    Meeting,
    cancellation,
    get_item_response,
    item_elements,
    parse,
    schema_problems,
)
from exchangelib.items import CalendarItem, MeetingRequest
from exchangelib.properties import Body, HTMLBody
from exchangelib.util import xml_to_str
from exchangelib.version import Build, Version
from lxml import etree

from vmrsched.adapters.ews import mapping, models
from vmrsched.domain import recurrence as rec
from vmrsched.domain.meetings import MessageKind
from vmrsched.ports.mailbox import ReplyKind

if TYPE_CHECKING:
    from vmrsched.domain.meetings import MeetingMessage

MARKER = "vmrsched:0123456789abcdef0123456789abcdef:4"
WEEKLY = (
    "<t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday Wednesday</t:DaysOfWeek>"
    "<t:FirstDayOfWeek>Sunday</t:FirstDayOfWeek></t:WeeklyRecurrence>"
    "<t:NumberedRecurrence><t:StartDate>2026-11-23+01:00</t:StartDate>"
    "<t:NumberOfOccurrences>10</t:NumberOfOccurrences></t:NumberedRecurrence>"
)


def one(meeting: Meeting) -> MeetingMessage:
    envelope = get_item_response(meeting)
    assert schema_problems(envelope) == []
    (item,) = parse(envelope)
    return mapping.meeting_message(item)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_new_single_request_maps_every_field() -> None:
    """A NewMeetingRequest gives NEW with UID, sequence, organizer, UTC times and IANA zone."""
    message = one(Meeting(body_text="Agenda"))
    assert message.kind is MessageKind.NEW
    assert message.message_id == "AAMkAGI1AAA="
    assert message.uid == "040000008200E00074C5B7101A82E00800000000A1B2C3D4"
    assert message.sequence == 0
    assert (message.organizer_email, message.organizer_name) == (
        "alice@contoso.com",
        "Alice Wilber",
    )
    assert message.sender_email == "alice@contoso.com"
    assert message.start == datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert message.end == datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert message.time_zone == "Europe/Berlin"
    assert message.received == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert message.body_html == "<html><body><p>Agenda</p></body></html>"
    assert message.body_text == "Agenda"
    assert message.recurrence is None
    assert message.occurrence_original_start is None
    assert message.marker is None


@pytest.mark.parametrize(
    ("request_type", "sequence", "kind"),
    [
        ("NewMeetingRequest", 0, MessageKind.NEW),
        ("FullUpdate", 1, MessageKind.UPDATE),
        ("InformationalUpdate", 2, MessageKind.UPDATE),
        ("SilentUpdate", 3, MessageKind.UPDATE),
        ("Outdated", 1, MessageKind.OTHER),
        ("PrincipalWantsCopy", 0, MessageKind.OTHER),
        ("None", 0, MessageKind.NEW),
        ("None", 3, MessageKind.UPDATE),
    ],
)
def test_the_kind_follows_meeting_request_type(
    request_type: str, sequence: int, kind: MessageKind
) -> None:
    """New, full and informational updates, outdated copies: each gets its kind."""
    message = one(Meeting(request_type=request_type, sequence=sequence))
    assert message.kind is kind


def test_an_out_of_date_request_is_not_acted_on() -> None:
    """IsOutOfDate (a newer request arrived) makes the request OTHER, whatever its type."""
    assert one(Meeting(request_type="FullUpdate", is_out_of_date=True)).kind is MessageKind.OTHER


def test_an_occurrence_request_names_the_occurrence_and_no_series() -> None:
    """A request about one occurrence carries its RecurrenceId as the original start."""
    message = one(
        Meeting(
            request_type="FullUpdate",
            sequence=2,
            recurrence_id="2026-11-30T08:00:00Z",
            start="2026-11-30T10:00:00Z",
            end="2026-11-30T11:00:00Z",
            calendar_item_type="Exception",
        )
    )
    assert message.occurrence_original_start == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert message.recurrence is None
    assert message.is_occurrence


def test_a_weekly_series_maps_pattern_range_and_exceptions() -> None:
    """Weekly days, first day of week, numbered range, modified and deleted occurrences."""
    message = one(
        Meeting(
            recurrence=WEEKLY,
            modified=[("2026-11-25T08:00:00Z", "2026-11-25T13:00:00Z", "2026-11-25T14:00:00Z")],
            deleted=["2026-12-02T08:00:00Z"],
        )
    )
    series = message.recurrence
    assert series is not None
    assert series.pattern == rec.WeeklyPattern(
        frozenset({rec.Weekday.MONDAY, rec.Weekday.WEDNESDAY}), 1, rec.Weekday.SUNDAY
    )
    assert series.range == rec.NumberedRange(date(2026, 11, 23), 10)
    assert series.modified == (
        rec.ModifiedOccurrence(
            at("2026-11-25T08:00:00Z"), at("2026-11-25T13:00:00Z"), at("2026-11-25T14:00:00Z")
        ),
    )
    assert series.deleted == (at("2026-12-02T08:00:00Z"),)


@pytest.mark.parametrize(
    ("xml", "pattern", "span"),
    [
        (
            (
                "<t:DailyRecurrence><t:Interval>3</t:Interval></t:DailyRecurrence>"
                "<t:NoEndRecurrence><t:StartDate>2026-11-23Z</t:StartDate></t:NoEndRecurrence>"
            ),
            rec.DailyPattern(3),
            rec.NoEndRange(date(2026, 11, 23)),
        ),
        (
            (
                "<t:AbsoluteMonthlyRecurrence><t:Interval>1</t:Interval><t:DayOfMonth>31</t:DayOfMonth>"
                "</t:AbsoluteMonthlyRecurrence><t:EndDateRecurrence><t:StartDate>2026-11-23Z"
                "</t:StartDate><t:EndDate>2027-06-30Z</t:EndDate></t:EndDateRecurrence>"
            ),
            rec.AbsoluteMonthlyPattern(31, 1),
            rec.EndDateRange(date(2026, 11, 23), date(2027, 6, 30)),
        ),
        (
            (
                "<t:RelativeMonthlyRecurrence><t:Interval>2</t:Interval><t:DaysOfWeek>Weekday"
                "</t:DaysOfWeek><t:DayOfWeekIndex>Last</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence>"
                "<t:NumberedRecurrence><t:StartDate>2026-11-23Z</t:StartDate>"
                "<t:NumberOfOccurrences>6</t:NumberOfOccurrences></t:NumberedRecurrence>"
            ),
            rec.RelativeMonthlyPattern(rec.WEEKDAYS, rec.WeekIndex.LAST, 2),
            rec.NumberedRange(date(2026, 11, 23), 6),
        ),
        (
            (
                "<t:AbsoluteYearlyRecurrence><t:DayOfMonth>29</t:DayOfMonth><t:Month>February"
                "</t:Month></t:AbsoluteYearlyRecurrence>"
                "<t:NoEndRecurrence><t:StartDate>2027-02-28Z</t:StartDate></t:NoEndRecurrence>"
            ),
            rec.AbsoluteYearlyPattern(2, 29),
            rec.NoEndRange(date(2027, 2, 28)),
        ),
        (
            (
                "<t:RelativeYearlyRecurrence><t:DaysOfWeek>Thursday</t:DaysOfWeek>"
                "<t:DayOfWeekIndex>Fourth</t:DayOfWeekIndex><t:Month>November</t:Month>"
                "</t:RelativeYearlyRecurrence>"
                "<t:NoEndRecurrence><t:StartDate>2026-11-26Z</t:StartDate></t:NoEndRecurrence>"
            ),
            rec.RelativeYearlyPattern(11, frozenset({rec.Weekday.THURSDAY}), rec.WeekIndex.FOURTH),
            rec.NoEndRange(date(2026, 11, 26)),
        ),
        (
            (
                "<t:RelativeMonthlyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>WeekendDay"
                "</t:DaysOfWeek><t:DayOfWeekIndex>First</t:DayOfWeekIndex>"
                "</t:RelativeMonthlyRecurrence>"
                "<t:NoEndRecurrence><t:StartDate>2026-11-23Z</t:StartDate></t:NoEndRecurrence>"
            ),
            rec.RelativeMonthlyPattern(rec.WEEKEND_DAYS, rec.WeekIndex.FIRST, 1),
            rec.NoEndRange(date(2026, 11, 23)),
        ),
    ],
)
def test_every_ews_pattern_and_range_maps_to_ours(
    xml: str, pattern: rec.Pattern, span: rec.Range
) -> None:
    """Daily, absolute/relative monthly and yearly; no-end, end-date and numbered ranges."""
    series = one(Meeting(recurrence=xml)).recurrence
    assert series is not None
    assert (series.pattern, series.range) == (pattern, span)


def test_a_cancellation_is_from_its_organizer_with_the_mapi_sequence() -> None:
    """A cancellation's organizer is its From; its sequence is PidLidAppointmentSequence."""
    message = one(cancellation(extended={"sequence": "3"}))
    assert message.kind is MessageKind.CANCEL
    assert message.organizer_email == "alice@contoso.com"
    assert message.sequence == 3


def test_a_cancellation_without_a_readable_sequence_is_never_stale() -> None:
    """No sequence on a cancellation: it counts as newer than any request seen."""
    assert one(cancellation()).sequence == mapping.UNKNOWN_CANCEL_SEQUENCE


def test_an_occurrence_cancellation_names_the_occurrence() -> None:
    """A cancellation with a RecurrenceId is about that occurrence only."""
    message = one(cancellation(recurrence_id="2026-11-30T08:00:00Z", extended={"sequence": "1"}))
    assert message.occurrence_original_start == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert message.sequence == 1


def test_an_occurrence_cancellation_without_a_sequence_does_not_inflate_it() -> None:
    """No sequence on an occurrence's cancellation: 0, so later series updates stay fresh."""
    assert one(cancellation(recurrence_id="2026-11-30T08:00:00Z")).sequence == 0


def test_a_forwarded_request_keeps_the_organizer_and_names_the_forwarder() -> None:
    """Forwarded by an attendee: Organizer and From stay the organizer, Sender is the forwarder."""
    message = one(Meeting(sender=("carol@contoso.com", "Carol Ortiz")))
    assert message.organizer_email == "alice@contoso.com"
    assert message.sender_email == "carol@contoso.com"


@pytest.mark.parametrize(
    "meeting",
    [
        Meeting(extended={"marker": MARKER}),
        Meeting(body_html=mapping.with_marker("<p>Join</p>", MARKER)),
        Meeting(body_html=None, body_text=f"Join\n{MARKER}"),
    ],
    ids=["extended-property", "html-comment", "plain-text"],
)
def test_our_write_marker_is_read_from_property_or_body(meeting: Meeting) -> None:
    """The marker is found as our extended property, as an HTML comment, or in plain text."""
    assert one(meeting).marker == MARKER


def test_with_marker_replaces_an_earlier_marker() -> None:
    """Writing twice leaves one marker comment, the newest."""
    html = mapping.with_marker(mapping.with_marker("<p>x</p>", "vmrsched:old:1"), MARKER)
    assert html.count("vmrsched-marker") == 1
    assert MARKER in html


@pytest.mark.parametrize(
    "zone", ["(UTC+01:00) Amsterdam, Berlin, Bern, Rome", "Mars Standard Time"]
)
def test_an_unmapped_time_zone_falls_back_to_utc(zone: str) -> None:
    """Display-name or unknown Windows zones give UTC rather than failing the message."""
    assert one(Meeting(time_zone_id=zone)).time_zone == "UTC"


def test_a_text_body_is_text_only() -> None:
    """A plain-text body fills body_text and leaves body_html empty."""
    message = one(Meeting(body_html=None, body_text="VMRS:-abc#"))
    assert (message.body_html, message.body_text) == ("", "VMRS:-abc#")


def test_an_html_body_without_text_body_gets_readable_text() -> None:
    """Without TextBody, the text is derived from the HTML."""
    assert one(Meeting(body_html="<p>Join <b>here</b></p>")).body_text == "Join here"


@pytest.mark.parametrize(
    "meeting",
    [Meeting(uid=None), Meeting(organizer=None, author=None, sender=None), Meeting(start=None)],
    ids=["no-uid", "no-organizer", "no-start"],
)
def test_a_request_that_cannot_name_its_meeting_is_other(meeting: Meeting) -> None:
    """Without UID, organizer or times, a request cannot be keyed: recorded as OTHER."""
    message = one(meeting)
    assert message.kind is MessageKind.OTHER
    assert "incomplete" in message.subject


def test_mail_and_responses_are_other() -> None:
    """Ordinary mail and meeting responses are OTHER, keeping their item class."""
    mail = one(Meeting(element="Message", item_class="IPM.Note"))
    response = one(
        cancellation(element="MeetingResponse", item_class="IPM.Schedule.Meeting.Resp.Pos")
    )
    assert (mail.kind, response.kind) == (MessageKind.OTHER, MessageKind.OTHER)
    assert response.subject == "IPM.Schedule.Meeting.Resp.Pos"


def test_the_recorded_samples_parse_without_errors() -> None:
    """Every meeting message in the conformance samples maps to some MeetingMessage."""
    samples = CONFORMANCE / "ews-samples"
    if not samples.is_dir():
        pytest.skip(f"conformance samples absent: {samples}")
    seen = 0
    for path in sorted(samples.glob("*.response.xml")):
        root = etree.parse(str(path)).getroot()
        for elem in root.iter():
            if isinstance(elem.tag, str) and elem.tag in models.ITEM_MODELS:
                mapping.meeting_message(models.item_from_xml(elem))
                seen += 1
    assert seen >= 2


def test_the_recorded_getitem_sample_without_uid_is_other() -> None:
    """GetItem-MeetingRequest.response.xml (no UID, no organizer) is kept as OTHER."""
    path = CONFORMANCE / "ews-samples" / "GetItem-MeetingRequest.response.xml"
    if not path.is_file():
        pytest.skip(f"sample absent: {path}")
    (elem,) = item_elements(path.read_bytes())
    message = mapping.meeting_message(models.item_from_xml(elem))
    assert message.kind is MessageKind.OTHER
    assert message.message_id == "AAMkADEzOTExYjJkL1AAA="


@pytest.mark.parametrize("kind", list(ReplyKind))
def test_a_response_carries_the_key_digest_and_validates(kind: ReplyKind) -> None:
    """Accept/tentative/decline carry the key's digest in a body comment and are schema-valid."""
    key = "reply:vmr@contoso.com/AAMk--AAA="
    item = mapping.response_item(kind, "AAMkAGI1AAA=", "<p>Booked</p>", key, account=None)
    xml = xml_to_str(item.to_xml(version=Version(build=Build(15, 20))))
    digest = mapping.key_digest(key)
    assert xml.count(digest) == 1
    assert "--AAA" not in xml
    assert mapping.key_in_body(str(item.body)) == digest
    if SCHEMA.is_file():
        request = (
            '<m:CreateItem xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
            'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" '
            f'MessageDisposition="SendAndSaveCopy"><m:Items>{xml}</m:Items></m:CreateItem>'
        )
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        schema = etree.XMLSchema(etree.parse(str(SCHEMA), parser))
        assert schema.validate(etree.fromstring(request)), schema.error_log


def test_our_item_classes_leave_exchangelibs_untouched() -> None:
    """Adding fields to our subclasses does not change exchangelib's classes for other users."""
    assert "uid" not in [f.name for f in MeetingRequest.FIELDS]
    assert "write_marker" not in [f.name for f in CalendarItem.FIELDS]
    assert "uid" in [f.name for f in models.MeetingRequestItem.FIELDS]


def test_instructions_replace_the_placeholder_block_and_nothing_else() -> None:
    """The placeholder's whole block gives way to the instructions; the rest stays as written."""
    token = "VMRP:-ABCDEFGH12345678#"
    html = (
        f'<html><body><p>Agenda</p><div class="vmrsched-placeholder"><p>Soon</p><p>{token}</p>'
        "</div><p>Bye</p></body></html>"
    )
    written = mapping.with_instructions(html, "<div>Join</div>", MARKER, replace_placeholder=True)
    assert written == (
        "<html><body><p>Agenda</p><div>Join</div><p>Bye</p>"
        f"<!-- vmrsched-marker: {MARKER} -->\n</body></html>"
    )


def test_instructions_written_again_replace_what_is_left_of_the_old_ones() -> None:
    """Healing an edited block: the marked instructions are replaced, not added a second time."""
    html = '<p>Hi</p><div class="vmrsched-instructions"><p>Join (token cut)</p></div>'
    new = '<div class="vmrsched-instructions">NEW</div>'
    written = mapping.with_instructions(html, new, MARKER, replace_placeholder=False)
    assert written.count("vmrsched-instructions") == 1
    assert written.startswith(f"<p>Hi</p>{new}")


def test_without_placeholder_or_old_instructions_they_go_at_the_end_of_the_body() -> None:
    """The allocate flow: the instructions follow the organizer's text, inside <body>."""
    written = mapping.with_instructions(
        "<html><body><p>Hi</p></body></html>", "<div>J</div>", MARKER, replace_placeholder=False
    )
    assert written.startswith("<html><body><p>Hi</p><div>J</div>")
    assert written.endswith("</body></html>")


def test_a_plain_text_body_becomes_escaped_html_with_its_lines() -> None:
    """A text-only organizer body keeps its lines and its <, & when instructions are added."""
    assert mapping.body_as_html(Body("Agenda: A & B\n<draft>")) == (
        "<html><body>Agenda: A &amp; B<br>&lt;draft&gt;</body></html>"
    )
    assert mapping.body_as_html(HTMLBody("<p>x</p>")) == "<p>x</p>"
    assert mapping.body_as_html(None) == ""
