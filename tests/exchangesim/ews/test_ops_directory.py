"""The directory and miscellaneous operations: ResolveNames, ExpandDL, GetRoomLists, GetRooms,
GetPasswordExpirationDate, GetServerTimeZones, and the attachment operations over a store that
keeps no attachments.

exchangelib, unmodified, calls them through `account.protocol` (which impersonates the account's
mailbox, as Exchange Online requires of app-only callers); the shapes exchangelib hides (warning
messages, paging attributes, error codes) are checked on raw SOAP answers, which are validated
against the EWS schema here (the session collector validates every answer again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from exchangelib.errors import ErrorNameResolutionNoResults
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from harness import ALICE, SCHEMA_MISSING, VMR, EwsClient, load_schema, schema_available

from exchangesim.ews.ops_directory import DirectoryEntry, resolves
from exchangesim.ews.xml import M_NS, T_NS
from exchangesim.store import Body, Message

if TYPE_CHECKING:
    from exchangelib_client import AccountFactory
    from harness import EwsReply, SimServer

T = f"{{{T_NS}}}"
M = f"{{{M_NS}}}"
SCHEDULERS = "vmr-schedulers@contoso.com"
DESIGN = "design-team@contoso.com"


def assert_valid(reply: EwsReply) -> None:
    """The answer's body element validates against the EWS schema."""
    if not schema_available():
        pytest.skip(SCHEMA_MISSING)
    schema = load_schema()
    assert schema.validate(reply.body_child), [e.message for e in schema.error_log][:3]


def resolve_body(entry: str, *, full: bool = False, scope: str | None = None) -> str:
    """A ResolveNames body."""
    scope_attr = f' SearchScope="{scope}"' if scope else ""
    return (
        f'<m:ResolveNames ReturnFullContactData="{str(full).lower()}"{scope_attr}>'
        f"<m:UnresolvedEntry>{entry}</m:UnresolvedEntry></m:ResolveNames>"
    )


# --- ResolveNames ------------------------------------------------------------------------------


