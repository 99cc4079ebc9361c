"""The commands: ``run``, ``check-config``, ``reserve`` and ``policy-check``."""

from __future__ import annotations

import asyncio
import functools
import json
import signal
import socket
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

import structlog

from vmrsched import bootstrap
from vmrsched.cli.edge import CONFIG, FAILED, OK, UsageError
from vmrsched.config import ConfigError, load_installation_key, load_settings
from vmrsched.ports.mailbox import MailboxUnavailableError
from vmrsched.service import installation
from vmrsched.service.reserve import reserve
from vmrsched.service.runtime import service_tasks
from vmrsched.service.supervisor import StopReport, Supervisor, Task, periodic
from vmrsched.web import policy
from vmrsched.web.addin import addin_service
from vmrsched.web.app import WebOptions, build_app
from vmrsched.web.server import web_task

if TYPE_CHECKING:
    from pathlib import Path

    from vmrsched.config import Settings
    from vmrsched.ports.mailbox import Mailbox

log = structlog.get_logger(__name__)

#: How long tasks get to finish after a stop signal.
SHUTDOWN_GRACE = timedelta(seconds=10)


def load(config: Path) -> Settings:
    """The settings in ``config`` (and the environment); ConfigError lists every problem."""
    if not config.exists():
        raise UsageError(
            f"no configuration file at {config}",
            fix="pass --config FILE; docs/reference/configuration.md has a minimal example",
        )
    return load_settings(config)


def web_options(components: bootstrap.Components, mailbox: Mailbox | None = None) -> WebOptions:
    """The web application's options from the built service (and the mailbox, whose change
    notifications it may receive)."""
    settings = components.settings
    poll = timedelta(seconds=settings.service.poll_interval_seconds)
    return WebOptions(
        store=components.store,
        clock=components.clock,
        health=components.health,
        alias_format=settings.alias_format(),
        video=settings.video,
        ready_max_age=max(3 * poll, timedelta(minutes=2)),
        addin=addin_service(settings, components.store, components.rules, components.clock),
        notifications=None if mailbox is None else bootstrap.change_notifications(mailbox),
    )


async def serve(tasks: list[Task], *, grace: timedelta = SHUTDOWN_GRACE) -> StopReport:
    """Run ``tasks`` under a supervisor until SIGINT/SIGTERM or until one of them dies."""
    supervisor = Supervisor(tasks, grace=grace)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(
            signum, supervisor.request_stop, stop, f"{signal.Signals(signum).name} received"
        )
    try:
        return await supervisor.run(stop)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def run(config: Path, *, take_over: bool = False) -> int:
    """``vmrsched run``: watch the resource mailbox and serve the web API until stopped.

    First the installation marker: a mailbox another live installation serves is refused
    (`InstallationConflictError`) unless ``take_over``; then a side task keeps our heartbeat.
    """
    settings = load(config)
    components = bootstrap.build(settings)
    try:
        mailbox = bootstrap.open_mailbox(settings)
        try:
            ours, host = bootstrap.installation_key(settings).key_id, socket.gethostname()
            first_heartbeat = None
            try:
                installation.claim(mailbox, ours, host, components.clock, take_over=take_over)
            except MailboxUnavailableError as exc:
                # Exchange is down right now: start anyway (the service waits out outages) and
                # let the heartbeat check the marker as soon as Exchange answers.
                log.warning("installation_claim_deferred", mailbox=mailbox.address, error=str(exc))
                first_heartbeat = timedelta(0)
            tasks = service_tasks(components.service_parts(mailbox))
            tasks.append(
                periodic(
                    "installation-heartbeat",
                    installation.HEARTBEAT_EVERY,
                    functools.partial(
                        installation.heartbeat, mailbox, ours, host, components.clock
                    ),
                    first_delay=first_heartbeat,
                )
            )
            tasks.append(web_task(build_app(web_options(components, mailbox)), settings.web.listen))
            log.info(
                "service_starting",
                mailbox=mailbox.address,
                database=settings.database.display_url,
                listen=settings.web.listen,
            )
            report = asyncio.run(serve(tasks))
        finally:
            mailbox.close()
    finally:
        components.close()
    if not report.ok:
        print(f"vmrsched: the service stopped: {report.reason} ({report.error})", file=sys.stderr)
        print("  fix: see the task_died log line above for the cause", file=sys.stderr)
    return OK if report.ok else FAILED


def check_config(config: Path, out: TextIO) -> int:
    """``vmrsched check-config``: every problem at once (exit 2), or the settings in effect."""
    try:
        settings = load(config)
    except ConfigError as exc:
        print(exc, file=out)
        return CONFIG
    key_file = settings.service.installation_key_file
    if key_file.exists():
        try:
            load_installation_key(key_file)
        except ConfigError as exc:
            print(exc, file=out)
            return CONFIG
    print(f"{config}: the configuration is valid.", file=out)
    for section, values in settings.display().items():
        print(f"\n[{section}]", file=out)
        for name, value in values.items():
            print(f"  {name} = {value}", file=out)
    if not key_file.exists():
        print(f"\nnote: the installation key {key_file} will be created on first start", file=out)
    return OK


def reserve_command(config: Path, organizer: str, *, as_json: bool, out: TextIO) -> int:
    """``vmrsched reserve``: a fresh alias, its token and rendered instructions."""
    settings = load(config)
    components = bootstrap.build(settings)
    try:
        offer = reserve(components.store, components.rules, components.clock, organizer)
    finally:
        components.close()
    reservation = offer.reservation
    if as_json:
        document = {
            "organizer": reservation.organizer,
            "alias": reservation.alias,
            "numeric_alias": reservation.numeric_alias,
            "alias_uuid": reservation.token_id,
            "alias_token": offer.token,
            "expires": reservation.expires.isoformat(),
            "instructions": {"html": offer.instructions.html, "text": offer.instructions.text},
        }
        print(json.dumps(document, indent=2), file=out)
        return OK
    expires = reservation.expires.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"Reserved for {reservation.organizer} (unused, it expires {expires})", file=out)
    print(f"  alias:          {reservation.alias}", file=out)
    print(f"  numeric alias:  {reservation.numeric_alias}", file=out)
    print(f"  alias token:    {offer.token}", file=out)
    print("\nJoining instructions (put them in the meeting's body, token included):\n", file=out)
    print(offer.instructions.text, file=out)
    return OK


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; without an offset it is taken as UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{text!r} is not a time", fix="write it as ISO 8601, e.g. 2026-11-23T09:30+01:00"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def policy_check(config: Path, alias: str, at: str | None, out: TextIO) -> int:
    """``vmrsched policy-check``: the answer Pexip Infinity would get for ``alias``."""
    settings = load(config)
    components = bootstrap.build(settings)
    when = parse_time(at) if at is not None else components.clock()
    try:
        namespace = policy.AliasNamespace.of(settings.alias_format())
        answer: dict[str, Any] = policy.answer_for(components.store, namespace, alias, when)
    finally:
        components.close()
    print(f"GET {policy.PATH}?local_alias={alias}  at {when.isoformat()}", file=out)
    print(json.dumps(answer, indent=2), file=out)
    return OK
