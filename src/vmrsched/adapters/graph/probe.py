"""`GraphProbe`: the doctor's probes (`vmrsched.ports.probe.SetupProbe`) over Entra ID and
Microsoft Graph v1.0, with the app's own credentials, every refusal classified as a `ProbeError`.

- ``token``: the shared client-credentials request (`vmrsched.adapters.auth.token_probe`), with
  the Graph scope; the token's claims are decoded WITHOUT verifying its signature.
- ``open_mailbox``: ``GET /users/{address}/mailFolders/inbox/messages?$top=1`` (needs
  ``Mail.Read`` or more) and ``GET /users/{address}/calendar`` (``Calendars.Read`` or more).
  Graph answers 404 ``ErrorInvalidUser`` for no such mailbox and 403 ``ErrorAccessDenied`` when
  the app may not use it: both refused = outside the management scope (or, when Graph says
  "Access is denied. Check credentials and try again.", no permission at all); only one refused
  = the app lacks that one permission.
- ``calendar``: ``GET /users/{address}/calendar/calendarPermissions``: the "My Organization"
  entry is the calendar's ``Default`` permission
  (https://learn.microsoft.com/graph/api/calendar-list-calendarpermissions). Graph has no API for
  calendar processing (``Get-CalendarProcessing`` is Exchange PowerShell only), so
  ``automate_processing`` is always empty: the probe meeting is the proof.
- ``probe_meeting``: as the organizer, ``POST /users/{organizer}/events`` with the resource as
  attendee (Graph sends the request); then the request's arrival in the resource mailbox
  (``$filter=contains(subject,'<tag>')``), the event it links to
  (``$expand=microsoft.graph.eventMessage/event``, what vmrsched on Graph answers: tentative and
  unanswered = ``AutoUpdate``, none = ``None``), and any answer Exchange sent the organizer on
  its own (``AutoAccept``). Afterwards the probe's events (known by id: no ``$filter`` on
  events, which Graph answers with a 500 when any event has no subject) and every message with
  the probe's tag are removed with ``permanentDelete`` from both mailboxes
  (https://learn.microsoft.com/graph/api/event-permanentdelete). Graph cannot delete an
  organizer's meeting without cancelling it, so the resource gets a cancellation, which is
  removed too.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import requests

from vmrsched.adapters.auth.token_probe import AppProbe
from vmrsched.adapters.graph import marker
from vmrsched.ports.mailbox import MailboxError
from vmrsched.ports.probe import (
    CalendarFacts,
    MeetingOutcome,
    MeetingProbe,
    ProbeError,
    Refusal,
)

if TYPE_CHECKING:
    from vmrsched.ports.mailbox import InstallationMarker

PROBE_SUBJECT: Final = "vmrsched doctor probe"
POLL: Final = 0.5
#: Graph's calendarRoleType → the EWS permission level names the doctor reports.
ROLE_LEVELS: Final = {
    "none": "None",
    "freeBusyRead": "FreeBusyTimeOnly",
    "limitedRead": "FreeBusyTimeAndSubjectAndLocation",
    "read": "Reviewer",
    "write": "Editor",
}
#: What Graph says when the app holds no permission at all (not a scope miss).
NO_GRANT_MESSAGE: Final = "Check credentials"
_UNREACHABLE_FIX: Final = (
    "check [exchange] graph_url and that this host reaches it (proxy, DNS, firewall); for a "
    "private CA set [exchange] ca_bundle"
)
_ASSIGN_FIX: Final = (
    "grant the app {what} for the scheduling group only: New-ManagementRoleAssignment -App "
    "<app id> -Role '{role}' -CustomResourceScope <scope on the group> (vmrsched setup-script "
    "--api graph prints every step); role changes take up to 2 hours"
)


@dataclass(frozen=True)
class Answer:
    """One Graph answer: status, parsed JSON body, and the error's code and message."""

    status: int
    body: dict[str, Any]
    code: str = ""
    message: str = ""

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.code}: {self.message}".rstrip(": ")


