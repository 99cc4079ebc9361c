"""The EWS framework over real HTTPS: authentication, envelopes, headers, impersonation, access,
dispatch, error shapes, and ConvertId (exchangelib's version probe)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from exchangelib import OAUTH2, Configuration, Identity, OAuth2Credentials
from exchangelib.protocol import BaseProtocol, CachingProtocol
from exchangelib.version import Version
from harness import (
    ALICE,
    DAVE,
    LEGACY_APP,
    SAMPLES_DIR,
    VMR,
    VMRSCHED_APP,
    EwsClient,
    SimServer,
    convert_id_body,
    envelope,
)
from lxml import etree

from exchangesim.ews import EwsContext, EwsError, registry
from exchangesim.ews.ops_misc import from_ews_id, to_ews_id
from exchangesim.ews.soap import MAX_REQUEST_BYTES
from exchangesim.ews.xml import (
    E_NS,
    M_NS,
    SOAP_NS,
    T_NS,
    format_datetime,
    format_duration,
    m,
    msub,
    parse_datetime,
    parse_duration,
    response_message,
)
from exchangesim.store.errors import ItemNotFound

if TYPE_CHECKING:
    from collections.abc import Iterator

    from exchangesim.ews.xml import Element

CHALLENGE_START = 'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers='


def fault_detail(reply: Any, name: str) -> str | None:
    """`detail/t:MessageXml/t:Value[@Name=name]` of a fault reply."""
    value = reply.root.find(
        f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault/detail/{{{T_NS}}}MessageXml/{{{T_NS}}}Value[@Name='{name}']"
    )
    return None if value is None else value.text


PASSWORD_EXPIRATION = (
    "<m:GetPasswordExpirationDate><m:MailboxSmtpAddress>alice@contoso.com"
    "</m:MailboxSmtpAddress></m:GetPasswordExpirationDate>"
)


@pytest.fixture
def temporary_operation() -> Iterator[Any]:
    """Register a test handler under an EWS operation name (or none: func=None) for one test."""
    saved: dict[str, registry.Operation | None] = {}

    def install(name: str, func: Any, *, streaming: bool = False) -> None:
        saved.setdefault(name, registry.get_operation(name))
        registry._REGISTRY.pop(name, None)
        if func is not None:
            registry.operation(name, streaming=streaming)(func)

    yield install
    for name, previous in saved.items():
        registry._REGISTRY.pop(name, None)
        if previous is not None:
            registry._REGISTRY[name] = previous


def password_expiration_response() -> Element:
    """A schema-valid GetPasswordExpirationDateResponse (the shape of the captured sample)."""
    response = m("GetPasswordExpirationDateResponse", ResponseClass="Success")
    msub(response, "ResponseCode", "NoError")
    msub(response, "PasswordExpirationDate", "9999-12-31T23:59:59.9999999")
    return response


# --- HTTP authentication -----------------------------------------------------------------------


async def test_a_request_without_a_token_gets_exchange_onlines_bearer_challenge(ews: EwsClient):
    """No Authorization header: 401, empty body, EXO's Bearer challenge without `error=`."""
    reply = await ews.post(envelope(convert_id_body()), token=None)
    assert reply.status == 401
    assert reply.body == b""
    challenge = reply.headers["WWW-Authenticate"]
    assert challenge.startswith(CHALLENGE_START)
    assert 'token_types="app_asserted_user_v1 service_asserted_app_v1"' in challenge
    assert (
        'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"' in challenge
    )
    assert "error=" not in challenge
    assert reply.headers.get("Connection", "").lower() != "close"


async def test_a_bad_token_gets_401_invalid_token_with_diagnostics(ews: EwsClient):
    """A token that does not verify: 401 with `error="invalid_token"` and x-ms-diagnostics."""
    reply = await ews.post(envelope(convert_id_body()), token="not.a.jwt")
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"].endswith(', error="invalid_token"')
    assert reply.headers["x-ms-diagnostics"].startswith("2000001;reason=")


