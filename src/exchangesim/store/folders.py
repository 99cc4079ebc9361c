"""Folders: the distinguished set every mailbox has, custom folders, calendar permissions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from exchangesim.store.items import Message

if TYPE_CHECKING:
    from exchangesim.store.items import ExtendedValue, Item, PropertyKey
    from exchangesim.store.journal import JournalEntry
    from exchangesim.store.mailbox import MailboxState

PermissionLevel = Literal[
    "None",
    "Owner",
    "PublishingEditor",
    "Editor",
    "PublishingAuthor",
    "Author",
    "NoneditingAuthor",
    "Reviewer",
    "Contributor",
    "FreeBusyTimeOnly",
    "FreeBusyTimeAndSubjectAndLocation",
    "Custom",
]
ReadAccess = Literal["None", "TimeOnly", "TimeAndSubjectAndLocation", "FullDetails"]


@dataclass(frozen=True)
class FolderSpec:
    """A distinguished folder: EWS name, display name, folder class, parent's EWS name."""

    name: str
    display_name: str
    folder_class: str | None
    parent: str | None


# The tree Exchange creates for every mailbox (EWS DistinguishedFolderIdNameType names).
DISTINGUISHED: tuple[FolderSpec, ...] = (
    FolderSpec("root", "", None, None),
    FolderSpec("msgfolderroot", "Top of Information Store", "IPF.Note", "root"),
    FolderSpec("inbox", "Inbox", "IPF.Note", "msgfolderroot"),
    FolderSpec("calendar", "Calendar", "IPF.Appointment", "msgfolderroot"),
    FolderSpec("contacts", "Contacts", "IPF.Contact", "msgfolderroot"),
    FolderSpec("deleteditems", "Deleted Items", "IPF.Note", "msgfolderroot"),
    FolderSpec("drafts", "Drafts", "IPF.Note", "msgfolderroot"),
    FolderSpec("journal", "Journal", "IPF.Journal", "msgfolderroot"),
    FolderSpec("junkemail", "Junk Email", "IPF.Note", "msgfolderroot"),
    FolderSpec("notes", "Notes", "IPF.StickyNote", "msgfolderroot"),
    FolderSpec("outbox", "Outbox", "IPF.Note", "msgfolderroot"),
    FolderSpec("sentitems", "Sent Items", "IPF.Note", "msgfolderroot"),
    FolderSpec("tasks", "Tasks", "IPF.Task", "msgfolderroot"),
    FolderSpec("recoverableitemsroot", "Recoverable Items", None, "root"),
    FolderSpec("recoverableitemsdeletions", "Deletions", None, "recoverableitemsroot"),
)
DISTINGUISHED_NAMES = frozenset(spec.name for spec in DISTINGUISHED)

# Exchange PowerShell role names (Set-MailboxFolderPermission -AccessRights: "AvailabilityOnly:
# View only availability data", "LimitedDetails: View availability data with subject and
# location"; the other roles are spelled as in EWS but for NonEditingAuthor's capital E).
# https://learn.microsoft.com/powershell/module/exchange/set-mailboxfolderpermission
_POWERSHELL_LEVELS: dict[str, PermissionLevel] = {
    "AvailabilityOnly": "FreeBusyTimeOnly",
    "LimitedDetails": "FreeBusyTimeAndSubjectAndLocation",
    "NonEditingAuthor": "NoneditingAuthor",
}

# What each level reads (EWS ReadItems), from "Set folder permissions for another user by using
# EWS" and [MS-OXWSFOLD] 2.2.5.3: the author and editor roles and Reviewer read everything;
# Contributor creates items but "the contents of the folder do not appear"; Custom names rights
# the store does not keep, so it reads nothing rather than everything (fail closed).
_READ_ACCESS: dict[PermissionLevel, ReadAccess] = {
    "None": "None",
    "Owner": "FullDetails",
    "PublishingEditor": "FullDetails",
    "Editor": "FullDetails",
    "PublishingAuthor": "FullDetails",
    "Author": "FullDetails",
    "NoneditingAuthor": "FullDetails",
    "Reviewer": "FullDetails",
    "Contributor": "None",
    "FreeBusyTimeOnly": "TimeOnly",
    "FreeBusyTimeAndSubjectAndLocation": "TimeAndSubjectAndLocation",
    "Custom": "None",
}


