"""The add-in's task pane in Debian's Chromium, served by a running vmrsched.

Outlook is stood in for by ``outlook_standin.js``: the Office.js appointment compose API, and the
nested-app-authentication bridge Office.js gives MSAL.js, whose broker hands out tokens that
exchangesim's token endpoint issues; everything else is real: the pages, scripts and the
vendored MSAL.js (its NAA code included) served by vmrsched,
its config.json, and ``POST /api/v1/reservations`` with token validation against exchangesim's
keys. Each state is photographed (see conftest: ``VMRSCHED_UPDATE_SCREENSHOTS=1``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from addin_live import ADDIN_APP, API_ID_URI, LiveVmrsched, OutlookPane

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from playwright.sync_api import Browser

    from exchangesim.server import RunningServer

pytestmark = pytest.mark.slow

ALICE = "alice@contoso.com"
RESOURCE = "vmr@contoso.com"
AGENDA = "<p>Agenda: the 2027 roadmap</p>"
#: The MSAL.js version vendored into addin/web/vendor/ (pinned in addin/package.json).
MSAL = json.loads((Path(__file__).parents[2] / "addin" / "package.json").read_text())[
    "devDependencies"
]["@azure/msal-browser"]


@pytest.fixture
def pane(
    browser: Browser, server: RunningServer, shots: Path
) -> Iterator[Callable[..., OutlookPane]]:
    opened: list[OutlookPane] = []

    def make(**item: Any) -> OutlookPane:
        made = OutlookPane(browser, server, ALICE, shots, **item)
        opened.append(made)
        return made

    yield make
    for made in opened:
        made.close()


def addresses(item: dict[str, Any], which: str = "required") -> list[str]:
    return [entry["emailAddress"] for entry in item[which]]


def test_add_a_vmr_puts_the_reserved_vmr_into_body_location_and_attendees(
    pane: Callable[..., OutlookPane], vmrsched: LiveVmrsched
) -> None:
    """Working, then success: the instructions follow the agenda, the join link is the location,
    the resource is invited beside Bob; the reservation belongs to the signed-in user (Alice)."""
    page = pane(body=AGENDA, required=["bob@contoso.com"], subject="Roadmap review")
    page.open(vmrsched)
    page.hold_reservations = True
    page.click_add()
    assert page.wait_state("working") == "Adding a video meeting room…"
    assert page.page.get_by_role("button", name="Add a VMR").is_disabled()
    page.screenshot("working")
    status = page.page.locator("#status")
    assert (status.get_attribute("role"), status.get_attribute("aria-live")) == ("status", "polite")
    page.release_held()
    shown = page.wait_state("success")
    page.screenshot("success")

    (reservation,) = page.reserved
    alias = reservation["alias"]
    assert shown.startswith(f"Video meeting room {alias} added.")
    item = page.item()
    assert item["body"].startswith(AGENDA)
    assert reservation["token"] in re.sub(r"<[^>]+>", "", item["body"])
    assert reservation["join_url"] in item["body"]
    assert item["location"] == reservation["location"]
    assert addresses(item) == ["bob@contoso.com", RESOURCE]
    assert page.page.inner_text("#detail-alias") == alias

    stored = vmrsched.store.get_reservation(reservation["alias_uuid"])
    assert stored is not None
    assert (stored.organizer, stored.alias) == (ALICE, alias)
    # The real, vendored MSAL.js asked Outlook's broker (the stand-in bridge) for the token.
    naa = page.naa()
    assert [request["method"] for request in naa["requests"]] == ["GetInitContext", "GetToken"]
    asked = naa["requests"][1]
    assert (asked["clientLibrary"], asked["clientLibraryVersion"]) == ("msal.js.browser", MSAL)
    assert asked["tokenParams"]["clientId"] == ADDIN_APP
    assert f"{API_ID_URI}/access_as_user" in asked["tokenParams"]["scope"].split()
    assert not [line for line in page.console if "error" in line.lower()], page.console


def test_a_second_click_says_the_meeting_already_has_a_vmr(
    pane: Callable[..., OutlookPane], vmrsched: LiveVmrsched
) -> None:
    """After success the button stays, and pressing it again changes nothing and says why."""
    page = pane(body=AGENDA)
    page.open(vmrsched)
    page.click_add()
    page.wait_state("success")
    body = page.item()["body"]
    page.click_add()
    shown = page.wait_state("already")
    page.screenshot("already")
    assert shown == "This meeting already has a video meeting room. Nothing was changed."
    assert page.item()["body"] == body
    assert len(page.reserved) == 1


def test_a_teams_meeting_is_left_alone(
    pane: Callable[..., OutlookPane], vmrsched: LiveVmrsched
) -> None:
    """Teams join details already in the body: no reservation, no change, and a plain reason."""
    teams = (
        '<p><a href="https://teams.microsoft.com/l/meetup-join/19%3ameeting_MjA%40thread.v2/0">'
        "Join the meeting now</a></p>"
    )
    page = pane(body=AGENDA + teams)
    page.open(vmrsched)
    page.click_add()
    assert page.wait_state("already").startswith(
        "This meeting already has Microsoft Teams joining details."
    )
    assert page.item()["body"] == AGENDA + teams
    assert page.reserved == []


def test_an_organizer_the_service_refuses_sees_its_reason_and_nothing_changes(
    pane: Callable[..., OutlookPane], server: RunningServer, tmp_path: Path
) -> None:
    """vmrsched allows only fabrikam.com organizers: Alice's reservation gets 403 and the pane
    shows the service's own message; the meeting is left as it was."""
    refusing = LiveVmrsched(
        server, tmp_path, meetings={"allowed_organizer_domains": ["fabrikam.com"]}
    )
    refusing.start()
    try:
        page = pane(body=AGENDA)
        page.open(refusing)
        page.click_add()
        shown = page.wait_state("error")
        page.screenshot("error")
    finally:
        refusing.close()
    assert shown == (
        "Could not add a video meeting room: alice@contoso.com is not in an allowed organizer"
        " domain (fabrikam.com). Nothing was changed."
    )
    item = page.item()
    assert item["body"] == AGENDA
    assert item["location"] == ""
    assert addresses(item) == []
    assert page.reserved == []


