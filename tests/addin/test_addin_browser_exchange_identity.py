"""Exchange Server sign-in in the browser: the task pane with Exchange identity tokens.

The stand-in Outlook hands the add-in identity tokens that exchangesim issues over EWS
(``GetClientAccessToken``, what Outlook does), for vmrsched's manifest installed in exchangesim as
an organization add-in; vmrsched checks them against exchangesim's authentication metadata
document. On an Exchange-only installation the add-in uses them always; in a hybrid one, where
Outlook has no nested app authentication. Then the full loop: the organizer sends what the add-in
made, and the service books the alias it reserved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from addin_live import LiveVmrsched, OutlookPane
from test_addin_full_loop import meeting_times, responses, send_what_the_addin_made

from vmrsched.domain.meetings import MeetingRef
from vmrsched.web.manifest import build_manifest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import Browser

    from exchangesim.server import RunningServer

pytestmark = pytest.mark.slow

ALICE = "alice@contoso.com"


def exchange_vmrsched(server: RunningServer, folder: Path, *, naa: bool) -> LiveVmrsched:
    """vmrsched trusting exchangesim's identity tokens (and Entra ID's too when ``naa``), with
    its manifest installed in exchangesim as Exchange's admin would (``New-App``)."""
    addin: dict[str, object] = {"exchange_metadata_urls": [server.auth_metadata_url]}
    if not naa:
        addin |= {"client_id": "", "api_client_id": "", "api_id_uri": ""}
    live = LiveVmrsched(server, folder, addin=addin)
    server.admin().install_addin(build_manifest(live.settings))
    live.start()
    return live


@pytest.fixture
def on_premises(server: RunningServer, tmp_path: Path) -> Iterator[LiveVmrsched]:
    live = exchange_vmrsched(server, tmp_path, naa=False)
    yield live
    live.close()


@pytest.fixture
def hybrid(server: RunningServer, tmp_path: Path) -> Iterator[LiveVmrsched]:
    live = exchange_vmrsched(server, tmp_path, naa=True)
    yield live
    live.close()


def test_on_exchange_server_the_pane_signs_in_with_an_identity_token_and_the_meeting_is_booked(
    browser: Browser, server: RunningServer, on_premises: LiveVmrsched, shots: Path
) -> None:
    """Add a VMR with Exchange's identity token; Alice sends; booked under the reserved alias."""
    times = meeting_times()
    page = OutlookPane(
        browser,
        server,
        ALICE,
        shots,
        body="<p>Agenda: on-premises review</p>",
        required=["bob@contoso.com"],
        subject="On-premises review",
        start=times[0].isoformat(),
        end=times[1].isoformat(),
    )
    try:
        page.open(on_premises)
        page.click_add()
        text = page.wait_state("success")
        (reservation,) = page.reserved
        item = page.item()
        assert "getUserIdentityTokenAsync" in item["calls"]
        assert page.naa()["requests"] == []  # MSAL was never asked
    finally:
        page.close()
    assert reservation["alias"] in text
    stored = on_premises.store.get_reservation(reservation["alias_uuid"])
    assert stored is not None
    assert (stored.organizer, stored.organizer_claimed) == (ALICE, True)

    meeting = send_what_the_addin_made(server, item, times)
    on_premises.wait_for("the service's reply", lambda: on_premises.replies >= 1)
    booking = on_premises.store.booking_for_meeting(MeetingRef(ALICE, meeting.uid).meeting_key)
    assert booking is not None
    assert booking.is_active
    assert booking.alias == reservation["alias"]
    assert responses(server, "On-premises review") == ["Accepted"]


def test_in_a_hybrid_setup_an_outlook_without_naa_uses_the_identity_token(
    browser: Browser, server: RunningServer, hybrid: LiveVmrsched, shots: Path
) -> None:
    """With both sign-ins set up, Outlook without NestedAppAuth 1.1 falls back to Exchange's."""
    page = OutlookPane(browser, server, ALICE, shots, subject="Hybrid", nestedAppAuth=False)
    try:
        page.open(hybrid)
        page.click_add()
        page.wait_state("success")
        (reservation,) = page.reserved
        assert "getUserIdentityTokenAsync" in page.item()["calls"]
        assert page.naa()["requests"] == []
    finally:
        page.close()
    stored = hybrid.store.get_reservation(reservation["alias_uuid"])
    assert stored is not None
    assert stored.organizer_claimed


def test_in_a_hybrid_setup_an_outlook_with_naa_still_uses_entra(
    browser: Browser, server: RunningServer, hybrid: LiveVmrsched, shots: Path
) -> None:
    """Where NAA is there, the proven Entra user is the organizer (no claim)."""
    page = OutlookPane(browser, server, ALICE, shots, subject="Hybrid with NAA")
    try:
        page.open(hybrid)
        page.click_add()
        page.wait_state("success")
        (reservation,) = page.reserved
        assert "getUserIdentityTokenAsync" not in page.item()["calls"]
        assert page.naa()["requests"] != []
    finally:
        page.close()
    stored = hybrid.store.get_reservation(reservation["alias_uuid"])
    assert stored is not None
    assert (stored.organizer, stored.organizer_claimed) == (ALICE, False)
