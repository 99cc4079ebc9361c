"""``vmrsched demo``: the whole flow on this machine, against the local Exchange simulator.

It starts `exchangesim` with its demo tenant (Contoso: organizers Alice, Bob and Carol, the
equipment mailbox ``vmr@contoso.com`` and the vmrsched app registration scoped to them), writes a
configuration into a temporary folder and runs the real service on it (EWS adapter, SQLite, web
API). Then the sample organizers use exchangelib — an independent EWS client — as their mail
client and send real meeting requests to the resource mailbox:

1. a single meeting carrying a reservation from ``reserve`` (what the add-in inserts);
2. a weekly series with a reservation;
3. one occurrence of that series moved to another time;
4. a meeting that is accepted and then cancelled;
5. a meeting sent without the add-in (no alias token).

Each step waits for its outcome where the organizer sees it — the response in the organizer's
inbox (a cancellation gets none: it waits for the released booking) — and a table shows what
happened to each. ``--once`` exits afterwards; otherwise the service keeps running until Ctrl-C.

The organizers' script and the table are in `vmrsched.cli.demo_scenario`. These, and
`vmrsched.cli.demo_tenant` (the demo tenant's ids, settings and organizers' client), are the only
modules of vmrsched that import exchangesim (import-linter checks that).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from exchangesim.server import start_in_thread
from vmrsched import bootstrap
from vmrsched.cli import logs
from vmrsched.cli.commands import web_options
from vmrsched.cli.demo_scenario import DemoError, Scenario, print_table
from vmrsched.cli.demo_tenant import (
    RESOURCE,
    demo_settings,
    demo_simulator,
    install_demo_addin,
)
from vmrsched.cli.edge import FAILED, OK
from vmrsched.config import settings_from_mapping
from vmrsched.service.reserve import reserve
from vmrsched.service.runtime import service_tasks
from vmrsched.service.supervisor import Supervisor
from vmrsched.service.threads import in_thread
from vmrsched.web.app import build_app
from vmrsched.web.server import split_listen, web_task

if TYPE_CHECKING:
    from exchangesim.server import RunningServer
    from vmrsched.cli.demo_scenario import Row


def _toml(settings: dict[str, Any]) -> str:
    lines = []
    for section, values in settings.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            shown = "**********" if key == "client_secret" else value
            text = str(shown).lower() if isinstance(shown, bool) else shown
            lines.append(f"{key} = {text}" if isinstance(shown, int) else f'{key} = "{text}"')
        lines.append("")
    return "\n".join(lines)


def run_demo(
    *, once: bool, listen: str, out: TextIO, log_level: str = "info", api: str = "ews"
) -> int:
    """Run the demo; see the module docstring. The service's log goes to a file in the demo's
    folder (its last lines are shown when something fails)."""
    with tempfile.TemporaryDirectory(prefix="vmrsched-demo-") as temp:
        folder = Path(temp)
        log_file = folder / "service.log"
        with (
            log_file.open("a", encoding="utf-8") as log_stream,
            logs.redirected(log_stream, level=log_level),
        ):
            status = _run_demo(folder, once=once, listen=listen, out=out, api=api)
        if status != OK:
            tail = log_file.read_text(encoding="utf-8").splitlines()[-15:]
            print("\nThe service's last log lines:", file=out)
            for line in tail:
                print(f"  {line[:400]}", file=out)
        return status


def _run_demo(folder: Path, *, once: bool, listen: str, out: TextIO, api: str = "ews") -> int:
    server = start_in_thread(demo_simulator(api), "127.0.0.1", 0, tls=True)
    saved = {name: os.environ.get(name) for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    # The organizers' exchangelib trusts the simulator's private CA through requests.
    os.environ["REQUESTS_CA_BUNDLE"] = str(server.ca_file)
    os.environ.pop("CURL_CA_BUNDLE", None)
    try:
        return asyncio.run(_demo(server, folder, listen=listen, once=once, out=out, api=api))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()


def run_demo_doctor(*, out: TextIO, log_level: str = "warning", api: str = "ews") -> int:
    """``vmrsched demo [--api graph] --doctor``: ``vmrsched doctor`` with every probe against the
    demo tenant set up for ``api`` (outsider Dave, organizer Alice, a probe meeting), as an admin
    would run it on a tenant."""
    from vmrsched.cli.doctor import DoctorOptions, run_doctor  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="vmrsched-demo-") as temp:
        folder = Path(temp)
        with (
            (folder / "service.log").open("a", encoding="utf-8") as log_stream,
            logs.redirected(log_stream, level=log_level),
        ):
            server = start_in_thread(demo_simulator(api), "127.0.0.1", 0, tls=True)
            try:
                settings = settings_from_mapping(
                    demo_settings(server, folder, "127.0.0.1:8080", api), base=folder
                )
                command = (
                    "vmrsched doctor --probe-outsider dave@contoso.com "
                    "--probe-organizer alice@contoso.com --probe-meeting"
                )
                print(f"exchangesim (demo tenant Contoso) at {server.base_url}", file=out)
                print(f"$ {command}\n", file=out)
                options = DoctorOptions(
                    probe_outsider="dave@contoso.com",
                    probe_organizer="alice@contoso.com",
                    probe_meeting=True,
                    meeting_settle=timedelta(seconds=1),
                )
                return run_doctor(settings, options, out)
            finally:
                server.stop()


def free_listen(listen: str) -> str:
    """``listen`` with port 0 replaced by a port that is free now."""
    host, port = split_listen(listen)
    if port != 0:
        return listen
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _demo(
    server: RunningServer, folder: Path, *, listen: str, once: bool, out: TextIO, api: str = "ews"
) -> int:
    listen = free_listen(listen)
    raw = demo_settings(server, folder, listen, api)
    (folder / "vmrsched.toml").write_text(_toml(raw), encoding="utf-8")
    settings = settings_from_mapping(raw, base=folder)
    install_demo_addin(server, settings)
    components = bootstrap.build(settings)
    mailbox = bootstrap.open_mailbox(settings)
    web_url: list[str] = []
    tasks = service_tasks(components.service_parts(mailbox))
    tasks.append(web_task(build_app(web_options(components)), listen, on_ready=web_url.append))
    supervisor = Supervisor(tasks, grace=timedelta(seconds=5))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, supervisor.request_stop, stop, signal.Signals(signum).name)
    service = asyncio.create_task(supervisor.run(stop))
    print(f"exchangesim (local Exchange, demo tenant Contoso) at {server.base_url}", file=out)
    print(f"vmrsched watching {RESOURCE}; state in {folder}\n", file=out)

    def make_offer(organizer: str) -> str:
        offer = reserve(components.store, components.rules, components.clock, organizer)
        return f"<p>Agenda to follow.</p>{offer.instructions.html}"

    scenario = Scenario(server, components.store, make_offer, out)
    status = OK
    try:
        rows = await _race(in_thread(scenario.run, name="demo-scenario"), service)
        print(file=out)
        print_table(rows, out)
        if not once:
            address = web_url[0] if web_url else listen
            print(f"\nThe service keeps running (web API at {address}); Ctrl-C stops it.", file=out)
            print(
                f"Try: curl '{address}/policy/v1/service/configuration?local_alias=<ALIAS>'",
                file=out,
            )
            await service
    except DemoError as exc:
        print(f"\nvmrsched demo: {exc}\n  fix: {exc.fix}", file=out)
        status = FAILED
    finally:
        supervisor.request_stop(stop, "demo finished")
        report = await service
        with contextlib.suppress(Exception):
            mailbox.close()
        components.close()
    if not report.ok:
        print(f"vmrsched demo: the service stopped: {report.reason}: {report.error}", file=out)
        return FAILED
    return status


async def _race(work: Any, service: asyncio.Task[Any]) -> list[Row]:
    """The scenario's rows, unless the service stops first (then its reason is the error)."""
    scenario = asyncio.ensure_future(work)
    await asyncio.wait({scenario, service}, return_when=asyncio.FIRST_COMPLETED)
    if scenario.done():
        rows: list[Row] = scenario.result()
        return rows
    scenario.cancel()
    report = service.result()
    raise DemoError(f"the service stopped: {report.reason}", fix=str(report.error or ""))
