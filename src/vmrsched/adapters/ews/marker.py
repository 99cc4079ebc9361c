"""The installation marker on EWS: the Inbox's named property, which Graph installations read
too, and the user configuration object earlier releases kept.

The marker is the named MAPI property ``vmrsched.installation`` on the resource's Inbox
(`vmrsched.adapters.installation_property`), the one the Graph adapter keeps: an EWS and a
Graph installation on one resource mailbox see each other. EWS reaches a folder's extended
property with ``GetFolder`` (``AdditionalProperties`` with an ``ExtendedFieldURI``) and
``UpdateFolder`` (``SetFolderField``), [MS-OXWSFOLD] 3.1.4.6 and 3.1.4.8 with [MS-OXWSXPROP];
an app with ``full_access_as_app`` may do both. exchangelib supports this unmodified: a folder
class with an ``ExtendedPropertyField`` (`MarkedInbox`, a subclass, so that exchangelib's own
``Folder`` keeps its field list for other users in the process).

Earlier releases kept the marker only in a user configuration object ([MS-OXWSUSRCFG],
``vmrsched.Installation`` in the mailbox's root folder, dictionary keys ``InstallationId``,
``Heartbeat``, ``Host``), which Graph cannot reach. So that those installations stay
recognised, `read` reads both and returns the newer marker (every writer checks before writing,
so the newer one is the holder), and `write` also updates that object while it exists (an
installation not yet upgraded then still sees who holds the mailbox, and stops when taken
over); a new object is never created. Two calls each way, every five minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from exchangelib.errors import ErrorItemNotFound
from exchangelib.ewsdatetime import UTC as EWS_UTC
from exchangelib.ewsdatetime import EWSDateTime
from exchangelib.extended_properties import ExtendedProperty
from exchangelib.fields import ExtendedPropertyField, FieldPath
from exchangelib.folders import Inbox, Root
from exchangelib.properties import (
    DistinguishedFolderId,
    Mailbox,
    UserConfiguration,
    UserConfigurationName,
    UserConfigurationNameMNS,
)
from exchangelib.services import (
    GetFolder,
    GetUserConfiguration,
    UpdateFolder,
    UpdateUserConfiguration,
)

from vmrsched.adapters import installation_property
from vmrsched.adapters.installation_property import FOLDER, NAME, PROPERTY_SET
from vmrsched.ports.mailbox import InstallationMarker

if TYPE_CHECKING:
    from vmrsched.adapters.ews.connection import Connection

API: Final = "ews"
#: The user configuration object of earlier releases, and its folder.
CONFIGURATION: Final = "vmrsched.Installation"
CONFIGURATION_FOLDER: Final = "root"


class InstallationProperty(ExtendedProperty):  # type: ignore[misc]
    """``vmrsched.installation`` in vmrsched's property set, a String."""

    property_set_id = PROPERTY_SET
    property_name = NAME
    property_type = "String"


class MarkedInbox(Inbox):  # type: ignore[misc]
    """The Inbox with the marker property."""

    installation = ExtendedPropertyField("installation", value_cls=InstallationProperty)


def read(calls: Connection, address: str) -> InstallationMarker | None:
    """The marker in ``address``'s mailbox (the newer of the Inbox property and the older
    configuration object), or None (neither there, or not ours in shape)."""
    account = calls.account(address)

    def attempt() -> InstallationMarker | None:
        return installation_property.newest(
            (_read_property(account, address), _read_configuration(account, address))
        )

    marker: InstallationMarker | None = calls.call(
        "reading the installation marker", address, attempt
    )
    return marker


def write(calls: Connection, address: str, marker: InstallationMarker) -> None:
    """Create or replace the Inbox property; update the older object if there is one."""
    account = calls.account(address)

    def attempt() -> None:
        folder = _inbox(account, address)
        folder.installation = installation_property.encode(marker, API)
        for result in UpdateFolder(account=account).call(folders=[(folder, ["installation"])]):
            if isinstance(result, Exception):
                raise result
        _update_configuration(account, address, marker)

    calls.call("writing the installation marker", address, attempt)


def _inbox(account: Any, address: str) -> MarkedInbox:
    """The resource's Inbox by its distinguished id (no call: the root is not fetched)."""
    return MarkedInbox(
        root=Root(account=account),
        _distinguished_id=DistinguishedFolderId(id=FOLDER, mailbox=Mailbox(email_address=address)),
    )


def _read_property(account: Any, address: str) -> InstallationMarker | None:
    field = FieldPath(field=MarkedInbox.get_field_by_fieldname("installation"))
    service = GetFolder(account=account)
    for result in service.call(
        folders=[_inbox(account, address)], additional_fields=[field], shape="IdOnly"
    ):
        if isinstance(result, Exception):
            raise result
        return installation_property.decode(result.installation)
    return None


# --- the user configuration object of earlier releases ----------------------------------------


def _configuration_folder(address: str) -> DistinguishedFolderId:
    return DistinguishedFolderId(id=CONFIGURATION_FOLDER, mailbox=Mailbox(email_address=address))


def _read_configuration(account: Any, address: str) -> InstallationMarker | None:
    name = UserConfigurationNameMNS(name=CONFIGURATION, folder=_configuration_folder(address))
    try:
        found = list(
            GetUserConfiguration(account=account).call(
                user_configuration_name=name, properties="Dictionary"
            )
        )
    except ErrorItemNotFound:
        return None
    for result in found:
        if isinstance(result, ErrorItemNotFound):
            return None
        if isinstance(result, Exception):
            raise result
        return _from_dictionary(result.dictionary or {})
    return None


def _update_configuration(account: Any, address: str, marker: InstallationMarker) -> None:
    """Update the object if it exists (absent: nothing to do; it is never created)."""
    dictionary = {
        "InstallationId": marker.installation_id,
        "Heartbeat": EWSDateTime.fromtimestamp(marker.heartbeat.timestamp(), tz=EWS_UTC),
        "Host": marker.host,
    }
    configuration = UserConfiguration(
        user_configuration_name=UserConfigurationName(
            name=CONFIGURATION, folder=_configuration_folder(address)
        ),
        dictionary=dictionary,
    )
    try:
        results = list(
            UpdateUserConfiguration(account=account).call(user_configuration=configuration)
        )
    except ErrorItemNotFound:
        return
    for result in results:
        if isinstance(result, Exception) and not isinstance(result, ErrorItemNotFound):
            raise result


def _from_dictionary(dictionary: dict[Any, Any]) -> InstallationMarker | None:
    installation = dictionary.get("InstallationId")
    heartbeat = dictionary.get("Heartbeat")
    if not isinstance(installation, str) or not isinstance(heartbeat, datetime):
        return None
    host = dictionary.get("Host")
    return InstallationMarker(
        installation_id=installation,
        heartbeat=datetime.fromtimestamp(heartbeat.timestamp(), tz=UTC),
        host=host if isinstance(host, str) else "",
        api=API,
    )
