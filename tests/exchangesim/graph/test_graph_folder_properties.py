"""Single-value extended properties on a mailFolder over Graph, raw HTTP: created and replaced
with a PATCH of the folder, read with ``$expand=singleValueExtendedProperties($filter=id eq
'...')``, invisible to the folder's messages, the same MAPI property EWS reads on the folder,
and Graph's errors for what it refuses."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from graph_harness import GraphClient
from harness import SCHEMA_MISSING, VMR, EwsClient, load_schema, schema_available

from exchangesim.ews.xml import T_NS

if TYPE_CHECKING:
    from harness import SimServer

PROPERTY = "String {6e7c2b1a-5d3f-4c8e-9a0b-7f1e2d3c4b5a} Name vmrsched.installation"
OTHER = "String {6e7c2b1a-5d3f-4c8e-9a0b-7f1e2d3c4b5a} Name something.else"
INBOX = f"/users/{VMR}/mailFolders/inbox"


def _expand(*ids: str) -> str:
    wanted = " or ".join(f"id eq '{i}'" for i in ids)
    return f"?$expand=singleValueExtendedProperties($filter={wanted})"


def _set(*pairs: tuple[str, str]) -> dict[str, object]:
    return {"singleValueExtendedProperties": [{"id": i, "value": v} for i, v in pairs]}


async def test_a_folder_property_is_absent_then_created_then_replaced(
    fresh_server: SimServer,
) -> None:
    """Before any PATCH the expanded folder has no singleValueExtendedProperties member; a
    PATCH answers 200 with the folder (without the property) and the property reads back; a
    second PATCH replaces the value (still one entry); another property is kept apart."""
    async with GraphClient(fresh_server) as graph:
        before = await graph.get(INBOX + _expand(PROPERTY))
        created = await graph.patch(INBOX, _set((PROPERTY, "first")))
        first = await graph.get(INBOX + _expand(PROPERTY))
        await graph.patch(INBOX, _set((PROPERTY, "second"), (OTHER, "apart")))
        second = await graph.get(INBOX + _expand(PROPERTY, OTHER))
    assert before.status == 200, before.body
    assert "singleValueExtendedProperties" not in before.body
    assert created.status == 200, created.body
    assert created.body["displayName"] == "Inbox"
    assert "singleValueExtendedProperties" not in created.body
    assert first.body["singleValueExtendedProperties"] == [{"id": PROPERTY, "value": "first"}]
    assert second.body["singleValueExtendedProperties"] == [
        {"id": PROPERTY, "value": "second"},
        {"id": OTHER, "value": "apart"},
    ]


async def test_the_property_is_found_by_its_guid_in_any_case_but_not_by_another_name_case(
    fresh_server: SimServer,
) -> None:
    """The property set's GUID matches whatever its case or braces; the name is case-sensitive
    (Graph: "Filtering the string name (Name) in the id of an extended property is
    case-sensitive")."""
    upper_guid = PROPERTY.replace(
        "6e7c2b1a-5d3f-4c8e-9a0b-7f1e2d3c4b5a", "6E7C2B1A-5D3F-4C8E-9A0B-7F1E2D3C4B5A"
    )
    other_case = PROPERTY.replace("vmrsched.installation", "VMRSCHED.installation")
    async with GraphClient(fresh_server) as graph:
        await graph.patch(INBOX, _set((PROPERTY, "kept")))
        by_guid = await graph.get(INBOX + _expand(upper_guid))
        by_name = await graph.get(INBOX + _expand(other_case))
    assert by_guid.body["singleValueExtendedProperties"] == [{"id": upper_guid, "value": "kept"}]
    assert "singleValueExtendedProperties" not in by_name.body


async def test_a_folder_property_is_not_a_message_of_the_folder(fresh_server: SimServer) -> None:
    """Setting the property adds nothing to the inbox's messages, its counts or its message
    delta, and leaves other folders without it."""
    async with GraphClient(fresh_server) as graph:
        delta = await graph.get(f"{INBOX}/messages/delta?changeType=created&$select=id")
        while "@odata.nextLink" in delta.body:
            delta = await graph.get(delta.body["@odata.nextLink"])
        counts = await graph.get(INBOX)
        await graph.patch(INBOX, _set((PROPERTY, "invisible")))
        after = await graph.get(delta.body["@odata.deltaLink"])
        counted = await graph.get(INBOX)
        sent = await graph.get(f"/users/{VMR}/mailFolders/sentitems" + _expand(PROPERTY))
    assert after.body["value"] == []
    assert counted.body["totalItemCount"] == counts.body["totalItemCount"]
    assert "singleValueExtendedProperties" not in sent.body


async def test_what_a_folder_patch_refuses(fresh_server: SimServer) -> None:
    """A malformed property id and a non-string value are 400s; a member exchangesim cannot
    write is a 400 naming it; renaming a well-known folder is a 403; nothing was stored."""
    async with GraphClient(fresh_server) as graph:
        malformed = await graph.patch(INBOX, _set(("String nonsense", "x")))
        number = await graph.patch(
            INBOX, {"singleValueExtendedProperties": [{"id": PROPERTY, "value": 5}]}
        )
        unknown = await graph.patch(INBOX, {"totalItemCount": 3})
        rename = await graph.patch(INBOX, {"displayName": "Not the inbox"})
        after = await graph.get(INBOX + _expand(PROPERTY))
    assert (malformed.status, malformed.error_code) == (400, "ErrorInvalidProperty")
    assert (number.status, number.error_code) == (400, "ErrorInvalidExtendedPropertyValue")
    assert (unknown.status, unknown.error_code) == (400, "ErrorInvalidPropertySet")
    assert "totalItemCount" in unknown.body["error"]["message"]
    assert (rename.status, rename.error_code) == (403, "ErrorAccessDenied")
    assert "singleValueExtendedProperties" not in after.body
    assert after.body["displayName"] == "Inbox"


async def test_ews_reads_the_property_graph_set_on_the_folder(fresh_server: SimServer) -> None:
    """One MAPI property, two protocols: GetFolder with the same named property as
    ExtendedFieldURI (PropertySetId, PropertyName, PropertyType String) returns the value Graph
    set; a property the folder lacks is left out; the answer is schema-valid."""
    guid = "6e7c2b1a-5d3f-4c8e-9a0b-7f1e2d3c4b5a"
    uris = "".join(
        f'<t:ExtendedFieldURI PropertySetId="{guid}" PropertyName="{name}" PropertyType="String"/>'
        for name in ("vmrsched.installation", "nothing.here")
    )
    body = (
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>"
        f"<t:AdditionalProperties>{uris}</t:AdditionalProperties></m:FolderShape>"
        '<m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>'
    )
    async with GraphClient(fresh_server) as graph:
        await graph.patch(INBOX, _set((PROPERTY, "seen by EWS")))
    async with EwsClient(fresh_server) as ews:
        reply = await ews.call(body, impersonate=VMR)
    assert reply.response_codes() == ["NoError"]
    found = reply.root.findall(f".//{{{T_NS}}}ExtendedProperty")
    assert [p.findtext(f"{{{T_NS}}}Value") for p in found] == ["seen by EWS"]
    uri = found[0].find(f"{{{T_NS}}}ExtendedFieldURI")
    assert uri is not None
    assert uri.get("PropertyName") == "vmrsched.installation"
    if not schema_available():
        pytest.skip(SCHEMA_MISSING)
    schema = load_schema()
    assert schema.validate(reply.body_child), [e.message for e in schema.error_log][:3]
