"""The store's error tree.

Every error carries ``code``: the Exchange response code a front-end should answer with (EWS
``ResponseCode``; the Graph front-end maps the same code to its own shape)::

    StoreError
    ├── NoSuchMailbox            ErrorNonExistentMailbox
    ├── InvalidId                ErrorInvalidIdMalformed
    ├── FolderNotFound           ErrorFolderNotFound
    ├── FolderExists             ErrorFolderExists
    ├── DistinguishedFolder      ErrorDeleteDistinguishedFolder
    ├── ItemNotFound             ErrorItemNotFound
    │   └── OccurrenceDeleted    ErrorCalendarOccurrenceIsDeletedFromRecurrence
    ├── OccurrenceOutOfRange     ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange
    ├── ChangeKeyMismatch        ErrorIrresolvableConflict
    ├── InvalidProperty          ErrorInvalidPropertySet
    ├── InvalidRecurrence        ErrorCalendarInvalidRecurrence
    ├── UnknownTimeZone          ErrorTimeZone
    ├── InvalidSyncState         ErrorInvalidSyncStateData
    ├── ExpiredWatermark         ErrorInvalidWatermark
    └── InvalidOperation         (code given per case, e.g. ErrorCalendarIsOrganizerForAccept)
"""

# ruff: noqa: N818 - the names read as verdicts (InvalidSyncState is named by the architecture);
# StoreError is the base every front-end catches.

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises; ``code`` is the Exchange response code."""

    code = "ErrorInternalServerError"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class NoSuchMailbox(StoreError):
    """No mailbox has this address."""

    code = "ErrorNonExistentMailbox"

    def __init__(self, address: str) -> None:
        super().__init__(f"no mailbox {address!r}")
        self.address = address


class InvalidId(StoreError):
    """An id (or change key) that this store never made and cannot parse."""

    code = "ErrorInvalidIdMalformed"

    def __init__(self, value: str) -> None:
        super().__init__(f"malformed id {value!r}")
        self.value = value


class FolderNotFound(StoreError):
    """The folder id or distinguished name does not name a folder of the mailbox."""

    code = "ErrorFolderNotFound"


class FolderExists(StoreError):
    """A sibling folder already has this display name."""

    code = "ErrorFolderExists"


class DistinguishedFolder(StoreError):
    """Distinguished folders cannot be deleted or moved."""

    code = "ErrorDeleteDistinguishedFolder"


class ItemNotFound(StoreError):
    """No item has this id (it never existed, or was deleted or moved, which changes the id)."""

    code = "ErrorItemNotFound"


class OccurrenceDeleted(ItemNotFound):
    """The occurrence was deleted from its series."""

    code = "ErrorCalendarOccurrenceIsDeletedFromRecurrence"


class OccurrenceOutOfRange(StoreError):
    """The instance index lies outside the series' recurrence range."""

    code = "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange"


class ChangeKeyMismatch(StoreError):
    """The caller's change key is stale: the item changed since the caller read it."""

    code = "ErrorIrresolvableConflict"


class InvalidProperty(StoreError):
    """An update names a property the item does not have or that cannot be set."""

    code = "ErrorInvalidPropertySet"


class InvalidRecurrence(StoreError):
    """A recurrence pattern or range that Exchange would refuse."""

    code = "ErrorCalendarInvalidRecurrence"


class UnknownTimeZone(StoreError):
    """A Windows time zone id that the CLDR mapping does not know."""

    code = "ErrorTimeZone"


class InvalidSyncState(StoreError):
    """A sync state this store did not issue for this folder."""

    code = "ErrorInvalidSyncStateData"


class ExpiredWatermark(StoreError):
    """A notification watermark older than the event log keeps."""

    code = "ErrorInvalidWatermark"


class InvalidOperation(StoreError):
    """An action that Exchange refuses in this state; ``code`` names the exact refusal."""

    code = "ErrorInvalidOperation"
