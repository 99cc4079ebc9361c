"""Mailboxes and their calendar processing settings."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from exchangesim.store.configurations import UserConfiguration
    from exchangesim.store.folders import FolderState
    from exchangesim.store.journal import JournalEntry

MailboxKind = Literal["user", "equipment", "room"]
AutomateProcessing = Literal["None", "AutoUpdate", "AutoAccept"]


@dataclass(frozen=True)
class CalendarProcessing:
    """A mailbox's calendar processing (``Set-CalendarProcessing`` parameters, snake_case).

    Defaults are Exchange's for a resource mailbox, except ``automate_processing``, which the
    caller sets (users are always ``AutoUpdate``). Only the parameters the store acts on are here;
    see `exchangesim.store.booking` for what each does.
    https://learn.microsoft.com/powershell/module/exchange/set-calendarprocessing
    """

    automate_processing: AutomateProcessing = "AutoUpdate"
    add_new_requests_tentatively: bool = True
    allow_conflicts: bool = False
    allow_recurring_meetings: bool = True
    booking_window_in_days: int = 180
    enforce_scheduling_horizon: bool = True
    maximum_duration_in_minutes: int = 1440
    conflict_percentage_allowed: int = 0
    maximum_conflict_instances: int = 0
    delete_comments: bool = True
    delete_subject: bool = True
    add_organizer_to_subject: bool = True
    remove_private_property: bool = True
    add_additional_response: bool = False
    additional_response: str = ""
    remove_old_meeting_messages: bool = True
    remove_canceled_meetings: bool = False

    @classmethod
    def from_object(cls, settings: object) -> CalendarProcessing:
        """Copy the attributes of the same names from any object (e.g. the tenant's model).

        Missing attributes keep their defaults; `str` values of enum-like settings are kept.
        """
        values = {
            f.name: getattr(settings, f.name) for f in fields(cls) if hasattr(settings, f.name)
        }
        if "automate_processing" in values:
            values["automate_processing"] = str(values["automate_processing"])
        return cls(**values)


@dataclass(kw_only=True)
class MailboxState:
    """A mailbox as the store keeps it (internal; front-ends get `Mailbox`)."""

    address: str
    display_name: str
    kind: MailboxKind
    processing: CalendarProcessing
    folders: dict[str, FolderState] = field(default_factory=dict)
    distinguished: dict[str, str] = field(default_factory=dict)
    hierarchy_journal: list[JournalEntry] = field(default_factory=list)
    #: User configuration objects (`exchangesim.store.configurations`), by folder and name.
    configurations: dict[str, UserConfiguration] = field(default_factory=dict)


@dataclass(frozen=True)
class Mailbox:
    """A read-only view of a mailbox."""

    address: str
    display_name: str
    kind: MailboxKind
    processing: CalendarProcessing

    @classmethod
    def of(cls, mailbox: MailboxState) -> Mailbox:
        """The view of a stored mailbox."""
        return cls(mailbox.address, mailbox.display_name, mailbox.kind, mailbox.processing)

    @property
    def is_resource(self) -> bool:
        """Whether this is a room or equipment mailbox."""
        return self.kind != "user"
