"""Folders: the distinguished set every mailbox has, custom folders, calendar permissions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from exchangesim.store.items import Message

if TYPE_CHECKING:
    from exchangesim.store.items import Item
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

# Exchange PowerShell (Set-MailboxFolderPermission -AccessRights) names of the same levels.
_POWERSHELL_LEVELS: dict[str, PermissionLevel] = {
    "AvailabilityOnly": "FreeBusyTimeOnly",
    "LimitedDetails": "FreeBusyTimeAndSubjectAndLocation",
    "NonEditingAuthor": "NoneditingAuthor",
}

_READ_ACCESS: dict[str, ReadAccess] = {
    "None": "None",
    "FreeBusyTimeOnly": "TimeOnly",
    "FreeBusyTimeAndSubjectAndLocation": "TimeAndSubjectAndLocation",
}


@dataclass(frozen=True)
class CalendarPermission:
    """One entry of a calendar's permission set.

    ``user`` is ``Default``, ``Anonymous`` or an e-mail address; ``level`` an EWS
    ``CalendarPermissionLevelType`` word.
    """

    user: str
    level: PermissionLevel

    @property
    def read_access(self) -> ReadAccess:
        """What the level lets the user read (EWS ``ReadItems``)."""
        return _READ_ACCESS.get(self.level, "FullDetails")


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
        )


def permission_level(value: str) -> PermissionLevel:
    """An EWS permission level from its EWS name or its Exchange PowerShell name.

    ``AvailabilityOnly`` (Exchange's default for ``Default``) is ``FreeBusyTimeOnly``,
    ``LimitedDetails`` is ``FreeBusyTimeAndSubjectAndLocation``; raises `ValueError` otherwise.
    """
    levels: tuple[PermissionLevel, ...] = get_args(PermissionLevel)
    for level in levels:
        if level.casefold() == value.casefold():
            return level
    for name, level in _POWERSHELL_LEVELS.items():
        if name.casefold() == value.casefold():
            return level
    raise ValueError(f"unknown calendar permission level {value!r}")
