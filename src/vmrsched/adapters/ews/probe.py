"""`EwsProbe`: the doctor's probes (`vmrsched.ports.probe.SetupProbe`) over Entra ID and EWS,
with the app's own credentials, every refusal classified as a `ProbeError`.

- ``token``: one client-credentials request of its own (not the cached `AppTokenClient`), so the
  AADSTS code of a refusal is at hand (7000215 wrong secret, 7000222 expired secret); the access
  token's claims are decoded WITHOUT verifying its signature (only ``aud`` and ``roles`` are
  read, to tell the admin what the token claims; nothing is trusted because of them).
- ``open_mailbox``: GetFolder of the mailbox's inbox, impersonating it (what every pass of the
  service does first).
- ``calendar``: GetFolder of the calendar with its permission set, and GetUserConfiguration of
  the calendar options (``IPM.Configuration.Calendar``, [MS-OXOCFG] 2.2.5.1.1) whose
  ``AutomateProcessing`` is the calendar processing mode.
- ``probe_meeting``: as the organizer, CreateItem of a meeting with the resource as attendee
  (SendToAllAndSaveCopy); FindItem in the resource's inbox and the organizer's inbox until the
  request arrives (or a response comes back); then every item carrying the probe's token in its
  subject is hard-deleted from both mailboxes (calendar, inbox, sent items, deleted items),
  without sending a cancellation.

How Exchange refuses, and the `Refusal` each becomes: HTTP 403 = EWS switched off
(``EWS_BLOCKED``); HTTP 401 = no permission in the token nor an RBAC grant (``NO_PERMISSION``);
``ErrorImpersonateUserDenied`` = outside the management scope (``OUT_OF_SCOPE``);
``ErrorNonExistentMailbox`` (``NO_MAILBOX``); network, TLS or 5xx (``UNREACHABLE``).
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import requests
from exchangelib import errors as ews
from exchangelib.ewsdatetime import UTC as EWS_UTC
from exchangelib.ewsdatetime import EWSDateTime
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE, CalendarItem
from exchangelib.properties import Attendee, HTMLBody, Mailbox

from vmrsched.adapters.auth.token_probe import AppProbe
from vmrsched.adapters.ews import marker
from vmrsched.adapters.ews.connection import Connection, RetryBudget
from vmrsched.adapters.ews.errors import http_status
from vmrsched.ports.mailbox import MailboxError, MailboxUnavailableError
from vmrsched.ports.probe import (
    CalendarFacts,
    MeetingOutcome,
    MeetingProbe,
    ProbeError,
    Refusal,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from vmrsched.config.settings import ExchangeSettings
    from vmrsched.ports.mailbox import InstallationMarker

#: [MS-OXOCFG] 2.2.5.1.1: AutomateProcessing's codes.
AUTOMATE_PROCESSING: Final = {0: "None", 1: "AutoUpdate", 2: "AutoAccept"}
PROBE_SUBJECT: Final = "vmrsched doctor probe"
#: A doctor answers quickly or says why not: little waiting on throttling.
PROBE_BUDGET: Final = RetryBudget(max_wait=timedelta(seconds=5), max_attempts=2)
POLL: Final = 0.5


class EwsProbe(AppProbe):
    """The doctor's probes for ``[exchange]`` (EWS). Blocking; not thread-safe.

    The token (`AppProbe.token`): one request of its own, its refusal classified by AADSTS code."""

    def __init__(
        self,
        exchange: ExchangeSettings,
        *,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(exchange, sleep=sleep, clock=clock)
        self._calls = Connection(
            exchange.ews_url, self._tokens, ca_bundle=exchange.ca_bundle, budget=PROBE_BUDGET
        )

    # --- mailboxes -----------------------------------------------------------------------------

    def open_mailbox(self, address: str) -> None:
        """Open the mailbox's inbox as the app."""
        account = self._calls.account(address)
        self._run("opening the mailbox", address, lambda: account.inbox)

    def calendar(self, address: str) -> CalendarFacts:
        """The calendar's Default permission and the calendar processing mode."""
        account = self._calls.account(address)

        def attempt() -> CalendarFacts:
            calendar = account.calendar
            default = "None"
            permissions = getattr(calendar.permission_set, "calendar_permissions", None) or []
            for entry in permissions:
                if getattr(entry.user_id, "distinguished_user", None) == "Default":
                    default = str(entry.calendar_permission_level or "None")
            try:
                options = calendar.get_user_configuration(name="Calendar", properties="Dictionary")
                code = (options.dictionary or {}).get("AutomateProcessing")
            except ews.ErrorItemNotFound:
                code = None
            mode = AUTOMATE_PROCESSING.get(code, "") if isinstance(code, int) else ""
            return CalendarFacts(default_permission=default, automate_processing=mode)

        facts: CalendarFacts = self._run("reading the calendar", address, attempt)
        return facts

    def read_marker(self, address: str) -> InstallationMarker | None:
        """The installation marker in the mailbox (`vmrsched.adapters.ews.marker`)."""
        try:
            return marker.read(self._calls, address)
        except MailboxError as exc:
            raise ProbeError(str(exc), reason=classify(exc), fix=exc.fix) from exc

    # --- the probe meeting ---------------------------------------------------------------------

    def probe_meeting(
        self, organizer: str, resource: str, *, deadline: timedelta, settle: timedelta
    ) -> MeetingProbe:
        """Send a probe request as ``organizer``, watch it, clean up."""
        tag = secrets.token_hex(4)
        subject = f"{PROBE_SUBJECT} {tag}"
        sender = self._calls.account(organizer)
        target = self._calls.account(resource)

        def send() -> None:
            start = EWSDateTime.now(EWS_UTC).replace(microsecond=0) + timedelta(days=7)
            CalendarItem(
                account=sender,
                folder=sender.calendar,
                subject=subject,
                body=HTMLBody(
                    "<p>vmrsched doctor checks calendar processing with this meeting request; "
                    "it deletes it again right away.</p>"
                ),
                start=start,
                end=start + timedelta(minutes=30),
                required_attendees=[Attendee(mailbox=Mailbox(email_address=resource))],
            ).save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)

        self._run("sending the probe meeting", organizer, send)
        try:
            outcome, detail = self._watch(sender, target, tag, deadline, settle)
        finally:
            leftovers = self._clean(sender, target, tag)
        return MeetingProbe(outcome, detail, cleaned_up=not leftovers, leftovers=leftovers)

    def _watch(
        self, sender: Any, target: Any, tag: str, deadline: timedelta, settle: timedelta
    ) -> tuple[MeetingOutcome, str]:
        ends = self._clock() + deadline.total_seconds()
        arrived: float | None = None
        while True:
            response = self._run(
                "looking for a response",
                sender.primary_smtp_address,
                lambda: _first(sender.inbox, tag),
            )
            if response is not None:
                return MeetingOutcome.PROCESSED, f"the organizer got '{response.subject}'"
            request = self._run(
                "looking for the request",
                target.primary_smtp_address,
                lambda: _first(target.inbox, tag),
            )
            now = self._clock()
            if request is None and arrived is not None:
                return MeetingOutcome.PROCESSED, "the request left the inbox unanswered by us"
            if request is not None and arrived is None:
                arrived = now
            if arrived is not None and now - arrived >= settle.total_seconds():
                return MeetingOutcome.UNPROCESSED, "the request waits in the inbox"
            if arrived is None and now >= ends:
                return MeetingOutcome.NOT_DELIVERED, "no request in the inbox"
            self._sleep(POLL)

    def _clean(self, sender: Any, target: Any, tag: str) -> list[str]:
        """Hard-delete every probe item in both mailboxes; what could not be deleted."""
        leftovers: list[str] = []
        for account in (sender, target):
            for name in ("calendar", "inbox", "sent", "trash"):
                where = f"{account.primary_smtp_address} {name}"
                try:
                    folder = getattr(account, name)
                    for item in folder.filter(subject__contains=tag):
                        if isinstance(item, CalendarItem):
                            item.delete(send_meeting_cancellations=SEND_TO_NONE)
                        else:
                            item.delete()
                    if list(folder.filter(subject__contains=tag).only("id")):
                        leftovers.append(where)
                except (ews.EWSError, requests.RequestException) as exc:
                    leftovers.append(f"{where} ({type(exc).__name__})")
        return leftovers

    # --- calls and their refusals --------------------------------------------------------------

    def _run(self, what: str, address: str, attempt: Callable[[], Any]) -> Any:
        try:
            return self._calls.call(what, address, attempt)
        except ProbeError:
            raise
        except MailboxError as exc:
            raise ProbeError(str(exc), reason=classify(exc), fix=exc.fix) from exc

    def close(self) -> None:
        """Close the EWS connection, the token client and the token session."""
        self._calls.close()
        self._tokens.close()
        self._session.close()


def _first(folder: Any, tag: str) -> Any:
    found = list(folder.filter(subject__contains=tag).only("subject", "item_class")[:1])
    return found[0] if found else None


def classify(error: MailboxError) -> Refusal:
    """Which refusal a translated EWS error was, from the exchangelib error behind it."""
    cause = error.__cause__ or error
    if isinstance(error, MailboxUnavailableError):
        return Refusal.UNREACHABLE
    if isinstance(cause, ews.ErrorNonExistentMailbox):
        return Refusal.NO_MAILBOX
    if isinstance(cause, ews.ErrorImpersonateUserDenied | ews.ErrorImpersonationDenied):
        return Refusal.OUT_OF_SCOPE
    status = http_status(cause) if isinstance(cause, ews.TransportError) else None
    if status == 403:
        return Refusal.EWS_BLOCKED
    if status == 401 or isinstance(cause, ews.UnauthorizedError):
        return Refusal.NO_PERMISSION
    if isinstance(cause, requests.RequestException | ews.TransportError):
        return Refusal.UNREACHABLE
    return Refusal.OTHER
