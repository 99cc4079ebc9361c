"""UpdateFolder ([MS-OXWSFOLD] 3.1.4.8) on a folder's extended properties: through exchangelib,
unmodified (its documented ``Folder.register`` of an ``ExtendedProperty``), and raw SOAP for the
answers Exchange gives to what it refuses; one MAPI property that Graph reads too. Every answer
is schema-valid."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from exchangelib.extended_properties import ExtendedProperty
from exchangelib.folders import Folder
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from graph_harness import GraphClient
from harness import ALICE, SCHEMA_MISSING, VMR, EwsClient, load_schema, schema_available

from exchangesim.ews.xml import T_NS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from exchangelib_client import AccountFactory
    from harness import EwsReply, SimServer

GUID = "6e7c2b1a-5d3f-4c8e-9a0b-7f1e2d3c4b5a"
GRAPH_ID = f"String {{{GUID}}} Name vmrsched.installation"
URI = f'<t:ExtendedFieldURI PropertySetId="{GUID}" PropertyName="vmrsched.installation" '
URI += 'PropertyType="String"/>'


class Installation(ExtendedProperty):  # type: ignore[misc]  # exchangelib is untyped
    """The named property, as an exchangelib user declares one."""

    property_set_id = GUID
    property_name = "vmrsched.installation"
    property_type = "String"


@pytest.fixture
def registered() -> Iterator[None]:
    """``Folder.register`` (exchangelib's way for folders) for this test only."""
    Folder.register("installation", Installation)
    try:
        yield
    finally:
        Folder.deregister("installation")


def _valid(reply: EwsReply) -> None:
    if not schema_available():
        pytest.skip(SCHEMA_MISSING)
    schema = load_schema()
    assert schema.validate(reply.body_child), [e.message for e in schema.error_log][:3]


@pytest.mark.usefixtures("registered")
def test_exchangelib_sets_reads_and_deletes_a_folder_property(
    fresh_server: SimServer, exchangelib_accounts: AccountFactory
) -> None:
    """exchangelib unmodified: a registered property is absent, saved with ``update_fields``,
    read back by a fresh GetFolder, replaced, and deleted by saving None (DeleteFolderField);
    the change key moves with each save."""
    account = exchangelib_accounts(fresh_server, VMR)
    inbox = account.inbox
    assert inbox.installation is None
    before = inbox.changekey
    inbox.installation = "first"
    inbox.save(update_fields=["installation"])
    assert inbox.changekey != before
    assert account.root.get_folder(inbox).installation == "first"
    inbox.installation = "second"
    inbox.save(update_fields=["installation"])
    assert account.root.get_folder(inbox).installation == "second"
    inbox.installation = None
    inbox.save(update_fields=["installation"])
    assert account.root.get_folder(inbox).installation is None
    assert fresh_server.sim.store.folder(VMR, "inbox").extended_properties == ()


async def test_graph_reads_what_ews_set_and_ews_deletes_what_graph_set(
    fresh_server: SimServer,
) -> None:
    """One MAPI property, two protocols: a value set with SetFolderField (DistinguishedFolderId)
    is the one Graph's $expand returns; after Graph replaces it, DeleteFolderField removes it for
    both; the answers name the folder with its new change key and are schema-valid."""
    expand = f"?$expand=singleValueExtendedProperties($filter=id eq '{GRAPH_ID}')"
    inbox = f"/users/{VMR}/mailFolders/inbox"
    async with EwsClient(fresh_server) as ews:
        set_reply = await ews.call(_update("inbox", _set("from EWS")), impersonate=VMR)
        async with GraphClient(fresh_server) as graph:
            seen = await graph.get(inbox + expand)
            patch = {"singleValueExtendedProperties": [{"id": GRAPH_ID, "value": "from Graph"}]}
            await graph.patch(inbox, patch)
            delete_reply = await ews.call(
                _update("inbox", f"<t:DeleteFolderField>{URI}</t:DeleteFolderField>"),
                impersonate=VMR,
            )
            gone = await graph.get(inbox + expand)
    assert set_reply.response_codes() == ["NoError"]
    assert seen.body["singleValueExtendedProperties"] == [{"id": GRAPH_ID, "value": "from EWS"}]
    assert delete_reply.response_codes() == ["NoError"]
    assert "singleValueExtendedProperties" not in gone.body
    folder_id = delete_reply.root.find(f".//{{{T_NS}}}Folder/{{{T_NS}}}FolderId")
    assert folder_id is not None
    assert folder_id.get("ChangeKey") == fresh_server.sim.store.folder(VMR, "inbox").change_key
    _valid(set_reply)
    _valid(delete_reply)


_APPEND = (
    f"<t:AppendToFolderField>{URI}<t:Folder><t:ExtendedProperty>{URI}<t:Value>x</t:Value>"
    "</t:ExtendedProperty></t:Folder></t:AppendToFolderField>"
)
_RENAME = (
    '<t:SetFolderField><t:FieldURI FieldURI="folder:DisplayName"/><t:Folder>'
    "<t:DisplayName>Renamed</t:DisplayName></t:Folder></t:SetFolderField>"
)
_ANOTHER = (
    f"<t:SetFolderField>{URI}<t:Folder><t:ExtendedProperty>"
    f'<t:ExtendedFieldURI PropertySetId="{GUID}" PropertyName="another" PropertyType="String"/>'
    "<t:Value>x</t:Value></t:ExtendedProperty></t:Folder></t:SetFolderField>"
)
_EMPTY = f"<t:SetFolderField>{URI}<t:Folder/></t:SetFolderField>"


@pytest.mark.parametrize(
    ("updates", "code"),
    [
        (_APPEND, "ErrorInvalidPropertyAppend"),
        (_RENAME, "ErrorInvalidPropertySet"),
        (_ANOTHER, "ErrorIncorrectUpdatePropertyCount"),
        (_EMPTY, "ErrorIncorrectUpdatePropertyCount"),
    ],
    ids=["append", "display-name", "another-property", "no-property"],
)
async def test_what_update_folder_refuses_leaves_the_folder_unchanged(
    fresh_server: SimServer, updates: str, code: str
) -> None:
    """An append to a MAPI property, a FieldURI exchangesim does not keep, and a folder element
    that does not hold exactly the property its path names are refused as Exchange words them;
    a change is all or nothing (the set before the bad update is not applied)."""
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(_update("inbox", _set("kept?") + updates), impersonate=VMR)
    assert reply.response_codes() == [code]
    assert fresh_server.sim.store.folder(VMR, "inbox").extended_properties == ()
    _valid(reply)


async def test_another_mailbox_folder_is_not_writable(fresh_server: SimServer) -> None:
    """Alice may not write a property on the resource's inbox (ErrorAccessDenied); her own
    inbox in the same request is updated (one answer per change)."""
    changes = (
        f'<t:FolderChange><t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>{VMR}'
        f"</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId><t:Updates>{_set('x')}"
        '</t:Updates></t:FolderChange><t:FolderChange><t:DistinguishedFolderId Id="inbox"/>'
        f"<t:Updates>{_set('mine')}</t:Updates></t:FolderChange>"
    )
    body = f"<m:UpdateFolder><m:FolderChanges>{changes}</m:FolderChanges></m:UpdateFolder>"
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(body, impersonate=ALICE)
    assert reply.response_codes() == ["ErrorAccessDenied", "NoError"]
    store = fresh_server.sim.store
    assert store.folder(VMR, "inbox").extended_properties == ()
    assert [v for _, v in store.folder(ALICE, "inbox").extended_properties] == ["mine"]
    _valid(reply)


def _set(value: str) -> str:
    return (
        f"<t:SetFolderField>{URI}<t:Folder><t:ExtendedProperty>{URI}<t:Value>{value}</t:Value>"
        "</t:ExtendedProperty></t:Folder></t:SetFolderField>"
    )


def _update(folder: str, updates: str) -> str:
    return (
        f'<m:UpdateFolder><m:FolderChanges><t:FolderChange><t:DistinguishedFolderId Id="{folder}"/>'
        f"<t:Updates>{updates}</t:Updates></t:FolderChange></m:FolderChanges></m:UpdateFolder>"
    )
