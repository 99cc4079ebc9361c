"""User configuration objects: named settings a client keeps in a folder ([MS-OXOCFG]).

Exchange stores each one as a folder-associated (FAI) message of class
``IPM.Configuration.<name>`` holding a dictionary, XML data and/or binary data; EWS reads and
writes them with Get/Create/Update/DeleteUserConfiguration ([MS-OXWSUSRCFG]). They are not
items of the folder: FindItem and SyncFolderItems (normal items) never show them.

Behaviour, as exchangelib's test suite observed it on a real server (tests/test_folder.py,
``test_user_configuration``): a name that does not exist in the folder is ``ErrorItemNotFound``
(also when the same name exists in another folder); creating a name that exists is
``ErrorItemSave``. Names are compared without regard to case, as Exchange compares message
classes.

One object is not stored but computed: ``Calendar`` in a mailbox's Calendar folder, the
calendar options dictionary (``IPM.Configuration.Calendar``, [MS-OXOCFG] 2.2.5.1.1), whose
``AutomateProcessing`` is the mailbox's ``Set-CalendarProcessing -AutomateProcessing``
(0 = None, 1 = AutoUpdate, 2 = AutoAccept). The other keys written next to it
(``AllowConflicts``, ``BookingWindowInDays``, ...) are the resource booking settings Exchange
keeps in the same dictionary (inferred: named as the PowerShell parameters, not listed in
[MS-OXOCFG]). Writing a ``Calendar`` object stores it (later reads return it) but does not
change how the simulated attendant processes requests: that follows the tenant file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from exchangesim.store.errors import ItemNotFound, StoreError

if TYPE_CHECKING:
    from exchangesim.store.mailbox import MailboxState
    from exchangesim.store.store import Store

#: [MS-OXOCFG] 2.2.5.1.1: AutomateProcessing's values.
AUTOMATE_PROCESSING_CODES: Final = {"None": 0, "AutoUpdate": 1, "AutoAccept": 2}
CALENDAR_OPTIONS: Final = "Calendar"


class ConfigurationExistsError(StoreError):
    """A user configuration object of that name is already in the folder."""

    code = "ErrorItemSave"


@dataclass(frozen=True)
class DictionaryObject:
    """One typed dictionary key or value: an EWS ``UserConfigurationDictionaryObjectType``
    (``type`` such as ``String``, ``Integer32``, ``DateTime``; several values only for arrays)."""

    type: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class UserConfiguration:
    """One user configuration object of a folder. ``None`` = the part is absent."""

    item_id: str
    folder_id: str
    name: str
    dictionary: tuple[tuple[DictionaryObject, DictionaryObject | None], ...] | None = None
    xml_data: str | None = None  # base64, as on the wire
    binary_data: str | None = None  # base64, as on the wire


def _key(folder_id: str, name: str) -> str:
    return f"{folder_id}/{name.casefold()}"


def get(store: Store, folder_id: str, name: str) -> UserConfiguration:
    """The object ``name`` of the folder; raises `ItemNotFound`."""
    with store.transaction() as tx:
        mailbox = tx.folder_owner(folder_id)
        found = mailbox.configurations.get(_key(folder_id, name))
        if found is not None:
            return found
        calendar_id = mailbox.distinguished.get("calendar")
        if name.casefold() == CALENDAR_OPTIONS.casefold() and folder_id == calendar_id:
            return _calendar_options(mailbox, folder_id)
        raise ItemNotFound(f"no user configuration {name!r} in folder {folder_id}")


def create(store: Store, config: UserConfiguration) -> UserConfiguration:
    """Store a new object; raises `ConfigurationExistsError` when the name is taken."""
    with store.transaction() as tx:
        mailbox = tx.folder_owner(config.folder_id)
        key = _key(config.folder_id, config.name)
        if key in mailbox.configurations:
            raise ConfigurationExistsError(f"user configuration {config.name!r} exists")
        stored = replace(config, item_id=tx.state.ids.item_id())
        mailbox.configurations[key] = stored
        return stored


def update(store: Store, config: UserConfiguration) -> UserConfiguration:
    """Replace the parts ``config`` carries (absent parts stay); raises `ItemNotFound`."""
    with store.transaction() as tx:
        current = get(store, config.folder_id, config.name)
        mailbox = tx.folder_owner(config.folder_id)
        stored = UserConfiguration(
            item_id=current.item_id or tx.state.ids.item_id(),
            folder_id=current.folder_id,
            name=current.name,
            dictionary=config.dictionary if config.dictionary is not None else current.dictionary,
            xml_data=config.xml_data if config.xml_data is not None else current.xml_data,
            binary_data=(
                config.binary_data if config.binary_data is not None else current.binary_data
            ),
        )
        mailbox.configurations[_key(config.folder_id, config.name)] = stored
        return stored


def delete(store: Store, folder_id: str, name: str) -> None:
    """Remove the object; raises `ItemNotFound` when there is none."""
    with store.transaction() as tx:
        mailbox = tx.folder_owner(folder_id)
        if mailbox.configurations.pop(_key(folder_id, name), None) is None:
            raise ItemNotFound(f"no user configuration {name!r} in folder {folder_id}")


def _calendar_options(mailbox: MailboxState, folder_id: str) -> UserConfiguration:
    processing = mailbox.processing
    entries = [
        ("AutomateProcessing", _int(AUTOMATE_PROCESSING_CODES[processing.automate_processing])),
        ("AllowConflicts", _bool(processing.allow_conflicts)),
        ("AllowRecurringMeetings", _bool(processing.allow_recurring_meetings)),
        ("BookingWindowInDays", _int(processing.booking_window_in_days)),
        ("MaximumDurationInMinutes", _int(processing.maximum_duration_in_minutes)),
        ("EnforceSchedulingHorizon", _bool(processing.enforce_scheduling_horizon)),
        ("ConflictPercentageAllowed", _int(processing.conflict_percentage_allowed)),
        ("MaximumConflictInstances", _int(processing.maximum_conflict_instances)),
        ("DeleteComments", _bool(processing.delete_comments)),
        ("DeleteSubject", _bool(processing.delete_subject)),
        ("AddOrganizerToSubject", _bool(processing.add_organizer_to_subject)),
        ("RemovePrivateProperty", _bool(processing.remove_private_property)),
        ("AddNewRequestsTentatively", _bool(processing.add_new_requests_tentatively)),
        ("RemoveOldMeetingMessages", _bool(processing.remove_old_meeting_messages)),
    ]
    return UserConfiguration(
        item_id="",
        folder_id=folder_id,
        name=CALENDAR_OPTIONS,
        dictionary=tuple((DictionaryObject("String", (k,)), v) for k, v in entries),
    )


def _int(value: int) -> DictionaryObject:
    return DictionaryObject("Integer32", (str(value),))


def _bool(value: bool) -> DictionaryObject:
    return DictionaryObject("Boolean", ("true" if value else "false",))