def test_exchangelib_resolves_a_name_prefix_to_one_mailbox(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """`protocol.resolve_names(["ali"])` finds Alice by the prefix of her name."""
    alice = exchangelib_accounts(sim_server, ALICE)
    [found] = alice.protocol.resolve_names(["ali"])
    assert (found.name, found.email_address, found.routing_type, found.mailbox_type) == (
        "Alice Wilber",
        ALICE,
        "SMTP",
        "Mailbox",
    )


def test_exchangelib_gets_every_candidate_of_an_ambiguous_name(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """An ambiguous prefix ("bo": Bob Kelly and the Boardroom) gives every candidate, sorted by
    name; exchangelib ignores the ErrorNameResolutionMultipleResults warning, as it should."""
    alice = exchangelib_accounts(sim_server, ALICE)
    found = alice.protocol.resolve_names(["bo"])
    assert [f.name for f in found] == ["Boardroom", "Bob Kelly"]


def test_exchangelib_resolves_groups_surnames_and_smtp_addresses(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """A group resolves as a PublicDL, a surname and a full address resolve, and `smtp:` asks
    for that exact address."""
    alice = exchangelib_accounts(sim_server, ALICE)
    [group] = alice.protocol.resolve_names(["VMR Sched"])
    assert (group.email_address, group.mailbox_type) == (SCHEDULERS, "PublicDL")
    [by_surname] = alice.protocol.resolve_names(["wilber"])
    assert by_surname.email_address == ALICE
    [by_smtp] = alice.protocol.resolve_names([f"SMTP:{VMR}"])
    assert by_smtp.name == "Video Meeting Room"


def test_exchangelib_sees_no_results_as_an_error(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """A name nobody has comes back as exchangelib's ErrorNameResolutionNoResults."""
    alice = exchangelib_accounts(sim_server, ALICE)
    [result] = alice.protocol.resolve_names(["zzz-nobody"])
    assert isinstance(result, ErrorNameResolutionNoResults)


def test_exchangelib_gets_directory_contact_data_when_asked(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """`return_full_contact_data=True` adds the directory's contact: display name, SMTP address,
    alias, ContactSource ActiveDirectory."""
    alice = exchangelib_accounts(sim_server, ALICE)
    [(mailbox, contact)] = alice.protocol.resolve_names(["carol"], return_full_contact_data=True)
    assert mailbox.email_address == "carol@contoso.com"
    assert contact.display_name == "Carol Ortiz"
    assert contact.contact_source == "ActiveDirectory"
    assert [e.email for e in contact.email_addresses] == ["SMTP:carol@contoso.com"]


def test_exchangelib_search_scope_contacts_finds_nothing(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """The store keeps no contact items, so SearchScope Contacts never resolves a name."""
    alice = exchangelib_accounts(sim_server, ALICE)
    [result] = alice.protocol.resolve_names(["alice"], search_scope="Contacts")
    assert isinstance(result, ErrorNameResolutionNoResults)


async def test_ambiguous_names_answer_the_captured_warning_shape(ews: EwsClient) -> None:
    """Several matches: ResponseClass Warning, ErrorNameResolutionMultipleResults, its text,
    DescriptiveLinkKey, and a ResolutionSet with TotalItemsInView/IncludesLastItemInRange, as in
    ResolveNames-WarningNameResolutionMultipleResults-*.response.xml."""
    reply = await ews.call(resolve_body("bo", full=True))
    assert_valid(reply)
    message = reply.body_child.find(f"{M}ResponseMessages/{M}ResolveNamesResponseMessage")
    assert message is not None
    assert message.get("ResponseClass") == "Warning"
    assert [el.tag.split("}")[1] for el in message] == [
        "MessageText",
        "ResponseCode",
        "DescriptiveLinkKey",
        "ResolutionSet",
    ]
    assert message.findtext(f"{M}ResponseCode") == "ErrorNameResolutionMultipleResults"
    assert message.findtext(f"{M}MessageText") == "Multiple results were found."
    resolution_set = message.find(f"{M}ResolutionSet")
    assert resolution_set is not None
    assert resolution_set.attrib == {"TotalItemsInView": "2", "IncludesLastItemInRange": "true"}
    contact = resolution_set.find(f"{T}Resolution/{T}Contact")
    assert contact is not None
    assert contact.findtext(f"{T}ContactSource") == "ActiveDirectory"


async def test_no_results_is_an_error_message(ews: EwsClient) -> None:
    """No match: ResponseClass Error, ErrorNameResolutionNoResults, "No results were found."."""
    reply = await ews.call(resolve_body("qqq"))
    assert_valid(reply)
    assert reply.response_classes() == ["Error"]
    assert reply.response_codes() == ["ErrorNameResolutionNoResults"]
    assert reply.root.findtext(f".//{M}MessageText") == "No results were found."


def test_resolution_matches_prefixes_of_names_alias_and_address() -> None:
    """Ambiguous name resolution: prefixes of the name, of its words, of the alias and of the
    address match; `smtp:` matches the whole address only; nothing matches an empty entry."""
    entry = DirectoryEntry("grace@contoso.com", "Grace Taylor", "Mailbox", "")
    for text in ("gra", "GRACE T", "tay", "grace@", "grace@contoso.com", "smtp:Grace@Contoso.com"):
        assert resolves(entry, text), text
    for text in ("race", "smtp:grace", "contoso", "  "):
        assert not resolves(entry, text), text


# --- ExpandDL ----------------------------------------------------------------------------------


def test_exchangelib_expands_a_group_without_expanding_nested_groups(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """`protocol.expand_dl(group)` lists its direct members with MailboxType; the nested Design
    Team is a PublicDL member, and its own member Grace is not listed."""
    alice = exchangelib_accounts(sim_server, ALICE)
    members = alice.protocol.expand_dl(SCHEDULERS)
    by_address = {m.email_address: m.mailbox_type for m in members}
    assert by_address == {
        "alice@contoso.com": "Mailbox",
        "bob@contoso.com": "Mailbox",
        "carol@contoso.com": "Mailbox",
        "erin@contoso.com": "Mailbox",
        VMR: "Mailbox",
        DESIGN: "PublicDL",
    }
    assert [m.name for m in members] == sorted(m.name for m in members)
    [grace] = alice.protocol.expand_dl(DESIGN)
    assert grace.email_address == "grace@contoso.com"


def test_exchangelib_expanding_a_mailbox_finds_no_group(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """A mailbox (or unknown) address is not a distribution list: ErrorNameResolutionNoResults."""
    alice = exchangelib_accounts(sim_server, ALICE)
    with pytest.raises(ErrorNameResolutionNoResults):
        alice.protocol.expand_dl(ALICE)


async def test_expand_dl_answers_the_documented_shapes(ews: EwsClient) -> None:
    """ExpandDL's success carries DLExpansion with its paging attributes; a private-list ItemId
    is malformed or not found (the store keeps no contact lists)."""
    ok = await ews.call(
        f"<m:ExpandDL><m:Mailbox><t:EmailAddress>{DESIGN}</t:EmailAddress></m:Mailbox></m:ExpandDL>"
    )
    assert_valid(ok)
    expansion = ok.root.find(f".//{M}DLExpansion")
    assert expansion is not None
    assert expansion.attrib == {"TotalItemsInView": "1", "IncludesLastItemInRange": "true"}
    assert expansion.findtext(f"{T}Mailbox/{T}MailboxType") == "Mailbox"
    malformed = await ews.call(
        '<m:ExpandDL><m:Mailbox><t:ItemId Id="not-an-id"/></m:Mailbox></m:ExpandDL>'
    )
    assert_valid(malformed)
    assert malformed.response_codes() == ["ErrorInvalidIdMalformed"]


# --- rooms -------------------------------------------------------------------------------------


def test_exchangelib_sees_no_room_lists(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """The tenant model has no room lists: `get_roomlists()` is empty and `get_rooms()` of any
    address raises ErrorNameResolutionNoResults, as Exchange answers for a non-room-list."""
    alice = exchangelib_accounts(sim_server, ALICE)
    assert list(alice.protocol.get_roomlists()) == []
    with pytest.raises(ErrorNameResolutionNoResults):
        list(alice.protocol.get_rooms(SCHEDULERS))


async def test_room_operations_answer_schema_valid_shapes(ews: EwsClient) -> None:
    """GetRoomLists answers Success with an empty RoomLists; GetRooms the documented error."""
    lists = await ews.call("<m:GetRoomLists/>")
    assert_valid(lists)
    assert lists.body_child.get("ResponseClass") == "Success"
    rooms = await ews.call(
        "<m:GetRooms><m:RoomList><t:EmailAddress>x@contoso.com</t:EmailAddress></m:RoomList>"
        "</m:GetRooms>"
    )
    assert_valid(rooms)
    assert rooms.body_child.get("ResponseClass") == "Error"
    assert rooms.response_codes() == ["ErrorNameResolutionNoResults"]


# --- GetPasswordExpirationDate -----------------------------------------------------------------


async def test_passwords_never_expire(ews: EwsClient) -> None:
    """GetPasswordExpirationDate answers Exchange Online's never-expires date, for the named
    mailbox or, without one, for the impersonated mailbox."""
    for body in (
        (
            "<m:GetPasswordExpirationDate><m:MailboxSmtpAddress>bob@contoso.com"
            "</m:MailboxSmtpAddress></m:GetPasswordExpirationDate>"
        ),
        "<m:GetPasswordExpirationDate/>",
    ):
        reply = await ews.call(body)
        assert_valid(reply)
        assert reply.root.findtext(f".//{M}PasswordExpirationDate") == (
            "9999-12-31T23:59:59.9999999"
        )


async def test_password_expiration_of_an_unknown_address_is_a_fault(ews: EwsClient) -> None:
    """An address without a mailbox is the ErrorNonExistentMailbox fault (the response type
    has no room for an error without a date)."""
    reply = await ews.call(
        "<m:GetPasswordExpirationDate><m:MailboxSmtpAddress>nobody@contoso.com"
        "</m:MailboxSmtpAddress></m:GetPasswordExpirationDate>"
    )
    assert (reply.status, reply.fault_code) == (500, "ErrorNonExistentMailbox")


# --- GetServerTimeZones ------------------------------------------------------------------------


def test_exchangelib_reads_server_time_zones(
    sim_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """`protocol.get_timezones()` lists the server's zones; with full data, W. Europe has the
    last-Sunday switches of the captured sample and exchangelib derives its standard bias."""
    alice = exchangelib_accounts(sim_server, ALICE)
    names = {tz.id: tz.name for tz in alice.protocol.get_timezones()}
    assert names["W. Europe Standard Time"].startswith("(UTC+01:00) Amsterdam")
    assert "Pacific Standard Time" in names
    assert len(names) > 100
    [berlin] = alice.protocol.get_timezones(
        timezones=[_zone("Europe/Berlin")], return_full_timezone_data=True
    )
    standard, daylight, period = berlin.get_std_and_dst(for_year=2026)
    assert (period.bias_in_minutes, daylight.bias) == (-60, -60)
    assert (standard.iso_month, daylight.iso_month, standard.occurrence) == (10, 3, 5)


async def test_server_time_zones_answer_names_only_or_an_error(ews: EwsClient) -> None:
    """ReturnFullTimeZoneData false gives Id and Name only; an unknown id is ErrorTimeZone with
    the (required, empty) TimeZoneDefinitions."""
    names = await ews.call(
        '<m:GetServerTimeZones ReturnFullTimeZoneData="false"><m:Ids>'
        "<t:Id>Tokyo Standard Time</t:Id></m:Ids></m:GetServerTimeZones>"
    )
    assert_valid(names)
    [definition] = names.root.iter(f"{T}TimeZoneDefinition")
    assert (definition.get("Id"), len(definition)) == ("Tokyo Standard Time", 0)
    unknown = await ews.call(
        "<m:GetServerTimeZones><m:Ids><t:Id>Mars Standard Time</t:Id></m:Ids>"
        "</m:GetServerTimeZones>"
    )
    assert_valid(unknown)
    assert unknown.response_codes() == ["ErrorTimeZone"]


def _zone(name: str) -> object:
    from exchangelib import EWSTimeZone  # noqa: PLC0415 (exchangelib's own zone type)

    return EWSTimeZone(name)


# --- attachments -------------------------------------------------------------------------------


async def test_get_attachment_of_ids_that_name_nothing(ews: EwsClient) -> None:
    """The store keeps no attachments: a well-formed id is ErrorItemNotFound, a malformed one
    ErrorInvalidIdMalformed, one message per id with the required empty Attachments."""
    well_formed = "AAMkADQwYjI2NmQzLWRjOGItNDcyMC1iMWE2LWZiMWQxZTk0NDA5YwBGAAAAAAD7THPLlZw5QIg6"
    reply = await ews.call(
        f'<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="{well_formed}"/>'
        '<t:AttachmentId Id="%%%"/></m:AttachmentIds></m:GetAttachment>'
    )
    assert_valid(reply)
    assert reply.response_codes() == ["ErrorItemNotFound", "ErrorInvalidIdMalformed"]
    assert len(list(reply.root.iter(f"{M}Attachments"))) == 2
    deleted = await ews.call(
        f'<m:DeleteAttachment><m:AttachmentIds><t:AttachmentId Id="{well_formed}"/>'
        "</m:AttachmentIds></m:DeleteAttachment>"
    )
    assert_valid(deleted)
    assert deleted.response_codes() == ["ErrorItemNotFound"]


async def test_create_attachment_checks_the_parent_then_says_it_is_not_implemented(
    fresh_server: SimServer,
) -> None:
    """CreateAttachment: a missing parent is ErrorItemNotFound; on a real item the simulator
    refuses with the ErrorInvalidOperation fault instead of pretending to store the file."""
    gone = fresh_server.sim.store.create_item(ALICE, "drafts", Message(subject="gone"))
    fresh_server.sim.store.delete_item(gone.id, mode="HardDelete")
    draft = fresh_server.sim.store.create_item(
        ALICE, "drafts", Message(subject="with file", body=Body("Text", "x"))
    )
    file_attachment = (
        "<m:Attachments><t:FileAttachment><t:Name>a.txt</t:Name>"
        "<t:Content>c29tZSB0ZXh0</t:Content></t:FileAttachment></m:Attachments>"
    )
    async with EwsClient(fresh_server) as ews:
        missing = await ews.call(
            f'<m:CreateAttachment><m:ParentItemId Id="{gone.id}"/>{file_attachment}'
            "</m:CreateAttachment>"
        )
        real = await ews.call(
            f'<m:CreateAttachment><m:ParentItemId Id="{draft.id}"/>{file_attachment}'
            "</m:CreateAttachment>"
        )
    assert_valid(missing)
    assert missing.response_codes() == ["ErrorItemNotFound"]
    assert (real.status, real.fault_code) == (500, "ErrorInvalidOperation")
