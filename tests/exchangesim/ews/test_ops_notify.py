"""EWS notifications: Subscribe, GetEvents, GetStreamingEvents, Unsubscribe and push delivery,
over raw SOAP and through exchangelib, unmodified.

Waits are real HTTP only: streaming lifetimes run on `registry.time_scale` (Exchange's minutes
shrunk), expiry on an injected clock, and "the stream is open" is learnt from the response
listener, not from sleeping.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import exchangelib.errors
import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import TestServer
from exchangelib.services import SendNotification
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from harness import (
    ALICE,
    LEGACY_APP,
    VMR,
    VMRSCHED_APP,
    EwsClient,
    EwsReply,
    SimServer,
    envelope,
    load_schema,
    make_sim,
    schema_available,
    start_sim_server,
)
from lxml import etree

from exchangesim.ews.event_stream import encode_watermark
from exchangesim.ews.subscriptions import registry_for
from exchangesim.ews.xml import M_NS, SOAP_NS, T_NS
from exchangesim.store import Address, Attendee, CalendarItem, Message, send_meeting, send_message
from exchangesim.store.ids import IdFactory

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from exchangelib_client import AccountFactory

    from exchangesim.sim import ResponseRecord

BOB = "bob@contoso.com"
CAROL = "carol@contoso.com"
ALL_EVENTS = (
    "NewMailEvent",
    "CreatedEvent",
    "DeletedEvent",
    "ModifiedEvent",
    "MovedEvent",
    "CopiedEvent",
    "FreeBusyChangedEvent",
)
INBOX = '<t:DistinguishedFolderId Id="inbox"/>'
#: Exchange's minutes shrunk so that a 1-minute connection lasts 0.6 s (keep-alive: 0.45 s).
FAST = 0.01


# --- helpers ------------------------------------------------------------------------------------


def subscription_request(
    kind: str = "Pull",
    *,
    folders: str | None = INBOX,
    events: tuple[str, ...] = ALL_EVENTS,
    all_folders: bool = False,
    watermark: str | None = None,
    timeout: int = 10,
    url: str = "https://listener.example/ews",
    frequency: int = 1,
) -> str:
    """A Subscribe body."""
    attrs = ' SubscribeToAllFolders="true"' if all_folders else ""
    inner = f"<t:FolderIds>{folders}</t:FolderIds>" if folders is not None else ""
    inner += "<t:EventTypes>" + "".join(f"<t:EventType>{e}</t:EventType>" for e in events)
    inner += "</t:EventTypes>"
    if watermark is not None and kind != "Streaming":
        inner += f"<t:Watermark>{watermark}</t:Watermark>"
    if kind == "Pull":
        inner += f"<t:Timeout>{timeout}</t:Timeout>"
    if kind == "Push":
        inner += f"<t:StatusFrequency>{frequency}</t:StatusFrequency><t:URL>{url}</t:URL>"
    tag = f"m:{kind}SubscriptionRequest"
    return f"<m:Subscribe><{tag}{attrs}>{inner}</{tag}></m:Subscribe>"


def get_events_body(sub_id: str, watermark: str) -> str:
    return (
        f"<m:GetEvents><m:SubscriptionId>{sub_id}</m:SubscriptionId>"
        f"<m:Watermark>{watermark}</m:Watermark></m:GetEvents>"
    )


def streaming_body(*sub_ids: str, minutes: int = 1) -> str:
    ids = "".join(f"<t:SubscriptionId>{s}</t:SubscriptionId>" for s in sub_ids)
    return (
        f"<m:GetStreamingEvents><m:SubscriptionIds>{ids}</m:SubscriptionIds>"
        f"<m:ConnectionTimeout>{minutes}</m:ConnectionTimeout></m:GetStreamingEvents>"
    )


def unsubscribe_body(sub_id: str) -> str:
    return f"<m:Unsubscribe><m:SubscriptionId>{sub_id}</m:SubscriptionId></m:Unsubscribe>"


def text_of(reply: EwsReply | etree._Element, ns: str, tag: str) -> str:
    root = reply.root if isinstance(reply, EwsReply) else reply
    found = root.find(f".//{{{ns}}}{tag}")
    assert found is not None, tag
    return found.text or ""


async def subscribe(ews: EwsClient, body: str, **kwargs: Any) -> tuple[str, str]:
    """(subscription id, watermark) of a successful Subscribe ("" when it has none)."""
    reply = await ews.call(body, **kwargs)
    assert reply.response_codes() == ["NoError"], reply.body[:600]
    watermark = reply.root.find(f".//{{{M_NS}}}Watermark")
    return text_of(reply, M_NS, "SubscriptionId"), "" if watermark is None else watermark.text or ""


@dataclass
class Events:
    """The events of one Notification, as (event name, element) pairs, and its header fields."""

    notification: etree._Element
    items: list[tuple[str, etree._Element]] = field(default_factory=list)

    @classmethod
    def of(cls, notification: etree._Element) -> Events:
        items = [
            (etree.QName(el).localname, el)
            for el in notification
            if etree.QName(el).localname.endswith("Event")
        ]
        return cls(notification, items)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.items]

    def header(self, tag: str) -> str | None:
        found = self.notification.find(f"{{{T_NS}}}{tag}")
        return None if found is None else found.text

    def last_watermark(self) -> str:
        return self.items[-1][1].findtext(f"{{{T_NS}}}Watermark") or ""


async def get_events(ews: EwsClient, sub_id: str, watermark: str, **kwargs: Any) -> Events:
    reply = await ews.call(get_events_body(sub_id, watermark), **kwargs)
    assert reply.response_codes() == ["NoError"], reply.body[:600]
    notification = reply.root.find(f".//{{{M_NS}}}Notification")
    assert notification is not None
    return Events.of(notification)


def deliver_mail(server: SimServer, to: str = ALICE, sender: str = BOB, subject: str = "Hi") -> str:
    """Mail from `sender` lands in `to`'s inbox (the store's transport); the inbox copy's id."""
    sent = send_message(
        server.sim.store, sender, Message(subject=subject, to_recipients=(Address(to, to),))
    )
    (delivered,) = (
        item
        for item in server.sim.store.items(to, "inbox")
        if isinstance(item, Message) and item.internet_message_id == sent.internet_message_id
    )
    return delivered.id


