"""The installation marker on Microsoft Graph: a named MAPI property on the resource's Inbox.

The marker is the Inbox's named property ``vmrsched.installation``
(`vmrsched.adapters.installation_property`), which the EWS adapter reads and writes too: an
installation on EWS and one on Graph see each other's marker. (EWS installations of earlier
releases kept the marker only in a user configuration object, which Graph v1.0
cannot reach; the EWS adapter still reads and updates that object, see
`vmrsched.adapters.ews.marker`.) Graph's way to an application's own data on a mailbox folder
is a single-value extended property, ``String {guid} Name vmrsched.installation`` on the Inbox
``mailFolder``:

- written with one ``PATCH /users/{id}/mailFolders/inbox`` carrying
  ``singleValueExtendedProperties`` (creates or replaces it; application permission
  Mail.ReadWrite, which the service has):
  https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-post-singlevalueextendedproperties
- read with one ``GET /users/{id}/mailFolders/inbox?$expand=singleValueExtendedProperties(
  $filter=id eq '...')`` (Mail.Read, included in Mail.ReadWrite); a folder without it answers
  without the ``singleValueExtendedProperties`` member:
  https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get

Why a folder property rather than a hidden folder holding a message: it is one request each
way, needs no search, changes no item (the inbox's message delta and change notifications do
not see it, and users see nothing), and replacing it is atomic. Why the Inbox: it is the folder
vmrsched already reads, every mailbox has it, and Graph addresses it by its well-known name
(the root folder of the older EWS object is not a Graph ``mailFolder``). The value is JSON
(`installation_property.encode`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from vmrsched.adapters import installation_property
from vmrsched.adapters.installation_property import FOLDER, NAME, PROPERTY_SET

if TYPE_CHECKING:
    from vmrsched.adapters.graph.transport import GraphTransport
    from vmrsched.ports.mailbox import InstallationMarker

API: Final = "graph"
PROPERTY_ID: Final = f"String {{{PROPERTY_SET}}} Name {NAME}"
#: The query that reads the marker with the folder (URL-encoded).
EXPAND: Final = "?$expand=" + quote(
    f"singleValueExtendedProperties($filter=id eq '{PROPERTY_ID}')", safe="$()='"
)


def folder_path(user: str) -> str:
    """The Inbox below the version root, for a user path such as ``/users/{id}``."""
    return f"{user}/mailFolders/{FOLDER}"


def read(http: GraphTransport, user: str) -> InstallationMarker | None:
    """The marker on ``user``'s Inbox, or None (none there, or not ours in shape)."""
    answer = http.request("GET", folder_path(user) + EXPAND, what="reading the installation marker")
    return parse(answer.body)


def write(http: GraphTransport, user: str, marker: InstallationMarker) -> None:
    """Create or replace the marker (one PATCH does either)."""
    http.request(
        "PATCH",
        folder_path(user),
        what="writing the installation marker",
        body=patch_body(marker),
    )


def patch_body(marker: InstallationMarker) -> dict[str, Any]:
    """The PATCH body that sets the marker."""
    value = installation_property.encode(marker, API)
    return {"singleValueExtendedProperties": [{"id": PROPERTY_ID, "value": value}]}


def parse(folder: object) -> InstallationMarker | None:
    """The marker in a mailFolder answer expanded with our property, or None."""
    entries = folder.get("singleValueExtendedProperties") if isinstance(folder, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict) and _same_id(entry.get("id")):
            return installation_property.decode(entry.get("value"))
    return None


def _same_id(identifier: object) -> bool:
    """Graph echoes the id as asked; the GUID's case and braces may differ."""
    if not isinstance(identifier, str):
        return False
    words = identifier.split()
    return (
        len(words) >= 4
        and words[1].strip("{}").lower() == PROPERTY_SET
        and words[2].lower() == "name"
        and " ".join(words[3:]) == NAME
    )


__all__ = ["EXPAND", "NAME", "PROPERTY_ID", "PROPERTY_SET", "folder_path", "parse", "read", "write"]
