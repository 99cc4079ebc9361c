"""Mail folders: read one (with its extended properties) and update one.

- ``GET /users/{id}/mailFolders/{id or well-known name}``
  (https://learn.microsoft.com/graph/api/mailfolder-get): the folder's id and counts; with
  ``$expand=singleValueExtendedProperties($filter=id eq '...')`` the properties asked for that
  the folder has (https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get:
  a property the folder does not have is simply not listed; none at all leaves the
  ``singleValueExtendedProperties`` member out).
- ``PATCH /users/{id}/mailFolders/{id}`` (https://learn.microsoft.com/graph/api/mailfolder-update,
  application permission Mail.ReadWrite): ``displayName`` (not of a well-known folder) and
  ``singleValueExtendedProperties``, which creates or replaces each property named
  (https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-post-singlevalueextendedproperties,
  "Create a single-value extended property in an existing mailFolder"). The answer is the
  updated folder, without the properties (ask with ``$expand``). Other members are refused
  with ``ErrorInvalidPropertySet`` rather than ignored (exchangesim keeps no other folder
  member a client may write).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exchangesim.graph import extended
from exchangesim.graph.collection import entity
from exchangesim.graph.errors import GraphError, bad_request
from exchangesim.graph.ids import rest_id
from exchangesim.graph.messages import folder_ref
from exchangesim.graph.routing import FOLDER, route
from exchangesim.store import folder_properties

if TYPE_CHECKING:
    from exchangesim.graph.context import GraphCall, GraphResult
    from exchangesim.store.folders import Folder

_WRITABLE = frozenset({"displayName", "singleValueExtendedProperties"})


@route("GET", f"{FOLDER}", "Mail.Read")
def get_mail_folder(call: GraphCall, folder: str) -> GraphResult:
    """GET /users/{id}/mailFolders/{id or well-known name}: the folder's id and counts, and
    the extended properties ``$expand`` asks for."""
    found = call.sim.store.folder(call.mailbox, folder_ref(folder))
    return entity(call, _render(call, found), "mailFolders/$entity")


@route("PATCH", f"{FOLDER}", "Mail.ReadWrite")
def update_mail_folder(call: GraphCall, folder: str) -> GraphResult:
    """PATCH /users/{id}/mailFolders/{id}: ``displayName`` and extended properties."""
    body = call.body if isinstance(call.body, dict) else None
    if body is None:
        raise bad_request("The request body must be a JSON object.", "ErrorInvalidRequest")
    unknown = {k for k in body if not k.startswith("@odata.")} - _WRITABLE
    if unknown:
        raise bad_request(
            f"exchangesim cannot update {sorted(unknown)} on a mail folder.",
            "ErrorInvalidPropertySet",
        )
    store = call.sim.store
    found = store.folder(call.mailbox, folder_ref(folder))
    values = (
        extended.parse_values(body["singleValueExtendedProperties"])
        if "singleValueExtendedProperties" in body
        else {}
    )
    name = body.get("displayName")
    if "displayName" in body:
        if not isinstance(name, str) or not name.strip():
            raise bad_request("displayName must be a non-empty string.", "ErrorInvalidRequest")
        if found.distinguished is not None and name != found.display_name:
            # A well-known folder keeps its name (Exchange refuses to rename default folders).
            raise GraphError(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
    if values:
        folder_properties.set_properties(store, call.mailbox, found.id, values)
    if isinstance(name, str) and name != found.display_name:
        store.rename_folder(found.id, name)
    updated = store.folder(call.mailbox, found.id)
    return entity(call, _render(call, updated, expand=False), "mailFolders/$entity")


def _render(call: GraphCall, found: Folder, *, expand: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": rest_id(found.id),
        "displayName": found.display_name,
        "parentFolderId": rest_id(found.parent_id) if found.parent_id else None,
        "childFolderCount": found.child_folder_count,
        "unreadItemCount": found.unread_count,
        "totalItemCount": found.total_count,
        "sizeInBytes": 0,
        "isHidden": False,
    }
    if expand and call.query.extended:
        properties = extended.render_folder(found, call.query.extended)
        if properties:
            data["singleValueExtendedProperties@odata.context"] = call.context_url(
                f"mailFolders('{rest_id(found.id)}')/singleValueExtendedProperties"
            )
            data["singleValueExtendedProperties"] = properties
    return data