def send_invitation(server: SimServer, organizer: str = BOB, attendee: str = ALICE) -> CalendarItem:
    """A meeting request from `organizer` to `attendee` (the store's meeting semantics)."""
    start = datetime(2026, 12, 1, 13, tzinfo=UTC)
    item = CalendarItem(
        subject="Design review",
        start=start,
        end=start + timedelta(hours=1),
        required_attendees=(Attendee(Address(attendee, attendee)),),
    )
    return send_meeting(server.sim.store, organizer, item)


@pytest.fixture(autouse=True)
def forget_subscriptions(shared_server: SimServer) -> None:
    """Each test starts without subscriptions on the shared server (20 per mailbox at most)."""
    registry = registry_for(shared_server.sim)
    for sub in registry.subscriptions():
        registry.remove(sub)


@dataclass
class ManualClock:
    """The simulator's clock, moved by hand (expiry is read from it)."""

    current: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


@pytest.fixture
def clocked_server(cert_dir: Path) -> Iterator[tuple[SimServer, ManualClock]]:
    """A server whose clock the test moves."""
    clock = ManualClock()
    server = start_sim_server(make_sim(clock=clock), cert_dir=cert_dir)
    yield server, clock
    server.stop()


@pytest.fixture
def fast_server(cert_dir: Path) -> Iterator[SimServer]:
    """A server of its own whose streaming minutes last 0.6 s."""
    server = start_sim_server(make_sim(), cert_dir=cert_dir)
    registry_for(server.sim).time_scale = FAST
    yield server
    server.stop()


class Stream:
    """A GetStreamingEvents answer read envelope by envelope as the chunks arrive."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self._buffer = b""

    async def next(self) -> etree._Element | None:
        """The next complete envelope, or None at the end of the answer."""
        end = b"</s:Envelope>"
        while end not in self._buffer:
            chunk = await self.response.content.readany()
            if not chunk:
                return None
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(end)
        return etree.fromstring(head + end)

    async def rest(self) -> list[etree._Element]:
        found = []
        while (envelope_el := await self.next()) is not None:
            found.append(envelope_el)
        return found


@pytest.fixture
async def open_stream() -> AsyncIterator[Any]:
    """Open GetStreamingEvents connections (`await open_stream(server, *ids)`); closes them."""
    sessions: list[aiohttp.ClientSession] = []
    responses: list[aiohttp.ClientResponse] = []

    async def opener(
        server: SimServer, *sub_ids: str, minutes: int = 1, impersonate: str = ALICE
    ) -> Stream:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=server.ssl_context()))
        sessions.append(session)
        response = await session.post(
            server.ews_url,
            data=envelope(streaming_body(*sub_ids, minutes=minutes), impersonate=impersonate),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "Authorization": f"Bearer {server.app_token()}",
            },
        )
        responses.append(response)
        assert response.status == 200
        return Stream(response)

    yield opener
    for response in responses:
        if response.connection is not None and response.connection.transport is not None:
            response.connection.transport.abort()  # streams still open: no TLS goodbye
        response.close()
    for session in sessions:
        await session.close()
    await asyncio.sleep(0)  # let the aborted transports release their sockets


def status_of(envelope_el: etree._Element) -> str | None:
    found = envelope_el.find(f".//{{{M_NS}}}ConnectionStatus")
    return None if found is None else found.text


def notifications_of(envelope_el: etree._Element) -> list[Events]:
    return [Events.of(n) for n in envelope_el.iter(f"{{{T_NS}}}Notification")]


def assert_valid(envelope_el: etree._Element) -> None:
    """The envelope's body validates against the EWS schema."""
    if not schema_available():
        return
    body = envelope_el.find(f"{{{SOAP_NS}}}Body")
    assert body is not None
    schema = load_schema()
    assert schema.validate(body[0]), schema.error_log


# --- Subscribe ----------------------------------------------------------------------------------


async def test_a_pull_subscription_answers_an_id_and_an_exchange_shaped_watermark(ews: EwsClient):
    """Pull Subscribe: NoError, a SubscriptionId and a 29-byte watermark like Exchange Online's."""
    sub_id, watermark = await subscribe(ews, subscription_request())
    raw = base64.b64decode(watermark)
    assert len(raw) == 29
    assert raw.startswith(b"\x01\x00\x00\x00")
    assert sub_id


async def test_a_streaming_subscription_answers_only_an_id(ews: EwsClient):
    """Streaming Subscribe answers like Subscribe-Streaming.response.xml: no watermark."""
    reply = await ews.call(subscription_request("Streaming"))
    message = reply.root.find(f".//{{{M_NS}}}SubscribeResponseMessage")
    assert message is not None
    assert [etree.QName(el).localname for el in message] == ["ResponseCode", "SubscriptionId"]


async def test_subscribing_to_another_mailboxs_folder_is_delegate_access_not_supported(
    ews: EwsClient,
):
    """A folder of another mailbox: ErrorSubscriptionDelegateAccessNotSupported (sample text)."""
    folder = (
        '<t:DistinguishedFolderId Id="inbox"><t:Mailbox>'
        f"<t:EmailAddress>{BOB}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>"
    )
    reply = await ews.call(subscription_request(folders=folder))
    assert reply.response_codes() == ["ErrorSubscriptionDelegateAccessNotSupported"]
    assert text_of(reply, M_NS, "MessageText") == (
        "Subscriptions are not supported for delegate user access."
    )