@dataclass(frozen=True)
class CalendarPermission:
    """One entry of a calendar's permission set.

    ``user`` is ``Default``, ``Anonymous`` or an e-mail address; ``level`` an EWS
    ``CalendarPermissionLevelType`` word. A level is checked when the entry is made: an Exchange
    PowerShell name becomes its EWS level (`permission_level`), anything else is a `ValueError`,
    so no entry can hold a level the store would misread as more access than meant.
    """

    user: str
    level: PermissionLevel

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", permission_level(self.level))

    @classmethod
    def of(cls, user: str, level: str) -> CalendarPermission:
        """An entry from a level named either way (``LimitedDetails``, ``Reviewer`` …)."""
        return cls(user, permission_level(level))

    @property
    def read_access(self) -> ReadAccess:
        """What the level lets the user read (EWS ``ReadItems``)."""
        return _READ_ACCESS[self.level]


@dataclass(kw_only=True)
class FolderState:
    """A folder as the store keeps it (internal; front-ends get `Folder`)."""

    id: str
    parent_id: str | None
    display_name: str
    folder_class: str | None
    distinguished: str | None = None
    change_key: str = ""
    permissions: tuple[CalendarPermission, ...] = ()
    items: dict[str, Item] = field(default_factory=dict)
    journal: list[JournalEntry] = field(default_factory=list)
    #: MAPI properties a client set on the folder (EWS ``ExtendedProperty`` on a folder, Graph
    #: ``singleValueExtendedProperties`` on a mailFolder): `exchangesim.store.folder_properties`.
    extended_properties: dict[PropertyKey, ExtendedValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Folder:
    """A read-only view of a folder with its counts (EWS ``FolderType``/``CalendarFolderType``)."""

    id: str
    change_key: str
    mailbox: str
    parent_id: str | None
    display_name: str
    folder_class: str | None
    distinguished: str | None
    total_count: int
    unread_count: int
    child_folder_count: int
    permissions: tuple[CalendarPermission, ...]
    extended_properties: tuple[tuple[PropertyKey, ExtendedValue], ...] = ()

    @classmethod
    def of(cls, mailbox: MailboxState, folder: FolderState) -> Folder:
        """The view of a stored folder, with its current counts."""
        return cls(
            id=folder.id,
            change_key=folder.change_key,
            mailbox=mailbox.address,
            parent_id=folder.parent_id,
            display_name=folder.display_name,
            folder_class=folder.folder_class,
            distinguished=folder.distinguished,
            total_count=len(folder.items),
            # Only messages have a read flag (EWS IsRead is a MessageType field).
            unread_count=sum(
                1 for i in folder.items.values() if isinstance(i, Message) and not i.is_read
            ),
            child_folder_count=sum(1 for f in mailbox.folders.values() if f.parent_id == folder.id),
            permissions=folder.permissions,
            extended_properties=tuple(folder.extended_properties.items()),
        )


def permission_level(value: str) -> PermissionLevel:
    """An EWS permission level from its EWS name or its Exchange PowerShell name.

    ``AvailabilityOnly`` (Exchange's default for ``Default``) is ``FreeBusyTimeOnly``,
    ``LimitedDetails`` is ``FreeBusyTimeAndSubjectAndLocation``; names match case-insensitively.
    Raises `ValueError` for anything else (PowerShell's individual rights such as ``ReadItems``
    included: the store keeps levels, not rights).
    """
    levels: tuple[PermissionLevel, ...] = get_args(PermissionLevel)
    for level in levels:
        if level.casefold() == value.casefold():
            return level
    for name, level in _POWERSHELL_LEVELS.items():
        if name.casefold() == value.casefold():
            return level
    raise ValueError(f"unknown calendar permission level {value!r}")
