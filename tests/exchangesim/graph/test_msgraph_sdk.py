"""Microsoft's own Graph SDK for Python (msgraph-sdk, on kiota and httpx), unmodified, against
exchangesim: a token from the simulated Entra ID through msal, then typed calls.

The only setup is what any app does to reach another Graph host: the request adapter's base URL
(here the simulator's ``/v1.0``) and an httpx client that trusts the simulator's CA.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import msal
import pytest
from exchangelib_client import SECRETS
from graph_harness import tomorrow_at
from harness import ALICE, DAVE, VMR, VMRSCHED_APP
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.event_message_request import EventMessageRequest
from msgraph.generated.models.event_type import EventType
from msgraph.generated.models.mail_folder import MailFolder
from msgraph.generated.models.meeting_message_type import MeetingMessageType
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.response_type import ResponseType
from msgraph.generated.models.single_value_legacy_extended_property import (
    SingleValueLegacyExtendedProperty,
)
from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import (
    DeltaRequestBuilder,
)
from msgraph.generated.users.item.events.item.accept.accept_post_request_body import (
    AcceptPostRequestBody,
)
from msgraph.generated.users.item.mail_folders.item.mail_folder_item_request_builder import (
    MailFolderItemRequestBuilder,
)
from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import (
    MessagesRequestBuilder,
)
from msgraph_core import GraphClientFactory

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from harness import SimServer

BOB = "bob@contoso.com"


class _MsalTokens(AccessTokenProvider):  # type: ignore[misc]  # kiota's ABC is untyped here
    """Tokens for https://graph.microsoft.com/.default from the simulator, through msal."""

    def __init__(self, server: SimServer) -> None:
        self._app = msal.ConfidentialClientApplication(
            VMRSCHED_APP,
            client_credential=SECRETS[VMRSCHED_APP],
            authority=server.server.authority,
            instance_discovery=False,
        )

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        del uri, additional_authentication_context
        result = await asyncio.to_thread(
            self._app.acquire_token_for_client, ["https://graph.microsoft.com/.default"]
        )
        assert "access_token" in result, result
        return str(result["access_token"])

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([])


@pytest.fixture
async def sdk(
    fresh_server: SimServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[GraphServiceClient]:
    """A GraphServiceClient pointed at `fresh_server` (msal's requests trust its CA)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fresh_server.ca_file))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=fresh_server.ssl_context())
    )
    adapter = GraphRequestAdapter(
        BaseBearerTokenAuthenticationProvider(_MsalTokens(fresh_server)), http
    )
    adapter.base_url = fresh_server.base_url + "/v1.0"
    yield GraphServiceClient(request_adapter=adapter)
    await http.aclose()


def _when(hour: int) -> DateTimeTimeZone:
    return DateTimeTimeZone(
        date_time=tomorrow_at(hour).strftime("%Y-%m-%dT%H:%M:%S"), time_zone="UTC"
    )


async def _create_meeting(sdk: GraphServiceClient, subject: str) -> Event:
    event = Event(
        subject=subject,
        start=_when(9),
        end=_when(10),
        attendees=[Attendee(email_address=EmailAddress(address=BOB), type=AttendeeType.Required)],
    )
    created = await sdk.users.by_user_id(ALICE).events.post(event)
    assert created is not None
    return created


async def test_the_sdk_creates_a_meeting_and_reads_it_back(sdk: GraphServiceClient) -> None:
    """events.post returns a typed Event; events.by_event_id.get reads the same meeting."""
    created = await _create_meeting(sdk, "SDK meeting")
    assert created.id
    assert created.type == EventType.SingleInstance
    fetched = await sdk.users.by_user_id(ALICE).events.by_event_id(created.id).get()
    assert fetched is not None
    assert fetched.subject == "SDK meeting"
    assert fetched.attendees is not None
    assert [a.email_address.address for a in fetched.attendees if a.email_address] == [BOB]


async def test_the_sdk_reads_the_request_with_its_event_and_accepts_it(
    sdk: GraphServiceClient,
) -> None:
    """The attendee's inbox yields an EventMessageRequest (meetingRequest) whose expanded event
    the SDK accepts; the organizer's copy then shows Bob as accepted."""
    created = await _create_meeting(sdk, "Accept via SDK")
    config = RequestConfiguration(
        query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            expand=["microsoft.graph.eventMessage/event"]
        )
    )
    page = (
        await sdk.users.by_user_id(BOB).mail_folders.by_mail_folder_id("inbox").messages.get(config)
    )
    assert page is not None
    assert page.value is not None
    (request,) = [m for m in page.value if m.subject == "Accept via SDK"]
    assert isinstance(request, EventMessageRequest)
    assert request.meeting_message_type == MeetingMessageType.MeetingRequest
    assert request.event is not None
    assert request.event.id
    await (
        sdk.users.by_user_id(BOB)
        .events.by_event_id(request.event.id)
        .accept.post(AcceptPostRequestBody(comment="Fine by me", send_response=True))
    )
    assert created.id
    organizer = await sdk.users.by_user_id(ALICE).events.by_event_id(created.id).get()
    assert organizer is not None
    assert organizer.attendees is not None
    assert organizer.attendees[0].status is not None
    assert organizer.attendees[0].status.response == ResponseType.Accepted