async def test_folders_of_other_mailboxes_and_unknown_folders_are_refused(
    ews: EwsClient, sim_server: SimServer
):
    """A FolderId of Bob's asked for as Alice: delegate access; unknown or malformed ids:
    ErrorFolderNotFound / ErrorInvalidIdMalformed."""
    bobs = sim_server.sim.store.folder(BOB, "inbox").id
    reply = await ews.call(subscription_request(folders=f'<t:FolderId Id="{bobs}"/>'))
    assert reply.response_codes() == ["ErrorSubscriptionDelegateAccessNotSupported"]
    nowhere = IdFactory.fresh().folder_id()
    reply = await ews.call(subscription_request(folders=f'<t:FolderId Id="{nowhere}"/>'))
    assert reply.response_codes() == ["ErrorFolderNotFound"]
    reply = await ews.call(subscription_request(folders='<t:FolderId Id="AAMkRgAAAA=="/>'))
    assert reply.response_codes() == ["ErrorInvalidIdMalformed"]


@pytest.mark.parametrize("url", ["ftp://listener.example/ews", "listener", "https://"])
async def test_a_push_url_must_be_http_or_https(ews: EwsClient, url: str):
    """Push Subscribe with a URL Exchange would refuse: ErrorInvalidPushSubscriptionUrl."""
    reply = await ews.call(subscription_request("Push", url=url))
    assert reply.response_codes() == ["ErrorInvalidPushSubscriptionUrl"]


async def test_twenty_subscriptions_per_mailbox_then_exceeded_subscription_count(
    fresh_server: SimServer,
):
    """Exchange Online's limit: the 21st subscription of a mailbox is refused, any app."""
    async with EwsClient(fresh_server) as ews:
        ids = [(await subscribe(ews, subscription_request()))[0] for _ in range(20)]
        refused = await ews.call(subscription_request("Streaming"))
        assert refused.response_codes() == ["ErrorExceededSubscriptionCount"]
        other_app = fresh_server.app_token(VMRSCHED_APP)
        refused = await ews.call(subscription_request(), token=other_app)
        assert refused.response_codes() == ["ErrorExceededSubscriptionCount"]
        await subscribe(ews, subscription_request(), impersonate=VMR)
        await ews.call(unsubscribe_body(ids[0]))
        await subscribe(ews, subscription_request())


# --- GetEvents ----------------------------------------------------------------------------------


async def test_new_mail_is_created_new_mail_and_a_modified_folder(
    ews: EwsClient, sim_server: SimServer
):
    """Delivered mail: CreatedEvent, NewMailEvent, then the Inbox's ModifiedEvent with its
    UnreadCount, as in Exchange's sample; ids carry the store's change keys."""
    sub_id, watermark = await subscribe(ews, subscription_request())
    item_id = deliver_mail(sim_server)
    events = await get_events(ews, sub_id, watermark)
    assert events.names == ["CreatedEvent", "NewMailEvent", "ModifiedEvent"]
    assert events.header("PreviousWatermark") == watermark
    assert events.header("MoreEvents") == "false"
    created = events.items[0][1]
    item_el = created.find(f"{{{T_NS}}}ItemId")
    assert item_el is not None
    assert item_el.get("Id") == item_id
    assert item_el.get("ChangeKey") == sim_server.sim.store.get_item(item_id).change_key
    inbox = sim_server.sim.store.folder(ALICE, "inbox")
    parent = created.find(f"{{{T_NS}}}ParentFolderId")
    assert parent is not None
    assert parent.get("Id") == inbox.id
    folder_event = events.items[2][1]
    folder_el = folder_event.find(f"{{{T_NS}}}FolderId")
    assert folder_el is not None
    assert folder_el.get("Id") == inbox.id
    assert folder_event.findtext(f"{{{T_NS}}}UnreadCount") == str(inbox.unread_count)
    watermarks = [el.findtext(f"{{{T_NS}}}Watermark") for _, el in events.items]
    assert len(set(watermarks)) == 3


async def test_no_news_is_a_status_event(ews: EwsClient):
    """GetEvents with nothing new answers one StatusEvent with a watermark to go on from."""
    sub_id, watermark = await subscribe(ews, subscription_request())
    events = await get_events(ews, sub_id, watermark)
    assert events.names == ["StatusEvent"]
    following = events.last_watermark()
    assert (await get_events(ews, sub_id, following)).names == ["StatusEvent"]


async def test_fifty_events_per_answer_then_more_events(ews: EwsClient, sim_server: SimServer):
    """At most 50 events per GetEvents with MoreEvents true; the next call brings the rest."""
    sub_id, watermark = await subscribe(ews, subscription_request(events=("NewMailEvent",)))
    for n in range(60):
        deliver_mail(sim_server, subject=f"mail {n}")
    first = await get_events(ews, sub_id, watermark)
    assert len(first.items) == 50
    assert first.header("MoreEvents") == "true"
    second = await get_events(ews, sub_id, first.last_watermark())
    assert len(second.items) == 10
    assert second.header("MoreEvents") == "false"
    assert second.header("PreviousWatermark") == first.last_watermark()


async def test_an_answer_lost_on_the_way_is_read_again_with_the_same_watermark(
    ews: EwsClient, sim_server: SimServer
):
    """Asking twice from the same watermark gives the same events (nothing is lost)."""
    sub_id, watermark = await subscribe(ews, subscription_request())
    deliver_mail(sim_server)
    first = await get_events(ews, sub_id, watermark)
    again = await get_events(ews, sub_id, watermark)
    assert again.names == first.names
    assert again.last_watermark() == first.last_watermark()


