"""The installation marker as both protocols keep it: one named MAPI property on the resource's
Inbox folder.

The property is ``vmrsched.installation`` in vmrsched's own property set (the GUID of its other
named properties), of type String; Graph names it ``String {guid} Name vmrsched.installation``
(a ``singleValueExtendedProperty`` of the ``mailFolder``), EWS by an ``ExtendedFieldURI`` with
``PropertySetId``, ``PropertyName`` and ``PropertyType="String"`` ([MS-OXWSXPROP]) on the
folder (GetFolder/UpdateFolder, [MS-OXWSFOLD]). It is one property in the mailbox, so an
installation on EWS and one on Graph read the same marker.

The value is compact JSON: ``InstallationId``, ``Heartbeat`` (ISO 8601, UTC, with ``Z``),
``Host`` and ``Api`` (``ews`` or ``graph``: which protocol the writer uses, for the doctor's and
``run``'s messages; a reader ignores keys it does not know, so older readers are unaffected).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from vmrsched.ports.mailbox import InstallationMarker

if TYPE_CHECKING:
    from collections.abc import Iterable

#: vmrsched's named-property set (`vmrsched.adapters.ews.models.PROPERTY_SET`).
PROPERTY_SET: Final = "6e7c2b1a-5d3f-4c8e-9a0b-7f1e2d3c4b5a"
NAME: Final = "vmrsched.installation"
#: The folder that carries it: every mailbox has one, both protocols name it ``inbox``.
FOLDER: Final = "inbox"


def encode(marker: InstallationMarker, api: str) -> str:
    """The property's value for ``marker`` written over ``api``."""
    return json.dumps(
        {
            "InstallationId": marker.installation_id,
            "Heartbeat": marker.heartbeat.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "Host": marker.host,
            "Api": api,
        },
        separators=(",", ":"),
    )


def decode(value: object) -> InstallationMarker | None:
    """The marker in a property value, or None (not our JSON, or a heartbeat without zone)."""
    if not isinstance(value, str):
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
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
    host, api = data.get("Host"), data.get("Api")
    return InstallationMarker(
        installation_id=installation,
        heartbeat=when.astimezone(UTC),
        host=host if isinstance(host, str) else "",
        api=api if api in {"ews", "graph"} else "",
    )


def newest(found: Iterable[InstallationMarker | None]) -> InstallationMarker | None:
    """Of markers kept in several places, the one written last (by heartbeat).

    Every writer reads before it writes and refuses a live other holder, so the last one
    written is the mailbox's holder: an installation that took the mailbox over wrote after
    the one it displaced.
    """
    markers = [marker for marker in found if marker is not None]
    return max(markers, key=lambda marker: marker.heartbeat, default=None)
