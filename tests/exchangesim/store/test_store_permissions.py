"""Calendar permission levels: PowerShell names normalised, unknown levels refused, read access."""

from __future__ import annotations

from typing import Any

import pytest
from store_sample import ALICE

from exchangesim.store import CalendarPermission, Store


@pytest.mark.parametrize(
    ("name", "level", "reads"),
    [
        ("AvailabilityOnly", "FreeBusyTimeOnly", "TimeOnly"),
        ("LimitedDetails", "FreeBusyTimeAndSubjectAndLocation", "TimeAndSubjectAndLocation"),
        ("NonEditingAuthor", "NoneditingAuthor", "FullDetails"),
        ("reviewer", "Reviewer", "FullDetails"),
        ("Author", "Author", "FullDetails"),
        ("PublishingEditor", "PublishingEditor", "FullDetails"),
        ("Owner", "Owner", "FullDetails"),
        ("Contributor", "Contributor", "None"),
        ("None", "None", "None"),
    ],
)
def test_powershell_and_ews_names_give_the_ews_level_and_its_read_access(
    name: str, level: str, reads: str
) -> None:
    """Set-MailboxFolderPermission role names become EWS levels with the ReadItems they grant."""
    entry = CalendarPermission.of("bob@contoso.com", name)
    assert (entry.level, entry.read_access) == (level, reads)


def test_an_entry_made_with_a_powershell_name_is_normalised() -> None:
    """An entry built directly with a PowerShell role name holds the EWS level, not more."""
    name: Any = "LimitedDetails"
    entry = CalendarPermission("Default", name)
    assert (entry.level, entry.read_access) == (
        "FreeBusyTimeAndSubjectAndLocation",
        "TimeAndSubjectAndLocation",
    )


@pytest.mark.parametrize("name", ["ReadItems", "FullDetails", "Limited Details", ""])
def test_unknown_levels_are_refused(name: str) -> None:
    """A level that is neither an EWS level nor a PowerShell role is a ValueError."""
    with pytest.raises(ValueError, match="unknown calendar permission level"):
        CalendarPermission.of("Default", name)


def test_set_calendar_permissions_stores_normalised_levels(store: Store) -> None:
    """The store keeps the EWS level of an entry given by its PowerShell name."""
    name: Any = "AvailabilityOnly"
    folder = store.set_calendar_permissions(
        ALICE.email, [CalendarPermission("Default", name), CalendarPermission.of("x@y.z", "Editor")]
    )
    assert {p.user: p.level for p in folder.permissions} == {
        "Default": "FreeBusyTimeOnly",
        "x@y.z": "Editor",
    }
    assert [p.read_access for p in store.folder(ALICE.email, "calendar").permissions] == [
        "TimeOnly",
        "FullDetails",
    ]


def test_custom_level_reads_nothing() -> None:
    """Custom rights are not kept, so Custom reads nothing rather than everything."""
    assert CalendarPermission("Default", "Custom").read_access == "None"