async def test_event_types_and_folders_filter_what_a_subscription_sees(
    ews: EwsClient, sim_server: SimServer
):
    """EventTypes and FolderIds filter; SubscribeToAllFolders sees every folder."""
    only_new_mail, w1 = await subscribe(ews, subscription_request(events=("NewMailEvent",)))
    calendar = '<t:DistinguishedFolderId Id="calendar"/>'
    on_calendar, w2 = await subscribe(ews, subscription_request(folders=calendar))
    everything, w3 = await subscribe(ews, subscription_request(folders=None, all_folders=True))
    deliver_mail(sim_server)
    assert (await get_events(ews, only_new_mail, w1)).names == ["NewMailEvent"]
    assert (await get_events(ews, on_calendar, w2)).names == ["StatusEvent"]
    assert (await get_events(ews, everything, w3)).names == [
        "CreatedEvent",
        "NewMailEvent",
        "ModifiedEvent",
    ]


async def test_neither_folders_nor_all_folders_is_an_invalid_subscription_request(
    ews: EwsClient,
):
    """A subscription must name folders or SubscribeToAllFolders."""
    reply = await ews.call(subscription_request(folders=None))
    assert reply.response_codes() == ["ErrorInvalidSubscriptionRequest"]


async def test_moves_and_copies_name_the_old_item_and_parent(ews: EwsClient, sim_server: SimServer):
    """MovedEvent/CopiedEvent carry OldItemId and OldParentFolderId; both folders change."""
    store = sim_server.sim.store
    item_id = deliver_mail(sim_server)
    sub_id, watermark = await subscribe(
        ews,
        subscription_request(
            folders=None, all_folders=True, events=("MovedEvent", "CopiedEvent", "ModifiedEvent")
        ),
    )
    copied = store.copy_item(item_id, "drafts")
    moved = store.move_item(item_id, "deleteditems")
    events = await get_events(ews, sub_id, watermark)
    assert events.names == [
        "CopiedEvent",
        "ModifiedEvent",
        "MovedEvent",
        "ModifiedEvent",
        "ModifiedEvent",
    ]
    copy_el, move_el = events.items[0][1], events.items[2][1]
    inbox = store.folder(ALICE, "inbox").id
    for el, new_id in ((copy_el, copied.id), (move_el, moved.id)):
        assert el.find(f"{{{T_NS}}}ItemId").get("Id") == new_id  # type: ignore[union-attr]
        assert el.find(f"{{{T_NS}}}OldItemId").get("Id") == item_id  # type: ignore[union-attr]
        old_parent = el.find(f"{{{T_NS}}}OldParentFolderId")
        assert old_parent is not None
        assert old_parent.get("Id") == inbox
    changed_folders = {
        el.find(f"{{{T_NS}}}FolderId").get("Id")  # type: ignore[union-attr]
        for name, el in events.items[3:]
    }
    assert changed_folders == {inbox, store.folder(ALICE, "deleteditems").id}


async def test_a_hard_delete_is_a_deleted_event(ews: EwsClient, sim_server: SimServer):
    """HardDelete: DeletedEvent with the gone item's id (no change key) and its folder."""
    item_id = deliver_mail(sim_server)
    sub_id, watermark = await subscribe(ews, subscription_request(events=("DeletedEvent",)))
    sim_server.sim.store.delete_item(item_id, mode="HardDelete")
    events = await get_events(ews, sub_id, watermark)
    assert events.names == ["DeletedEvent"]
    gone = events.items[0][1].find(f"{{{T_NS}}}ItemId")
    assert gone is not None
    assert gone.get("Id") == item_id
    assert gone.get("ChangeKey") is None


async def test_calendar_changes_fire_free_busy_changed(ews: EwsClient, sim_server: SimServer):
    """A meeting saved in the organizer's calendar fires CreatedEvent and FreeBusyChangedEvent."""
    calendar = '<t:DistinguishedFolderId Id="calendar"/>'
    sub_id, watermark = await subscribe(
        ews, subscription_request(folders=calendar), impersonate=BOB
    )
    meeting = send_invitation(sim_server, organizer=BOB, attendee=CAROL)
    events = await get_events(ews, sub_id, watermark, impersonate=BOB)
    assert "FreeBusyChangedEvent" in events.names
    assert events.names[:2] == ["CreatedEvent", "FreeBusyChangedEvent"]
    free_busy = dict(events.items)["FreeBusyChangedEvent"]
    assert free_busy.find(f"{{{T_NS}}}ItemId").get("Id") == meeting.id  # type: ignore[union-attr]


async def test_a_new_subscription_resumes_from_an_old_watermark(
    ews: EwsClient, sim_server: SimServer
):
    """Subscribe with the Watermark of an earlier subscription: the events since then come."""
    old, watermark = await subscribe(ews, subscription_request(events=("NewMailEvent",)))
    item_id = deliver_mail(sim_server)
    await ews.call(unsubscribe_body(old))
    resumed, start = await subscribe(
        ews, subscription_request(events=("NewMailEvent",), watermark=watermark)
    )
    assert start == watermark
    events = await get_events(ews, resumed, start)
    assert events.names == ["NewMailEvent"]
    assert events.items[0][1].find(f"{{{T_NS}}}ItemId").get("Id") == item_id  # type: ignore[union-attr]


