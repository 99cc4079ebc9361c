"""The installation marker on Microsoft Graph: a named MAPI property on the resource's Inbox.

EWS keeps the marker in a user configuration object (`vmrsched.adapters.ews.marker`), which
Graph v1.0 cannot reach. Graph's equivalent for an application's own data on a mailbox folder
is a single-value extended property: a named MAPI property in vmrsched's property set (the
GUID the EWS adapter uses for its own named properties), ``String {guid} Name
vmrsched.installation``, on the Inbox ``mailFolder``:

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
(the root folder EWS uses is not a Graph ``mailFolder``). The value is JSON with the same three
fields as the EWS dictionary: ``InstallationId``, ``Heartbeat`` (ISO 8601, UTC) and ``Host``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from vmrsched.ports.mailbox import InstallationMarker

if TYPE_CHECKING:
    from vmrsched.adapters.graph.transport import GraphTransport

#: vmrsched's named-property set (`vmrsched.adapters.ews.models.PROPERTY_SET`).
PROPERTY_SET: Final = "6e7c2b1a-5d3f-4c8e-9a0b-7f1e2d3c4b5a"
NAME: Final = "vmrsched.installation"
PROPERTY_ID: Final = f"String {{{PROPERTY_SET}}} Name {NAME}"
FOLDER: Final = "inbox"
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
    value = json.dumps(
        {
            "InstallationId": marker.installation_id,
            "Heartbeat": marker.heartbeat.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "Host": marker.host,
        },
        separators=(",", ":"),
    )
    return {"singleValueExtendedProperties": [{"id": PROPERTY_ID, "value": value}]}


def parse(folder: object) -> InstallationMarker | None:
    """The marker in a mailFolder answer expanded with our property, or None."""
    entries = folder.get("singleValueExtendedProperties") if isinstance(folder, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or not _same_id(entry.get("id")):
            continue
        try:
            data = json.loads(str(entry.get("value") or ""))
        except ValueError:
            return None
        return _marker(data)
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


def _marker(data: object) -> InstallationMarker | None:
    if not isinstance(data, dict):
        return None
    installation = data.get("InstallationId")
    heartbeat = data.get("Heartbeat")
    if not isinstance(installation, str) or not installation or not isinstance(heartbeat, str):
        return None
    try:
        when = datetime.fromisoformat(heartbeat)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    host = data.get("Host")
    return InstallationMarker(
        installation_id=installation,
        heartbeat=when.astimezone(UTC),
        host=host if isinstance(host, str) else "",
    )