async def test_a_graph_token_is_refused_as_the_wrong_resource(
    ews: EwsClient, sim_server: SimServer
):
    """A token minted for Microsoft Graph is not an Exchange token: 401, invalid_resource."""
    token = sim_server.app_token(resource="https://graph.microsoft.com")
    reply = await ews.post(envelope(convert_id_body()), token=token)
    assert reply.status == 401
    assert 'error_category="invalid_resource"' in reply.headers["x-ms-diagnostics"]


@pytest.mark.parametrize(
    "resource",
    [
        "https://outlook.office365.com",
        "https://outlook.office365.com/",
        "https://outlook.office.com",
        "00000002-0000-0ff1-ce00-000000000000",
    ],
)
async def test_every_exchange_audience_is_accepted(
    ews: EwsClient, sim_server: SimServer, resource: str
):
    """Tokens for outlook.office365.com, outlook.office.com and Exchange's app id all work."""
    reply = await ews.call(convert_id_body(), token=sim_server.app_token(resource=resource))
    assert reply.status == 200


@pytest.mark.parametrize("path", ["/ews/exchange.asmx", "/EWS/EXCHANGE.ASMX", "/Ews/Exchange.asmx"])
async def test_the_endpoint_path_is_case_insensitive(
    ews: EwsClient, sim_server: SimServer, path: str
):
    """IIS paths ignore case, so every spelling of /EWS/Exchange.asmx answers."""
    reply = await ews.post(envelope(convert_id_body()), token=sim_server.app_token(), path=path)
    assert reply.status == 200


async def test_get_is_refused_after_authentication(ews: EwsClient, sim_server: SimServer):
    """EWS takes POST only: GET without a token is challenged, with one it is 405."""
    assert (await ews.post(b"", token=None, method="GET")).status == 401
    reply = await ews.post(b"", token=sim_server.app_token(), method="GET")
    assert reply.status == 405


# --- envelopes ---------------------------------------------------------------------------------


