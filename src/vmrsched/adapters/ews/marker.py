"""The installation marker on EWS: a user configuration object in the resource mailbox.

Why a user configuration object ([MS-OXWSUSRCFG], Exchange's ``IPM.Configuration.<name>``
folder-associated message): it is the mechanism Exchange gives applications for their own
settings in a mailbox (OWA, Outlook and the calendar attendant keep theirs that way); it is
invisible to users and to item operations (FindItem, SyncFolderItems), so it never shows up as
mail in the inbox vmrsched watches nor in anyone's calendar; it is addressed by name, so reading
it is one GetUserConfiguration without searching; and an app with ``full_access_as_app`` on the
mailbox may read and write it. An item with extended properties would work too, but it would
appear in a folder listing and needs a FindItem with a restriction to be found.

The object is ``vmrsched.Installation`` in the mailbox's root folder, with the dictionary keys
``InstallationId`` (String), ``Heartbeat`` (DateTime) and ``Host`` (String).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from exchangelib.errors import ErrorItemNotFound, ErrorItemSave
from exchangelib.ewsdatetime import UTC as EWS_UTC
from exchangelib.ewsdatetime import EWSDateTime
from exchangelib.properties import (
    DistinguishedFolderId,
    Mailbox,
    UserConfiguration,
    UserConfigurationName,
    UserConfigurationNameMNS,
)
from exchangelib.services import (
    CreateUserConfiguration,
    GetUserConfiguration,
    UpdateUserConfiguration,
)

from vmrsched.ports.mailbox import InstallationMarker

if TYPE_CHECKING:
    from vmrsched.adapters.ews.connection import Connection

NAME: Final = "vmrsched.Installation"
FOLDER: Final = "root"


def _folder(address: str) -> DistinguishedFolderId:
    return DistinguishedFolderId(id=FOLDER, mailbox=Mailbox(email_address=address))


def read(calls: Connection, address: str) -> InstallationMarker | None:
    """The marker in ``address``'s mailbox, or None (no object, or not ours in shape)."""
    account = calls.account(address)

    def attempt() -> InstallationMarker | None:
        name = UserConfigurationNameMNS(name=NAME, folder=_folder(address))
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
            return _marker(result.dictionary or {})
        return None

    marker: InstallationMarker | None = calls.call(
        "reading the installation marker", address, attempt
    )
    return marker


def write(calls: Connection, address: str, marker: InstallationMarker) -> None:
    """Create or replace the marker (update first; create when there is none yet)."""
    account = calls.account(address)
    dictionary = {
        "InstallationId": marker.installation_id,
        "Heartbeat": EWSDateTime.fromtimestamp(marker.heartbeat.timestamp(), tz=EWS_UTC),
        "Host": marker.host,
    }

    def config() -> UserConfiguration:
        return UserConfiguration(
            user_configuration_name=UserConfigurationName(name=NAME, folder=_folder(address)),
            dictionary=dictionary,
        )

    def attempt() -> None:
        if _send(UpdateUserConfiguration(account=account), config()):
            return
        if not _send(CreateUserConfiguration(account=account), config(), exists_ok=True):
            # Another writer created it between our update and create: update it now.
            _send(UpdateUserConfiguration(account=account), config())

    calls.call("writing the installation marker", address, attempt)


def _send(service: Any, user_configuration: UserConfiguration, *, exists_ok: bool = False) -> bool:
    """Run a Create/UpdateUserConfiguration; False when the object is absent (update) or
    already there (create with ``exists_ok``)."""
    try:
        results = list(service.call(user_configuration=user_configuration))
    except ErrorItemNotFound:
        return False
    except ErrorItemSave:
        if exists_ok:
            return False
        raise
    for result in results:
        if isinstance(result, ErrorItemNotFound) or (
            exists_ok and isinstance(result, ErrorItemSave)
        ):
            return False
        if isinstance(result, Exception):
            raise result
    return True


def _marker(dictionary: dict[Any, Any]) -> InstallationMarker | None:
    installation = dictionary.get("InstallationId")
    heartbeat = dictionary.get("Heartbeat")
    if not isinstance(installation, str) or not isinstance(heartbeat, datetime):
        return None
    host = dictionary.get("Host")
    return InstallationMarker(
        installation_id=installation,
        heartbeat=datetime.fromtimestamp(heartbeat.timestamp(), tz=UTC),
        host=host if isinstance(host, str) else "",
    )