class GraphProbe(AppProbe):
    """The doctor's probes for ``[exchange] api = "graph"``. Blocking; not thread-safe.

    The token (`AppProbe.token`): a Graph token, as ``[exchange] token_scope`` asks."""

    @property
    def _root(self) -> str:
        return self._exchange.graph_url.rstrip("/")

    # --- mailboxes -----------------------------------------------------------------------------

    def open_mailbox(self, address: str) -> None:
        """Read one message of the inbox and the calendar as the app."""
        user = _user(address)
        mail = self._call("GET", f"{user}/mailFolders/inbox/messages?$top=1&$select=id")
        calendar = self._call("GET", f"{user}/calendar?$select=id")
        for answer in (mail, calendar):
            if answer.status == 401:
                raise ProbeError(
                    f"Graph refused the app's token ({answer})",
                    reason=Refusal.NO_PERMISSION,
                    fix="leave [exchange] token_scope empty (or "
                    "https://graph.microsoft.com/.default) so the token is for Graph",
                )
            if answer.status == 404:
                raise ProbeError(
                    f"there is no mailbox {address} ({answer})", reason=Refusal.NO_MAILBOX
                )
        refused = {
            what: answer
            for what, answer in (("mail", mail), ("calendar", calendar))
            if answer.status == 403
        }
        if not refused:
            for answer in (mail, calendar):
                if answer.status != 200:
                    raise ProbeError(f"{address}: {answer}", reason=Refusal.OTHER)
            return
        if len(refused) == 1:
            ((what, answer),) = refused.items()
            role = (
                "Application Mail.ReadWrite"
                if what == "mail"
                else ("Application Calendars.ReadWrite")
            )
            other = "calendar" if what == "mail" else "mail"
            raise ProbeError(
                f"Graph lets the app read {address}'s {other} but refuses its {what} ({answer}): "
                f"the app lacks {role.removeprefix('Application ')} for this mailbox",
                reason=Refusal.NO_PERMISSION,
                fix=_ASSIGN_FIX.format(what=role.removeprefix("Application "), role=role),
            )
        answer = refused["mail"]
        if NO_GRANT_MESSAGE.casefold() in answer.message.casefold():
            raise ProbeError(
                f"Graph refuses {address}'s mail and calendar ({answer}): the app holds no "
                "Graph permission for it",
                reason=Refusal.NO_PERMISSION,
                fix=_ASSIGN_FIX.format(
                    what="Calendars.ReadWrite, Mail.ReadWrite and Mail.Send",
                    role="Application Calendars.ReadWrite' (and 'Application Mail.ReadWrite', "
                    "'Application Mail.Send",
                ),
            )
        raise ProbeError(
            f"Graph refuses {address}'s mail and calendar ({answer})",
            reason=Refusal.OUT_OF_SCOPE,
        )

    def calendar(self, address: str) -> CalendarFacts:
        """The calendar's Default permission from its calendarPermissions; calendar processing
        is not readable over Graph (empty)."""
        answer = self._call("GET", f"{_user(address)}/calendar/calendarPermissions")
        if answer.status != 200:
            raise ProbeError(f"reading the calendar permissions: {answer}", reason=Refusal.OTHER)
        default = "None"
        for entry in answer.body.get("value") or ():
            if not isinstance(entry, dict):
                continue
            name = (entry.get("emailAddress") or {}).get("name")
            if entry.get("isRemovable") is False and name == "My Organization":
                role = str(entry.get("role") or "none")
                default = ROLE_LEVELS.get(role, role)
        return CalendarFacts(default_permission=default, automate_processing="")

    def read_marker(self, address: str) -> InstallationMarker | None:
        """The installation marker on ``address``'s Inbox (`marker`), or None."""
        path = marker.folder_path(_user(address)) + marker.EXPAND
        answer = self._call("GET", path)
        if answer.status != 200:
            raise ProbeError(
                f"reading the installation marker on {address}: {answer}", reason=Refusal.OTHER
            )
        return marker.parse(answer.body)

    # --- the probe meeting ---------------------------------------------------------------------

    def probe_meeting(
        self, organizer: str, resource: str, *, deadline: timedelta, settle: timedelta
    ) -> MeetingProbe:
        """Send a probe request as ``organizer``, watch it, clean up."""
        tag = secrets.token_hex(4)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
        event = {
            "subject": f"{PROBE_SUBJECT} {tag}",
            "body": {
                "contentType": "html",
                "content": "<p>vmrsched doctor checks calendar processing with this meeting "
                "request; it deletes it again right away.</p>",
            },
            "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "end": {
                "dateTime": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
                "timeZone": "UTC",
            },
            "attendees": [{"emailAddress": {"address": resource}, "type": "resource"}],
        }
        sent = self._call("POST", f"{_user(organizer)}/events", event)
        if sent.status != 201:
            raise MailboxError(
                f"creating the probe meeting as {organizer}: {sent}",
                fix="the app needs Calendars.ReadWrite on the organizer's mailbox",
            )
        events = {(organizer, str(sent.body.get("id") or ""))}
        try:
            outcome, detail = self._watch(
                organizer, resource, tag, deadline=deadline, settle=settle, events=events
            )
        finally:
            leftovers = self._clean(organizer, resource, tag, events)
        return MeetingProbe(outcome, detail, cleaned_up=not leftovers, leftovers=leftovers)

    def _watch(
        self,
        organizer: str,
        resource: str,
        tag: str,
        *,
        deadline: timedelta,
        settle: timedelta,
        events: set[tuple[str, str]],
    ) -> tuple[MeetingOutcome, str]:
        """Until the request arrived (and ``settle`` passed): an answer in the organizer's inbox
        is AutoAccept; the request's ``event`` link (what vmrsched on Graph answers) tells
        AutoUpdate (a tentative, unanswered event) from None (no event)."""
        ends = self._clock() + deadline.total_seconds()
        arrived: float | None = None
        while True:
            answers = self._tagged(organizer, "mailFolders/inbox/messages", tag)
            if answers:
                return MeetingOutcome.PROCESSED, f"the organizer got '{answers[0]['subject']}'"
            linked = self._linked_events(resource, tag)
            events.update((resource, str(e.get("id") or "")) for e in linked)
            now = self._clock()
            if arrived is None and self._tagged(resource, "messages", tag):
                arrived = now
            if arrived is not None and now - arrived >= settle.total_seconds():
                return _judge(linked)
            if arrived is None and now >= ends:
                return MeetingOutcome.NOT_DELIVERED, "no request reached the resource mailbox"
            self._sleep(POLL)

    def _tagged(self, address: str, collection: str, tag: str) -> list[dict[str, Any]]:
        """The messages (or events) of ``collection`` whose subject holds ``tag``."""
        query = f"$filter=contains(subject,'{tag}')&$select=id,subject&$top=50"
        return self._values(address, f"{collection}?{query}")

    def _linked_events(self, address: str, tag: str) -> list[dict[str, Any]]:
        """The events the probe's event messages in ``address`` link to
        (``$expand=microsoft.graph.eventMessage/event``; none when nothing is on the calendar)."""
        query = (
            f"$filter=contains(subject,'{tag}')&$top=50&$expand=microsoft.graph.eventMessage/event"
        )
        messages = self._values(address, f"messages?{query}")
        return [m["event"] for m in messages if isinstance(m.get("event"), dict)]

    def _values(self, address: str, path: str) -> list[dict[str, Any]]:
        answer = self._call("GET", f"{_user(address)}/{path}")
        if answer.status != 200:
            raise ProbeError(f"looking for the probe in {address}: {answer}", reason=Refusal.OTHER)
        return [v for v in answer.body.get("value") or () if isinstance(v, dict)]

    def _clean(
        self, organizer: str, resource: str, tag: str, events: set[tuple[str, str]]
    ) -> list[str]:
        """permanentDelete the probe's events (the resource's first, then the organizer's,
        which sends a cancellation), then every probe message in both mailboxes; what is left
        or could not be looked at."""
        with contextlib.suppress(ProbeError):
            events.update(
                (resource, str(e.get("id") or "")) for e in self._linked_events(resource, tag)
            )
        ordered = sorted((e for e in events if e[1]), key=lambda e: e[0] == organizer)
        for address, event_id in ordered:
            with contextlib.suppress(ProbeError):
                self._call("POST", f"{_user(address)}/events/{quote(event_id)}/permanentDelete")
        for _ in range(2):  # the second round catches what the first one's cancellation brought
            for address in (resource, organizer):
                with contextlib.suppress(ProbeError):
                    for item in self._tagged(address, "messages", tag):
                        path = f"{_user(address)}/messages/{quote(str(item['id']))}"
                        self._call("POST", f"{path}/permanentDelete")
        leftovers: list[str] = []
        for address, event_id in ordered:
            try:
                found = self._call("GET", f"{_user(address)}/events/{quote(event_id)}?$select=id")
            except ProbeError as exc:
                leftovers.append(f"{address} event ({exc})")
                continue
            if found.status != 404:
                leftovers.append(f"{address} event ({found.status})")
        for address in (resource, organizer):
            try:
                if self._tagged(address, "messages", tag):
                    leftovers.append(f"{address} messages")
            except ProbeError as exc:
                leftovers.append(f"{address} messages ({exc})")
        return leftovers

    # --- HTTP ----------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Answer:
        """One Graph request; network failures, 429 and 5xx are `Refusal.UNREACHABLE`."""
        try:
            token = self._tokens.token()
        except MailboxError as exc:
            raise ProbeError(str(exc), reason=Refusal.TOKEN_REFUSED, fix=exc.fix) from exc
        try:
            response = self._session.request(
                method,
                f"{self._root}/{path}",
                json=body,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=30,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise ProbeError(
                f"Microsoft Graph at {self._root} does not answer ({type(exc).__name__})",
                reason=Refusal.UNREACHABLE,
                fix=_UNREACHABLE_FIX,
            ) from exc
        with response:
            try:
                data = response.json() if response.content else {}
            except ValueError:
                data = {}
        data = data if isinstance(data, dict) else {}
        found = data.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        answer = Answer(
            response.status_code,
            data,
            str(error.get("code") or ""),
            str(error.get("message") or ""),
        )
        if answer.status == 429 or answer.status >= 500:
            raise ProbeError(
                f"Microsoft Graph at {self._root} is unavailable ({answer})",
                reason=Refusal.UNREACHABLE,
                fix=_UNREACHABLE_FIX,
            )
        return answer

    def close(self) -> None:
        """Close the token client and the HTTP session."""
        self._tokens.close()
        self._session.close()


def _user(address: str) -> str:
    return f"users/{quote(address, safe='@')}"


def _judge(events: list[dict[str, Any]]) -> tuple[MeetingOutcome, str]:
    """What the event the arrived request links to says."""
    if not events:
        return (
            MeetingOutcome.UNPROCESSED,
            "the request waits in the inbox with no event on the calendar",
        )
    event = events[0]
    response = str((event.get("responseStatus") or {}).get("response") or "")
    show_as = str(event.get("showAs") or "")
    if response in ("", "none", "notResponded"):
        return (
            MeetingOutcome.TENTATIVE,
            f"the Calendar Attendant put it on the calendar (showAs {show_as}), unanswered",
        )
    return MeetingOutcome.PROCESSED, f"the resource's event is {response} (showAs {show_as})"