async def test_a_watermark_this_mailbox_never_issued_is_error_invalid_watermark(
    ews: EwsClient, sim_server: SimServer
):
    """Garbage, or another mailbox's watermark: ErrorInvalidWatermark (GetEvents, Subscribe)."""
    sub_id, _ = await subscribe(ews, subscription_request())
    others = encode_watermark(BOB, (1, 0))
    for watermark in ("AAAAAGUhAAAAAAAAAQ==", others, "not base64!"):
        reply = await ews.call(get_events_body(sub_id, watermark))
        assert reply.response_codes() == ["ErrorInvalidWatermark"]
        reply = await ews.call(subscription_request(watermark=watermark))
        assert reply.response_codes() == ["ErrorInvalidWatermark"]
    future = encode_watermark(ALICE, (sim_server.sim.store.watermark() + 1000, 0))
    reply = await ews.call(subscription_request(watermark=future))
    assert reply.response_codes() == ["ErrorEventNotFound"]


async def test_someone_elses_subscription_is_access_denied(ews: EwsClient, sim_server: SimServer):
    """Another app polling a subscription gets ErrorSubscriptionAccessDenied, worded like the
    GetEvents-ErrorSubscriptionAccessDenied sample."""
    sub_id, watermark = await subscribe(ews, subscription_request())
    reply = await ews.call(
        get_events_body(sub_id, watermark), token=sim_server.app_token(VMRSCHED_APP)
    )
    assert reply.response_codes() == ["ErrorSubscriptionAccessDenied"]
    assert text_of(reply, M_NS, "MessageText") == (
        "Access is denied. Only the subscription owner may access the subscription."
    )


async def test_get_events_on_a_streaming_subscription_is_invalid_pull_subscription_id(
    ews: EwsClient,
):
    """GetEvents needs a pull subscription."""
    sub_id, _ = await subscribe(ews, subscription_request("Streaming"))
    reply = await ews.call(get_events_body(sub_id, encode_watermark(ALICE, (1, 0))))
    assert reply.response_codes() == ["ErrorInvalidPullSubscriptionId"]


async def test_a_pull_subscription_expires_when_not_polled_within_its_timeout(
    clocked_server: tuple[SimServer, ManualClock],
):
    """Polling restarts the Timeout; past it the subscription is gone: ErrorSubscriptionNotFound."""
    server, clock = clocked_server
    async with EwsClient(server) as ews:
        sub_id, watermark = await subscribe(ews, subscription_request(timeout=1))
        clock.advance(seconds=50)
        watermark = (await get_events(ews, sub_id, watermark)).last_watermark()
        clock.advance(seconds=50)
        watermark = (await get_events(ews, sub_id, watermark)).last_watermark()
        clock.advance(seconds=61)
        reply = await ews.call(get_events_body(sub_id, watermark))
    assert reply.response_codes() == ["ErrorSubscriptionNotFound"]


async def test_a_streaming_subscription_without_a_connection_expires_after_30_minutes(
    clocked_server: tuple[SimServer, ManualClock],
):
    """A streaming subscription nobody connects to for 30 minutes is gone (inferred lifetime)."""
    server, clock = clocked_server
    async with EwsClient(server) as ews:
        sub_id, _ = await subscribe(ews, subscription_request("Streaming"))
        clock.advance(minutes=31)
        reply = await ews.call(streaming_body(sub_id))
    assert reply.response_codes() == ["ErrorSubscriptionNotFound"]


async def test_minutes_out_of_the_schemas_range_fail_schema_validation(cert_dir: Path):
    """Timeout 0 or ConnectionTimeout 31 are schema violations even with request validation
    switched off: ErrorSchemaValidation, as Exchange answers."""
    server = start_sim_server(make_sim(validate_requests=False), cert_dir=cert_dir)
    try:
        async with EwsClient(server) as ews:
            reply = await ews.call(subscription_request(timeout=0))
            assert reply.fault_code == "ErrorSchemaValidation"
            reply = await ews.call(streaming_body("any", minutes=31))
            assert reply.fault_code == "ErrorSchemaValidation"
    finally:
        server.stop()


async def test_unsubscribe_ends_the_subscription(ews: EwsClient):
    """Unsubscribe: NoError; afterwards the id is unknown, shaped like
    Unsubscribe-ErrorSubscriptionNotFound.response.xml."""
    sub_id, watermark = await subscribe(ews, subscription_request())
    assert (await ews.call(unsubscribe_body(sub_id))).response_codes() == ["NoError"]
    again = await ews.call(unsubscribe_body(sub_id))
    assert again.response_codes() == ["ErrorSubscriptionNotFound"]
    assert text_of(again, M_NS, "MessageText") == "The specified subscription was not found."
    gone = await ews.call(get_events_body(sub_id, watermark))
    assert gone.response_codes() == ["ErrorSubscriptionNotFound"]


# --- GetStreamingEvents -------------------------------------------------------------------------


async def test_a_stream_says_ok_at_once_then_events_then_closed(
    fast_server: SimServer, open_stream: Any
):
    """One chunked answer: ConnectionStatus OK first, then notifications as mail arrives (no
    watermarks, as in the docs' sample), keep-alives, and ConnectionStatus Closed at the end."""
    async with EwsClient(fast_server) as ews:
        sub_id, _ = await subscribe(ews, subscription_request("Streaming"))
    stream = await open_stream(fast_server, sub_id)
    assert stream.response.headers.get("Transfer-Encoding") == "chunked"
    first = await stream.next()
    assert status_of(first) == "OK"
    assert notifications_of(first) == []
    item_id = await asyncio.to_thread(deliver_mail, fast_server)
    rest = await stream.rest()
    with_events = [e for e in rest if notifications_of(e)]
    assert len(with_events) == 1
    (notification,) = notifications_of(with_events[0])
    assert notification.header("SubscriptionId") == sub_id
    assert notification.names == ["CreatedEvent", "NewMailEvent", "ModifiedEvent"]
    assert notification.items[0][1].find(f"{{{T_NS}}}Watermark") is None
    assert notification.items[0][1].find(f"{{{T_NS}}}ItemId").get("Id") == item_id  # type: ignore[union-attr]
    assert status_of(rest[-1]) == "Closed"
    for envelope_el in [first, *rest]:
        assert_valid(envelope_el)