def test_a_forged_token_is_refused_and_the_pane_says_so(
    pane: Callable[..., OutlookPane], vmrsched: LiveVmrsched
) -> None:
    """A token with a forged signature gets 401 from vmrsched; the pane shows its message."""
    page = pane(body=AGENDA)
    page.open(vmrsched)
    page.set_token_mode("tampered")
    page.click_add()
    shown = page.wait_state("error")
    assert shown.startswith("Could not add a video meeting room: ")
    assert "signature" in shown
    assert shown.endswith("Nothing was changed.")
    item = page.item()
    assert item["body"] == AGENDA
    assert item["location"] == ""
    assert addresses(item) == []


def test_with_the_service_stopped_a_placeholder_is_inserted(
    pane: Callable[..., OutlookPane], vmrsched: LiveVmrsched
) -> None:
    """The pane was opened, then vmrsched stopped: the placeholder text with a fresh VMRP token
    and the resource as attendee, so the meeting gets its VMR once it is sent."""
    page = pane(body=AGENDA, location="Room 4.01")
    page.open(vmrsched)
    vmrsched.stop()
    page.click_add()
    shown = page.wait_state("unreachable")
    page.screenshot("unreachable")
    assert shown.startswith("The video meeting service could not be reached")
    item = page.item()
    assert item["body"].startswith(AGENDA)
    tokens = re.findall(r"VMRP:-[A-Z0-9]{32}#", item["body"])
    assert len(tokens) == 1
    assert "{{placeholder_token}}" not in item["body"]
    assert "Video meeting details will follow" in item["body"]
    assert item["location"] == "Room 4.01"
    assert addresses(item) == [RESOURCE]


def test_the_one_click_command_adds_a_vmr_and_reports_in_the_message_bar(
    pane: Callable[..., OutlookPane], vmrsched: LiveVmrsched
) -> None:
    """commands.html's addVmr: progress, then an informational message; the item is filled in
    as by the pane, and the event is completed once."""
    page = pane(body=AGENDA, required=["bob@contoso.com"])
    shown = page.run_command(vmrsched)
    (reservation,) = page.reserved
    assert [note["type"] for note in shown] == ["progressIndicator", "informationalMessage"]
    assert shown[-1]["message"].startswith(f"Video meeting room {reservation['alias']} added.")
    assert len(shown[-1]["message"]) <= 150
    assert shown[-1]["icon"] == "Icon.16x16"
    item = page.item()
    assert item["body"].startswith(AGENDA)
    assert reservation["token"] in re.sub(r"<[^>]+>", "", item["body"])
    assert item["location"] == reservation["location"]
    assert addresses(item) == ["bob@contoso.com", RESOURCE]


def test_when_outlook_has_no_account_to_sign_in_with_the_pane_says_so(
    pane: Callable[..., OutlookPane], vmrsched: LiveVmrsched
) -> None:
    """The broker has no account: MSAL's silent and popup requests both fail; the pane shows a
    sign-in error, nothing is reserved and the meeting is unchanged."""
    page = pane(body=AGENDA)
    page.open(vmrsched)
    page.set_token_mode("no-account")
    page.click_add()
    shown = page.wait_state("error")
    assert shown == (
        "Could not add a video meeting room: signing in failed: the sign-in window was closed"
        " before signing in finished (user_cancelled). Nothing was changed."
    )
    assert [request["method"] for request in page.naa()["requests"]] == [
        "GetInitContext",
        "GetToken",
        "GetTokenPopup",
    ]
    assert page.reserved == []
    assert page.item()["body"] == AGENDA