async def test_the_sdk_follows_a_calendar_view_delta_round(sdk: GraphServiceClient) -> None:
    """calendarView.delta with a window gives the meeting and an @odata.deltaLink."""
    await _create_meeting(sdk, "Delta via SDK")
    start = tomorrow_at(0)
    config = RequestConfiguration(
        query_parameters=DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
            start_date_time=start.isoformat(), end_date_time=(start + timedelta(days=2)).isoformat()
        )
    )
    result = await sdk.users.by_user_id(ALICE).calendar_view.delta.get(config)
    assert result is not None
    assert [e.subject for e in result.value or []] == ["Delta via SDK"]
    assert result.odata_delta_link is not None
    assert "$deltatoken=" in result.odata_delta_link


async def test_the_sdk_raises_graphs_403_for_a_mailbox_outside_the_scope(
    sdk: GraphServiceClient,
) -> None:
    """The SDK surfaces ErrorAccessDenied as an APIError with status 403."""
    with pytest.raises(APIError) as caught:
        await sdk.users.by_user_id(DAVE).messages.get()
    assert caught.value.response_status_code == 403
    assert isinstance(caught.value, ODataError)
    assert caught.value.error is not None
    assert caught.value.error.code == "ErrorAccessDenied"


async def test_the_sdk_sets_and_reads_an_extended_property_on_the_inbox(
    sdk: GraphServiceClient,
) -> None:
    """A MailFolder PATCH with singleValueExtendedProperties stores the property; a GET with
    $expand=singleValueExtendedProperties($filter=id eq ...) gives it back, typed."""
    prop = "String {6e7c2b1a-5d3f-4c8e-9a0b-7f1e2d3c4b5a} Name vmrsched.installation"
    inbox = sdk.users.by_user_id(VMR).mail_folders.by_mail_folder_id("inbox")
    patch = MailFolder(
        single_value_extended_properties=[SingleValueLegacyExtendedProperty(id=prop, value="v1")]
    )
    updated = await inbox.patch(patch)
    assert updated is not None
    assert updated.display_name == "Inbox"
    query = MailFolderItemRequestBuilder.MailFolderItemRequestBuilderGetQueryParameters(
        expand=[f"singleValueExtendedProperties($filter=id eq '{prop}')"]
    )
    found = await inbox.get(RequestConfiguration(query_parameters=query))
    assert found is not None
    assert found.single_value_extended_properties is not None
    assert [(p.id, p.value) for p in found.single_value_extended_properties] == [(prop, "v1")]