async def test_an_idle_stream_sends_keep_alives(fast_server: SimServer, open_stream: Any):
    """With nothing happening the stream still says ConnectionStatus OK every 45 (scaled) s."""
    async with EwsClient(fast_server) as ews:
        sub_id, _ = await subscribe(ews, subscription_request("Streaming"))
    stream = await open_stream(fast_server, sub_id, minutes=2)
    envelopes = await stream.rest()
    statuses = [status_of(e) for e in envelopes]
    assert statuses[-1] == "Closed"
    assert statuses[:-1] == ["OK"] * (len(statuses) - 1)
    assert len(statuses) - 1 >= 3  # the first OK and at least two keep-alives in 2 minutes


async def test_events_between_connections_come_with_the_next_connection(
    fast_server: SimServer, open_stream: Any
):
    """A streaming subscription keeps its place while no connection is open."""
    async with EwsClient(fast_server) as ews:
        sub_id, _ = await subscribe(
            ews, subscription_request("Streaming", events=("NewMailEvent",))
        )
    await (await open_stream(fast_server, sub_id)).rest()
    deliver_mail(fast_server)
    envelopes = await (await open_stream(fast_server, sub_id)).rest()
    assert [n.names for e in envelopes for n in notifications_of(e)] == [["NewMailEvent"]]


async def test_a_bad_id_fails_the_whole_stream_and_names_the_bad_ids(
    ews: EwsClient, sim_server: SimServer
):
    """Unknown and non-streaming ids: one Error message with ErrorSubscriptionIds and
    ConnectionStatus Closed, answered at once."""
    good, _ = await subscribe(ews, subscription_request("Streaming"))
    pull, _ = await subscribe(ews, subscription_request())
    reply = await ews.call(streaming_body(good, "unknown-id", minutes=30))
    assert reply.response_codes() == ["ErrorSubscriptionNotFound"]
    bad_ids = [el.text for el in reply.root.iter(f"{{{T_NS}}}SubscriptionId")]
    assert bad_ids == ["unknown-id"]
    assert text_of(reply, M_NS, "ConnectionStatus") == "Closed"
    reply = await ews.call(streaming_body(pull))
    assert reply.response_codes() == ["ErrorInvalidSubscription"]
    other_app = await ews.call(streaming_body(good), token=sim_server.app_token(VMRSCHED_APP))
    assert other_app.response_codes() == ["ErrorSubscriptionAccessDenied"]


async def test_more_than_two_hundred_ids_per_connection_are_refused(ews: EwsClient):
    """At most 200 subscriptions share a connection (maintain-affinity docs)."""
    reply = await ews.call(streaming_body(*(f"id-{n}" for n in range(201))))
    assert reply.response_codes() == ["ErrorInvalidRequest"]


async def test_the_eleventh_stream_of_a_mailbox_is_exceeded_connection_count(
    fresh_server: SimServer, open_stream: Any
):
    """Exchange Online holds 10 streaming connections per mailbox; the 11th is refused."""
    async with EwsClient(fresh_server) as ews:
        ids = [(await subscribe(ews, subscription_request("Streaming")))[0] for _ in range(11)]
        streams = [await open_stream(fresh_server, sub_id) for sub_id in ids[:10]]
        for stream in streams:
            assert status_of(await stream.next()) == "OK"
        refused = await ews.call(streaming_body(ids[10]))
        assert refused.response_codes() == ["ErrorExceededConnectionCount"]
    # The connection is charged to the impersonated mailbox: grouped under VMR it is fine.
    charged_elsewhere = await open_stream(fresh_server, ids[10], impersonate=VMR)
    assert status_of(await charged_elsewhere.next()) == "OK"
    assert registry_for(fresh_server.sim).connections(ALICE) == 10


async def test_a_subscription_moves_to_its_newest_connection(
    fast_server: SimServer, open_stream: Any
):
    """Opening a second connection for a subscription ends the first one with Closed."""
    async with EwsClient(fast_server) as ews:
        sub_id, _ = await subscribe(ews, subscription_request("Streaming"))
    older = await open_stream(fast_server, sub_id, minutes=30)
    assert status_of(await older.next()) == "OK"
    newer = await open_stream(fast_server, sub_id, minutes=30)
    assert status_of(await newer.next()) == "OK"
    rest = await older.rest()
    assert status_of(rest[-1]) == "Closed"


async def test_stopping_the_server_ends_streams_cleanly(cert_dir: Path, open_stream: Any):
    """A server stop closes open streams with ConnectionStatus Closed, promptly."""
    server = start_sim_server(make_sim(), cert_dir=cert_dir)
    try:
        async with EwsClient(server) as ews:
            sub_id, _ = await subscribe(ews, subscription_request("Streaming"))
        stream = await open_stream(server, sub_id, minutes=30)
        assert status_of(await stream.next()) == "OK"
        stopping = asyncio.create_task(asyncio.to_thread(server.stop))
        rest = await asyncio.wait_for(stream.rest(), timeout=10)
        await stopping
    finally:
        server.stop()
    assert status_of(rest[-1]) == "Closed"


async def test_the_streaming_drop_knob_cuts_the_connection(sim_server: SimServer, open_stream: Any):
    """`streaming_drop`: OK arrives, then the connection is cut without Closed."""
    async with EwsClient(sim_server) as ews:
        sub_id, _ = await subscribe(ews, subscription_request("Streaming"))
    sim_server.admin.set_knobs(streaming_drop=True, streaming_drop_after_ms=100)
    stream = await open_stream(sim_server, sub_id, minutes=30)
    assert status_of(await stream.next()) == "OK"
    with pytest.raises(aiohttp.ClientPayloadError):
        await stream.rest()


