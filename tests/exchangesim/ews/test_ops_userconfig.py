"""User configuration objects ([MS-OXWSUSRCFG]) through exchangelib, unmodified: the CRUD cycle
exchangelib's own suite runs against a real server, the errors it expects there, and the calendar
options dictionary ([MS-OXOCFG]) that carries a resource's AutomateProcessing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from exchangelib.errors import ErrorItemNotFound, ErrorItemSave
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from harness import (
    ALICE,
    LEGACY_APP,
    SCHEMA_MISSING,
    VMR,
    EwsClient,
    load_schema,
    response_problems,
    schema_available,
)

from exchangesim.ews.xml import T_NS
from exchangesim.sim import ResponseRecord

if TYPE_CHECKING:
    from exchangelib_client import AccountFactory
    from harness import SimServer


def test_a_configuration_is_created_read_updated_and_deleted(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """exchangelib's CRUD cycle: absent → created with typed values → read back equal → a second
    create is ErrorItemSave → not visible from another folder → updated part by part → deleted."""
    account = exchangelib_accounts(fresh_server, ALICE)
    folder = account.inbox
    with pytest.raises(ErrorItemNotFound):
        folder.get_user_configuration(name="Test.Config")
    when = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)
    dictionary = {"name": "value", 7: True, "when": when, "list": ("a", "b"), b"raw": 255}
    folder.create_user_configuration(
        name="Test.Config", dictionary=dictionary, xml_data=b"<a>1</a>", binary_data=b"\x00\x01"
    )
    config = folder.get_user_configuration(name="Test.Config")
    assert config.dictionary == dictionary
    assert (config.xml_data, config.binary_data) == (b"<a>1</a>", b"\x00\x01")
    with pytest.raises(ErrorItemSave):
        folder.create_user_configuration(name="Test.Config")
    with pytest.raises(ErrorItemNotFound):
        account.drafts.get_user_configuration(name="Test.Config")

    folder.update_user_configuration(name="Test.Config", dictionary={"b": False})
    config = folder.get_user_configuration(name="Test.Config", properties="Dictionary")
    assert config.dictionary == {"b": False}
    assert config.xml_data is None  # not asked for
    assert folder.get_user_configuration(name="Test.Config").xml_data == b"<a>1</a>"

    folder.delete_user_configuration(name="Test.Config")
    with pytest.raises(ErrorItemNotFound):
        folder.get_user_configuration(name="Test.Config")


def test_times_read_back_in_utc_whole_seconds(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """A DateTime value written with a fraction and an offset reads back as EWS writes times
    (UTC, whole seconds), the only form exchangelib parses."""
    account = exchangelib_accounts(fresh_server, ALICE)
    written = datetime(2027, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    account.inbox.create_user_configuration(name="Times", dictionary={"when": written})
    config = account.inbox.get_user_configuration(name="Times")
    assert config.dictionary["when"] == written.replace(microsecond=0)


def test_configurations_are_not_items_of_their_folder(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """A configuration object is folder-associated: FindItem in its folder does not list it."""
    account = exchangelib_accounts(fresh_server, ALICE)
    account.drafts.create_user_configuration(name="Hidden.One", dictionary={"k": "v"})
    assert list(account.drafts.all()) == []


@pytest.mark.parametrize(
    ("mailbox", "expected"), [(VMR, 0), ("boardroom@contoso.com", 2), (ALICE, 1)]
)
def test_the_calendar_options_carry_automate_processing(
    sim_server: SimServer, exchangelib_accounts: AccountFactory, mailbox: str, expected: int
) -> None:
    """The Calendar folder's ``Calendar`` object holds AutomateProcessing as [MS-OXOCFG] codes
    it: the VMR resource None (0), a room at Exchange's default AutoAccept (2), a user
    AutoUpdate (1)."""
    account = exchangelib_accounts(sim_server, mailbox, LEGACY_APP)
    config = account.calendar.get_user_configuration(name="Calendar", properties="Dictionary")
    assert config.dictionary["AutomateProcessing"] == expected


async def test_raw_answers_validate_against_the_schema(sim_server: SimServer) -> None:
    """A GetUserConfiguration answer (a nil value included) validates against the EWS schema."""
    if not schema_available():
        pytest.skip(SCHEMA_MISSING)
    body = (
        '<m:GetUserConfiguration><m:UserConfigurationName Name="Calendar">'
        '<t:DistinguishedFolderId Id="calendar"/></m:UserConfigurationName>'
        "<m:UserConfigurationProperties>All</m:UserConfigurationProperties>"
        "</m:GetUserConfiguration>"
    )
    async with EwsClient(sim_server) as ews:
        reply = await ews.call(body, impersonate=VMR)
    assert (
        response_problems(
            ResponseRecord("GetUserConfiguration", reply.status, reply.body), load_schema()
        )
        == []
    )
    keys = [el.text for el in reply.root.iter(f"{{{T_NS}}}Value")]
    assert "AutomateProcessing" in keys