async def test_malformed_xml_gets_a_schema_validation_fault_shaped_like_exchanges(
    ews: EwsClient, sim_server: SimServer
):
    """Not well-formed: HTTP 500 `a:ErrorSchemaValidation` with line, position and violation,
    the element layout of ErrorSchemaValidation-FindConversation.fault.xml."""
    reply = await ews.post(b"<s:Envelope><oops", token=sim_server.app_token())
    assert reply.status == 500
    assert reply.fault_code == "ErrorSchemaValidation"
    fault = reply.root.find(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault")
    assert fault is not None
    assert fault.findtext("faultcode") == "a:ErrorSchemaValidation"
    assert fault.find("faultcode").nsmap["a"] == T_NS
    assert fault.findtext("faultstring", "").startswith("The request failed schema validation: ")
    detail = fault.find("detail")
    assert detail.findtext(f"{{{E_NS}}}Message") == "The request failed schema validation."
    names = [etree.QName(el).localname for el in detail.find(f"{{{T_NS}}}MessageXml")]
    sample = etree.parse(str(SAMPLES_DIR / "ErrorSchemaValidation-FindConversation.fault.xml"))
    sample_names = [
        etree.QName(el).localname for el in sample.getroot().iter(f"{{{T_NS}}}MessageXml")
    ]
    expected = ["LineNumber", "LinePosition", "Violation"]
    assert names == expected
    if sample_names:  # the sample's MessageXml element itself
        sample_children = next(sample.getroot().iter(f"{{{T_NS}}}MessageXml"))
        assert [etree.QName(el).localname for el in sample_children] == expected


async def test_a_dtd_is_refused_without_expanding_entities(ews: EwsClient, sim_server: SimServer):
    """A DOCTYPE (the door to entity bombs and external entities) is refused outright."""
    data = (
        b'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x "xxxxxxxx">]>'
        + envelope(convert_id_body()).split(b"?>", 1)[1]
    )
    reply = await ews.post(data, token=sim_server.app_token())
    assert reply.status == 500
    assert reply.fault_code == "ErrorSchemaValidation"
    assert b"DTD is prohibited" in reply.body


async def test_a_body_element_that_is_no_ews_operation_fails_schema_validation(ews: EwsClient):
    """A body child outside the EWS operations is refused as the schema would refuse it."""
    reply = await ews.call("<m:MakeCoffee/>")
    assert reply.status == 500
    assert reply.fault_code == "ErrorSchemaValidation"
    assert b"has invalid child element 'MakeCoffee'" in reply.body


async def test_an_ews_operation_the_simulator_lacks_gets_error_invalid_operation(
    ews: EwsClient, temporary_operation: Any
):
    """An operation EWS has but the simulator does not: `ErrorInvalidOperation`, named."""
    temporary_operation("GetPasswordExpirationDate", None)
    reply = await ews.call(PASSWORD_EXPIRATION)
    assert reply.status == 500
    assert reply.fault_code == "ErrorInvalidOperation"
    assert b"does not implement the EWS operation GetPasswordExpirationDate" in reply.body


async def test_an_empty_body_is_an_invalid_request(ews: EwsClient, sim_server: SimServer):
    """No envelope at all: `ErrorInvalidRequest`."""
    reply = await ews.post(b"", token=sim_server.app_token())
    assert reply.status == 500
    assert reply.fault_code == "ErrorInvalidRequest"


async def test_an_oversized_request_is_refused_with_413(ews: EwsClient, sim_server: SimServer):
    """Bodies over the size limit never reach the parser."""
    reply = await ews.post(b" " * (MAX_REQUEST_BYTES + 1), token=sim_server.app_token())
    assert reply.status == 413


async def test_a_schema_invalid_request_gets_the_first_violation(
    ews: EwsClient, sim_server: SimServer
):
    """With the EWS schemas loaded, requests are validated as Exchange does."""
    if sim_server.sim.request_schema is None:
        pytest.skip("the EWS schemas are not available, so requests are not validated")
    reply = await ews.call('<m:ConvertId DestinationFormat="Nonsense"><m:SourceIds/></m:ConvertId>')
    assert reply.status == 500
    assert reply.fault_code == "ErrorSchemaValidation"
    assert reply.root.find(f".//{{{T_NS}}}LineNumber").text != "0"


# --- SOAP headers ------------------------------------------------------------------------------


async def test_a_response_carries_exchange_onlines_server_version_info(ews: EwsClient):
    """`s:Header/h:ServerVersionInfo` 15.20 with Version V2018_01_08, prefixes as EXO writes."""
    reply = await ews.call(convert_id_body())
    assert reply.body.startswith(b'<?xml version="1.0" encoding="utf-8"?><s:Envelope')
    info = reply.root.find(f"{{{SOAP_NS}}}Header/{{{T_NS}}}ServerVersionInfo")
    assert info is not None
    assert info.prefix == "h"
    assert (info.get("MajorVersion"), info.get("MinorVersion")) == ("15", "20")
    assert info.get("Version") == "V2018_01_08"
    assert reply.body_child.prefix == "m"
    assert reply.headers["Content-Type"] == "text/xml; charset=utf-8"


@pytest.mark.parametrize("version", ["Exchange2016", "Exchange2013_SP1", " Exchange2007_SP1", None])
async def test_request_server_version_is_checked_leniently(ews: EwsClient, version: str | None):
    """Every real version (even with stray spaces) and no header at all are accepted."""
    reply = await ews.call(convert_id_body(), version=version)
    assert reply.status == 200


async def test_an_unknown_request_server_version_is_an_invalid_request(ews: EwsClient):
    """`Exchange2019` is no EWS version: Exchange answers ErrorInvalidRequest."""
    reply = await ews.call(convert_id_body(), version="Exchange2019")
    assert reply.status == 500
    assert reply.fault_code == "ErrorInvalidRequest"


async def test_an_app_token_without_impersonation_gets_exchanges_exact_refusal(ews: EwsClient):
    """App-only token, no ExchangeImpersonation: the fault Exchange Online sends."""
    reply = await ews.call(convert_id_body(), impersonate=None)
    assert reply.status == 500
    assert reply.fault_code == "ErrorInvalidExchangeImpersonationHeaderData"
    fault = reply.root.find(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault")
    assert fault.findtext("faultstring") == (
        "ExchangeImpersonation SOAP header must be present for this type of OAuth token."
    )


async def test_a_user_token_with_an_impersonation_header_is_refused(
    ews: EwsClient, sim_server: SimServer
):
    """Delegated tokens must not impersonate."""
    reply = await ews.call(convert_id_body(), token=sim_server.user_token())
    assert reply.fault_code == "ErrorInvalidExchangeImpersonationHeaderData"
    assert b"must not exist for this type of OAuth token" in reply.body


async def test_a_user_token_works_on_the_users_own_mailbox(ews: EwsClient, sim_server: SimServer):
    """Delegated token, no impersonation: the request acts on the user's mailbox."""
    reply = await ews.call(convert_id_body(), impersonate=None, token=sim_server.user_token())
    assert reply.status == 200


@pytest.mark.parametrize("kind", ["PrimarySmtpAddress", "SmtpAddress", "PrincipalName"])
async def test_every_smtp_like_connecting_sid_names_the_mailbox(
    ews: EwsClient, sim_server: SimServer, kind: str
):
    """PrimarySmtpAddress, SmtpAddress and PrincipalName (UPN) all impersonate."""
    data = envelope(convert_id_body(), impersonate=ALICE.upper(), impersonation_kind=kind)
    reply = await ews.post(data, token=sim_server.app_token())
    assert reply.status == 200


@pytest.mark.parametrize("who", ["nobody@contoso.com", "CONTOSO\\alice"])
async def test_impersonating_no_mailbox_gets_error_non_existent_mailbox(ews: EwsClient, who: str):
    """An address without a mailbox (or a domain\\user name): the fault with `SmtpAddress`."""
    reply = await ews.call(convert_id_body(), impersonate=who)
    assert reply.status == 500
    assert reply.fault_code == "ErrorNonExistentMailbox"
    assert fault_detail(reply, "SmtpAddress") == who


async def test_a_sid_names_no_mailbox_in_the_simulated_tenant(
    ews: EwsClient, sim_server: SimServer
):
    """The simulated tenant has no SIDs: a SID impersonates nobody."""
    data = envelope(convert_id_body(), impersonate="S-1-5-21-1-2-3-1104", impersonation_kind="SID")
    reply = await ews.post(data, token=sim_server.app_token())
    assert reply.fault_code == "ErrorNonExistentMailbox"


async def test_an_empty_connecting_sid_is_invalid_header_data(
    ews: EwsClient, sim_server: SimServer
):
    """A ConnectingSID without an identifier is refused."""
    data = envelope(
        convert_id_body(),
        impersonate=None,
        extra_headers="<t:ExchangeImpersonation><t:ConnectingSID/></t:ExchangeImpersonation>",
    )
    reply = await ews.post(data, token=sim_server.app_token())
    assert reply.fault_code == "ErrorInvalidExchangeImpersonationHeaderData"


async def test_a_scoped_app_reaches_mailboxes_in_its_scope_only(
    ews: EwsClient, sim_server: SimServer
):
    """RBAC for Applications: in scope works; out of scope is ErrorImpersonateUserDenied."""
    token = sim_server.app_token(VMRSCHED_APP)
    inside = await ews.call(convert_id_body(), impersonate=VMR, token=token)
    outside = await ews.call(convert_id_body(), impersonate=DAVE, token=token)
    assert inside.status == 200
    assert outside.status == 500
    assert outside.fault_code == "ErrorImpersonateUserDenied"


async def test_a_mailbox_with_ews_switched_off_answers_403(ews: EwsClient):
    """Set-CASMailbox -EwsEnabled $false: a bare HTTP 403, no SOAP body."""
    reply = await ews.call(convert_id_body(), impersonate="erin@contoso.com")
    assert reply.status == 403
    assert reply.body == b""


async def test_the_context_carries_headers_and_the_authorized_mailbox(
    ews: EwsClient, temporary_operation: Any
):
    """The operation sees the mailbox, version, time zone and anchor mailbox of the request."""
    seen: dict[str, Any] = {}

    async def probe(ctx: EwsContext, request: Element) -> Element:
        seen.update(
            mailbox=ctx.mailbox,
            version=ctx.request_version,
            tz=ctx.time_zone_id,
            anchor=ctx.headers.anchor_mailbox,
            kind=ctx.principal.kind,
            impersonation=ctx.headers.impersonation,
        )
        return password_expiration_response()

    temporary_operation("GetPasswordExpirationDate", probe)
    tz = '<t:TimeZoneContext><t:TimeZoneDefinition Id="W. Europe Standard Time"/></t:TimeZoneContext>'
    await ews.call(
        PASSWORD_EXPIRATION,
        impersonate="Alice@Contoso.com",
        version="Exchange2013",
        extra_headers=tz,
        http_headers={"X-AnchorMailbox": "Alice@Contoso.com"},
    )
    assert seen["mailbox"] == ALICE
    assert seen["version"] == "Exchange2013"
    assert seen["tz"] == "W. Europe Standard Time"
    assert seen["anchor"] == "Alice@Contoso.com"
    assert seen["kind"] == "app"
    assert seen["impersonation"].kind == "PrimarySmtpAddress"


# --- dispatch and error shapes ----------------------------------------------------------------


async def test_an_operation_that_crashes_gets_error_internal_server_error(
    ews: EwsClient, temporary_operation: Any
):
    """An unexpected exception inside an operation: HTTP 500 `ErrorInternalServerError`."""

    async def crash(ctx: EwsContext, request: Element) -> Element:
        raise RuntimeError("boom")

    temporary_operation("ConvertId", crash)
    reply = await ews.call(convert_id_body())
    assert reply.status == 500
    assert reply.fault_code == "ErrorInternalServerError"


@pytest.mark.parametrize("error", [EwsError("ErrorItemNotFound"), ItemNotFound("x")])
async def test_an_escaped_item_error_becomes_one_error_response_message(
    ews: EwsClient, temporary_operation: Any, error: Exception
):
    """EwsError or a store error escaping an operation: one `ResponseClass="Error"` message."""

    async def fail(ctx: EwsContext, request: Element) -> Element:
        raise error

    temporary_operation("ConvertId", fail)
    reply = await ews.call(convert_id_body())
    assert reply.status == 200
    assert reply.response_classes() == ["Error"]
    assert reply.response_codes() == ["ErrorItemNotFound"]
    text = reply.root.find(f".//{{{M_NS}}}MessageText").text
    assert text == "The specified object was not found in the store."


async def test_a_streaming_operation_writes_several_envelopes_in_one_chunked_answer(
    ews: EwsClient, temporary_operation: Any
):
    """Streaming plumbing for GetStreamingEvents: one HTTP answer, one envelope per batch."""

    async def stream(ctx: EwsContext, request: Element) -> None:
        for _ in range(2):
            response = m("GetStreamingEventsResponse")
            msg = response_message(msub(response, "ResponseMessages"), "GetStreamingEvents")
            msub(msg, "ConnectionStatus", "OK")
            await ctx.send_envelope(response)
        await ctx.close_stream()

    temporary_operation("GetStreamingEvents", stream, streaming=True)
    body = (
        "<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>abc</t:SubscriptionId>"
        "</m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>"
    )
    reply = await ews.call(body)
    assert reply.status == 200
    assert reply.headers.get("Transfer-Encoding") == "chunked"
    assert reply.body.count(b"<s:Envelope") == 2


# --- ConvertId ---------------------------------------------------------------------------------


async def test_exchangelibs_version_probe_gets_error_invalid_smtp_address(ews: EwsClient):
    """ConvertId of "DUMMY" in mailbox "DUMMY" answers like ConvertId-ErrorInvalidSmtpAddress."""
    reply = await ews.call(convert_id_body())
    assert reply.status == 200
    assert reply.response_codes() == ["ErrorInvalidSmtpAddress"]
    message = reply.root.find(f".//{{{M_NS}}}ConvertIdResponseMessage")
    children = [etree.QName(el).localname for el in message]
    assert children == ["MessageText", "ResponseCode", "DescriptiveLinkKey"]


def test_exchangelib_guesses_the_version_through_the_token_endpoint_and_convert_id(
    sim_server: SimServer, monkeypatch: pytest.MonkeyPatch
):
    """exchangelib, unmodified: client-credentials token from the simulator, then its
    ConvertId version probe, and it reads build 15.20 = API Exchange2016."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sim_server.ca_file))
    token_url = sim_server.server.token_endpoint

    class SimCredentials(OAuth2Credentials):
        @property
        def token_url(self) -> str:
            return token_url

    credentials = SimCredentials(
        client_id=LEGACY_APP,
        client_secret="demo-legacy-room-sync-not-real",
        tenant_id=sim_server.sim.tenant.tenant_id,
        identity=Identity(primary_smtp_address=ALICE),
    )
    config = Configuration(
        service_endpoint=sim_server.ews_url, credentials=credentials, auth_type=OAUTH2
    )
    CachingProtocol.clear_cache()
    protocol = BaseProtocol(config=config)
    try:
        version = Version.guess(protocol)
    finally:
        protocol.close()
        CachingProtocol.clear_cache()
    assert (version.build.major_version, version.build.minor_version) == (15, 20)
    assert version.api_version == "Exchange2016"
    counters = sim_server.knobs.counters()
    assert counters["token"]["requests"] == 1
    assert counters["ews"]["ConvertId"] >= 1


@pytest.mark.parametrize(
    "fmt", ["EwsId", "EwsLegacyId", "EntryId", "HexEntryId", "StoreId", "OwaId"]
)
async def test_convert_id_round_trips_a_store_id_through_every_format(
    ews: EwsClient, sim_server: SimServer, fmt: str
):
    """A real folder id converted to each format and back comes home unchanged."""
    inbox = sim_server.sim.store.folder(ALICE, "inbox").id
    there = await ews.call(convert_id_body(inbox, ALICE, "EwsId", fmt))
    assert there.response_codes() == ["NoError"]
    alternate = there.root.find(f".//{{{M_NS}}}AlternateId")
    assert alternate.get("Format") == fmt
    assert alternate.get("Mailbox") == ALICE
    back = await ews.call(convert_id_body(alternate.get("Id"), ALICE, fmt, "EwsId"))
    assert back.root.find(f".//{{{M_NS}}}AlternateId").get("Id") == inbox


def test_hex_entry_ids_are_upper_case_hex_of_the_entry_id(sim_server: SimServer):
    """HexEntryId and EntryId carry the same bytes."""
    inbox = sim_server.sim.store.folder(ALICE, "inbox").id
    entry = base64.b64decode(from_ews_id(inbox, "EntryId", ALICE))
    assert from_ews_id(inbox, "HexEntryId", ALICE) == entry.hex().upper()
    assert to_ews_id(entry.hex(), "HexEntryId", ALICE) == inbox


async def test_convert_id_answers_each_id_on_its_own(ews: EwsClient, sim_server: SimServer):
    """A batch mixes successes and per-item errors, in order."""
    inbox = sim_server.sim.store.folder(ALICE, "inbox").id
    body = (
        '<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds>'
        f'<t:AlternateId Format="EwsId" Id="{inbox}" Mailbox="{ALICE}"/>'
        f'<t:AlternateId Format="EwsId" Id="bm90IGFuIGlk" Mailbox="{ALICE}"/>'
        '<t:AlternateId Format="EwsId" Id="x" Mailbox="ghost@contoso.com"/>'
        '<t:AlternatePublicFolderId Format="EwsId" FolderId="x"/>'
        f'<t:AlternateId Format="EntryId" Id="{base64.b64encode(b"short").decode()}" Mailbox="{ALICE}"/>'
        "</m:SourceIds></m:ConvertId>"
    )
    reply = await ews.call(body)
    assert reply.response_codes() == [
        "NoError",
        "ErrorInvalidIdMalformed",
        "ErrorNonExistentMailbox",
        "ErrorNoPublicFolderReplicaAvailable",
        "ErrorInvalidIdMalformed",
    ]


async def test_an_id_of_another_mailbox_does_not_convert_as_this_one(
    ews: EwsClient, sim_server: SimServer
):
    """Entry ids carry the mailbox: Alice's cannot be read as Bob's."""
    inbox = sim_server.sim.store.folder(ALICE, "inbox").id
    entry = from_ews_id(inbox, "EntryId", ALICE)
    reply = await ews.call(convert_id_body(entry, "bob@contoso.com", "EntryId", "EwsId"))
    assert reply.response_codes() == ["ErrorInvalidIdMalformed"]


def test_sample_folder_is_where_the_harness_expects_it():
    """The conformance samples the framework tests compare against are present."""
    if not SAMPLES_DIR.is_dir():
        pytest.skip(f"no conformance samples at {SAMPLES_DIR}")
    assert (SAMPLES_DIR / "ErrorServerBusy.fault.xml").is_file()
    assert isinstance(SAMPLES_DIR, Path)


async def test_the_client_session_reuses_connections_after_a_401(sim_server: SimServer):
    """A 401 leaves the connection open (EXO keeps it alive; exchangelib treats a close as busy)."""
    connector = aiohttp.TCPConnector(ssl=sim_server.ssl_context(), limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(2):
            async with session.post(sim_server.ews_url, data=envelope(convert_id_body())) as r:
                assert r.status == 401
                await r.read()
        assert len(connector._conns) == 1


# --- XML values ----------------------------------------------------------------------------------


def test_datetimes_are_written_as_exchange_writes_them():
    """UTC, whole seconds, `Z`; naive datetimes are refused."""
    berlin = timezone(timedelta(hours=1))
    assert format_datetime(datetime(2026, 11, 23, 11, 0, 0, 123456, tzinfo=berlin)) == (
        "2026-11-23T10:00:00Z"
    )
    assert format_datetime(datetime(2026, 11, 23, 10, tzinfo=UTC)) == "2026-11-23T10:00:00Z"
    with pytest.raises(ValueError, match="naive"):
        format_datetime(datetime(2026, 11, 23, 10))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T10:00:00Z", "2026-11-23T10:00:00+00:00"),
        ("2026-11-23T10:00:00.0000000Z", "2026-11-23T10:00:00+00:00"),
        ("2016-04-01T05:30:00.000+00:00", "2016-04-01T05:30:00+00:00"),
        ("2026-11-23T11:00:00.1234567+01:00", "2026-11-23T11:00:00.123456+01:00"),
        ("2026-11-23T10:00:00", "2026-11-23T10:00:00+00:00"),
    ],
)
def test_client_datetimes_are_parsed_in_every_form_clients_send(text: str, expected: str):
    """Zones, offsets, 7-digit fractions; zone-less values in the default zone (UTC here)."""
    assert parse_datetime(text).isoformat() == expected


@pytest.mark.parametrize(
    ("minutes", "text"), [(0, "PT0M"), (-480, "-PT8H"), (330, "PT5H30M"), (60 * 25, "P1DT1H")]
)
def test_durations_round_trip(minutes: int, text: str):
    """Time-zone biases as `xs:duration`."""
    assert format_duration(timedelta(minutes=minutes)) == text
    assert parse_duration(text) == timedelta(minutes=minutes)