# --- exchangelib --------------------------------------------------------------------------------


@dataclass
class StreamWatch:
    """Learns from the response listener when a GetStreamingEvents stream has opened."""

    opened: threading.Event = field(default_factory=threading.Event)

    def __call__(self, record: ResponseRecord) -> None:
        if record.operation == "GetStreamingEvents" and b">OK<" in record.body:
            self.opened.set()


@pytest.fixture
def stream_watch(sim_server: SimServer) -> Iterator[StreamWatch]:
    watch = StreamWatch()
    remove = sim_server.sim.add_response_listener(watch)
    yield watch
    remove()


def test_exchangelib_streams_mail_and_meeting_requests_from_other_users(
    sim_server: SimServer, exchangelib_accounts: AccountFactory, stream_watch: StreamWatch
):
    """`inbox.subscribe_to_streaming()` + `get_streaming_events()`: Bob's mail and Bob's meeting
    request reach Alice's stream as NewMailEvents while it is open."""
    inbox = exchangelib_accounts(sim_server, ALICE).inbox
    sub_id = inbox.subscribe_to_streaming()
    received: list[Any] = []
    first = threading.Event()

    def listen() -> None:
        for notification in inbox.get_streaming_events(
            sub_id, connection_timeout=1, max_notifications_returned=2
        ):
            received.append(notification)
            first.set()

    listener = threading.Thread(target=listen)
    listener.start()
    assert stream_watch.opened.wait(10)
    mail_id = deliver_mail(sim_server)
    assert first.wait(10)
    send_invitation(sim_server, organizer=BOB, attendee=ALICE)
    listener.join(30)
    assert not listener.is_alive()
    new_mail = [e for n in received for e in n.events if type(e).__name__ == "NewMailEvent"]
    assert len(new_mail) == 2
    assert new_mail[0].item_id.id == mail_id
    request = sim_server.sim.store.get_item(new_mail[1].item_id.id)
    assert request.item_class == "IPM.Schedule.Meeting.Request"
    assert all(n.subscription_id == sub_id for n in received)
    inbox.unsubscribe(sub_id)


def test_a_stream_holds_exchangelibs_only_connection_but_a_second_protocol_works(
    sim_server: SimServer, exchangelib_accounts: AccountFactory, stream_watch: StreamWatch
):
    """With `max_connections` 1 the streaming call holds its protocol's only session; an Account
    with its own protocol (other credentials) keeps working meanwhile (REFERENCES §4, #1088)."""
    streaming = exchangelib_accounts(sim_server, ALICE)
    inbox = streaming.inbox
    sub_id = inbox.subscribe_to_streaming()
    got: list[Any] = []
    listener = threading.Thread(
        target=lambda: got.extend(
            inbox.get_streaming_events(sub_id, connection_timeout=1, max_notifications_returned=1)
        )
    )
    listener.start()
    assert stream_watch.opened.wait(10)
    assert streaming.protocol.max_connections == 1
    assert streaming.protocol._session_pool.empty()  # no session left to lend
    other = exchangelib_accounts(sim_server, ALICE, app=LEGACY_APP)
    assert other.protocol is not streaming.protocol
    pull_id, watermark = other.inbox.subscribe_to_pull()
    polled = [
        [type(e).__name__ for e in n.events] for n in other.inbox.get_events(pull_id, watermark)
    ]
    assert polled == [["StatusEvent"]]
    assert listener.is_alive()  # the stream was open the whole time
    deliver_mail(sim_server)
    listener.join(30)
    assert not listener.is_alive()
    assert got
    other.inbox.unsubscribe(pull_id)


def test_exchangelib_pulls_events_and_unsubscribes(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
):
    """`subscribe_to_pull()` + `get_events()` + `unsubscribe()`; afterwards exchangelib raises
    ErrorSubscriptionNotFound."""
    inbox = exchangelib_accounts(sim_server, ALICE).inbox
    sub_id, watermark = inbox.subscribe_to_pull(timeout=5)
    deliver_mail(sim_server)
    (notification,) = list(inbox.get_events(sub_id, watermark))
    names = [type(e).__name__ for e in notification.events]
    assert names == ["CreatedEvent", "NewMailEvent", "ModifiedEvent"]
    assert notification.previous_watermark == watermark
    assert notification.more_events is False
    assert notification.events[2].unread_count >= 1
    inbox.unsubscribe(sub_id)
    with pytest.raises(exchangelib.errors.ErrorSubscriptionNotFound):
        list(inbox.get_events(sub_id, notification.events[-1].watermark))
    with pytest.raises(exchangelib.errors.ErrorSubscriptionNotFound):
        inbox.unsubscribe(sub_id)


def test_exchangelib_learns_that_an_unpolled_subscription_expired(
    clocked_server: tuple[SimServer, ManualClock], exchangelib_accounts: AccountFactory
):
    """Past its Timeout a pull subscription is gone: exchangelib raises
    ErrorSubscriptionNotFound; a new subscription works."""
    server, clock = clocked_server
    inbox = exchangelib_accounts(server, ALICE).inbox
    sub_id, watermark = inbox.subscribe_to_pull(timeout=1)
    clock.advance(minutes=2)
    with pytest.raises(exchangelib.errors.ErrorSubscriptionNotFound):
        list(inbox.get_events(sub_id, watermark))
    sub_id, watermark = inbox.subscribe_to_pull(timeout=1)
    assert list(inbox.get_events(sub_id, watermark))


def test_exchangelibs_pull_watermark_is_refused_by_the_schema(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
):
    """exchangelib 5.6 writes `m:Watermark` in PullSubscriptionRequest; the EWS schema has
    `t:Watermark` there, so Exchange (and the simulator) refuse the request."""
    if sim_server.sim.request_schema is None:
        pytest.skip("request validation needs the EWS schemas")
    inbox = exchangelib_accounts(sim_server, ALICE).inbox
    _, watermark = inbox.subscribe_to_pull()
    with pytest.raises(exchangelib.errors.ErrorSchemaValidation):
        inbox.subscribe_to_pull(watermark=watermark)


def test_exchangelib_sees_a_dropped_stream_fail_and_a_new_subscription_resumes(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
):
    """`streaming_drop`: exchangelib's get_streaming_events fails with requests'
    ChunkedEncodingError; a new subscription streams the next mail."""
    inbox = exchangelib_accounts(sim_server, ALICE).inbox
    sub_id = inbox.subscribe_to_streaming()
    sim_server.admin.set_knobs(streaming_drop=True, streaming_drop_after_ms=50)
    # exchangelib does not translate a cut stream: requests' own error reaches the caller.
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        list(inbox.get_streaming_events(sub_id, connection_timeout=1))
    sim_server.admin.reset_knobs()
    inbox.unsubscribe(sub_id)
    sub_id = inbox.subscribe_to_streaming()
    deliver_mail(sim_server)
    (notification,) = inbox.get_streaming_events(
        sub_id, connection_timeout=1, max_notifications_returned=1
    )
    assert "NewMailEvent" in [type(e).__name__ for e in notification.events]
    inbox.unsubscribe(sub_id)


# --- push ---------------------------------------------------------------------------------------


@dataclass
class Listener:
    """A push listener built on exchangelib's SendNotification parser and answers."""

    answer: str = "OK"
    status: int = 200
    bodies: list[bytes] = field(default_factory=list)
    notifications: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.bodies.append(body)
        service = SendNotification(protocol=None)
        for notification in service.parse(body):
            self.notifications.put_nowait(notification)
        payload = service.ok_payload() if self.answer == "OK" else service.unsubscribe_payload()
        return web.Response(body=payload, status=self.status, content_type="text/xml")

    async def next(self) -> Any:
        return await asyncio.wait_for(self.notifications.get(), timeout=10)


@pytest.fixture
async def listener() -> AsyncIterator[tuple[Listener, str]]:
    """A push listener on a local port and its URL."""
    got = Listener()
    app = web.Application()
    app.router.add_post("/ews-push", got.handle)
    server = TestServer(app)
    await server.start_server()
    yield got, str(server.make_url("/ews-push"))
    await server.close()


async def test_push_delivers_status_then_events_until_the_listener_unsubscribes(
    ews: EwsClient, sim_server: SimServer, listener: tuple[Listener, str]
):
    """Push: a StatusEvent at once, then the new mail's events with watermarks; answering
    Unsubscribe ends the subscription. Every pushed body is schema-valid."""
    got, url = listener
    sub_id, watermark = await subscribe(ews, subscription_request("Push", url=url))
    status = await got.next()
    assert status.subscription_id == sub_id
    assert [type(e).__name__ for e in status.events] == ["StatusEvent"]
    assert status.previous_watermark == watermark
    await asyncio.to_thread(deliver_mail, sim_server)
    news = await got.next()
    assert [type(e).__name__ for e in news.events] == [
        "CreatedEvent",
        "NewMailEvent",
        "ModifiedEvent",
    ]
    assert all(e.watermark for e in news.events)
    got.answer = "Unsubscribe"
    await asyncio.to_thread(deliver_mail, sim_server)
    await got.next()
    registry = registry_for(sim_server.sim)
    assert await asyncio.to_thread(registry.wait_removed, sub_id, 10)
    for body in got.bodies:
        root = etree.fromstring(body)
        header = root.find(f"{{{SOAP_NS}}}Header/{{{T_NS}}}RequestServerVersion")
        assert header is not None
        assert_valid(root)
    assert (await ews.call(unsubscribe_body(sub_id))).response_codes() == [
        "ErrorSubscriptionNotFound"
    ]


async def test_a_failing_push_listener_is_retried_then_dropped(
    fast_server: SimServer, listener: tuple[Listener, str]
):
    """A listener answering 500 is retried (30 s, doubling, scaled) until StatusFrequency runs
    out; then the subscription is gone."""
    got, url = listener
    got.status = 500
    async with EwsClient(fast_server) as ews:
        sub_id, _ = await subscribe(ews, subscription_request("Push", url=url, frequency=1))
        registry = registry_for(fast_server.sim)
        assert await asyncio.to_thread(registry.wait_removed, sub_id, 10)
        assert len(got.bodies) == 2  # the first try and one retry fit in 1 (scaled) minute
        reply = await ews.call(unsubscribe_body(sub_id))
    assert reply.response_codes() == ["ErrorSubscriptionNotFound"]


async def test_an_open_stream_does_not_hold_a_concurrency_slot(
    sim_server: SimServer, open_stream: Any
):
    """Exchange does not count streaming connections against EWSMaxConcurrency: with one slot
    per mailbox, a call next to an open stream is answered, not refused with ErrorServerBusy."""
    async with EwsClient(sim_server) as ews:
        sub_id, _ = await subscribe(ews, subscription_request("Streaming"))
        sim_server.admin.set_knobs(max_concurrent=1)
        stream = await open_stream(sim_server, sub_id)
        assert status_of(await stream.next()) == "OK"
        second, _ = await subscribe(ews, subscription_request("Pull"))
        reply = await ews.call(unsubscribe_body(second))
    assert reply.response_codes() == ["NoError"]
