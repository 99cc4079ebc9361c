"""``vmrsched``: the command line entry point (``[project.scripts]``)."""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from vmrsched import bootstrap
from vmrsched.cli import addin as addin_cli
from vmrsched.cli import commands, edge, logs
from vmrsched.cli import meetings as meetings_cli
from vmrsched.cli import setup as setup_cli

if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_CONFIG = Path("vmrsched.toml")


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        metavar="FILE",
        help="the configuration file (default: ./vmrsched.toml)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="vmrsched",
        description="Single-use video meeting rooms for Outlook meetings, on Exchange.",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--log-format", choices=["json", "console"], help="default: console on a terminal"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="watch the resource mailbox and serve the web API")
    _config_option(run)
    run.add_argument(
        "--take-over",
        action="store_true",
        help="serve the resource mailbox even if another live installation holds it",
    )

    check = sub.add_parser("check-config", help="check a configuration file, all problems at once")
    _config_option(check)

    reserve = sub.add_parser("reserve", help="reserve an alias with its token and instructions")
    _config_option(reserve)
    reserve.add_argument("--organizer", required=True, metavar="EMAIL")
    reserve.add_argument("--json", action="store_true", help="print JSON")

    meetings = sub.add_parser("meetings", help="what happened to each meeting")
    meetings_sub = meetings.add_subparsers(dest="meetings_command", required=True)
    listing = meetings_sub.add_parser("list", help="the recent meetings")
    _config_option(listing)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--limit", type=int, default=50)
    show = meetings_sub.add_parser("show", help="every message, decision and effect of a meeting")
    _config_option(show)
    show.add_argument(
        "id", metavar="ID", help="meeting key (or prefix), booking id, alias, or correlation id"
    )
    show.add_argument("--json", action="store_true", help="print JSON")

    check_policy = sub.add_parser(
        "policy-check", help="the answer Pexip Infinity gets for a dialled alias"
    )
    _config_option(check_policy)
    check_policy.add_argument("alias", metavar="ALIAS")
    check_policy.add_argument("--at", metavar="TIME", help="ISO 8601 time (default: now)")

    setup = sub.add_parser(
        "setup-script", help="the admin's setup as a PowerShell script (or --checklist)"
    )
    _config_option(setup)
    setup_cli.add_arguments(setup)

    manifest = sub.add_parser("addin-manifest", help="the Outlook add-in's manifest for this setup")
    _config_option(manifest)
    manifest.add_argument("--output", type=Path, metavar="FILE", help="write it to FILE")
    manifest.add_argument(
        "--deploy-commands", action="store_true", help="print the deployment commands instead"
    )
    manifest.add_argument("--group", default="", metavar="ADDRESS", help="the scheduling group")

    doctor = sub.add_parser(
        "doctor", help="check the setup with the app's own credentials, with the fix for each"
    )
    _config_option(doctor)
    doctor.add_argument("--json", action="store_true", help="print JSON")
    doctor.add_argument(
        "--probe-outsider",
        metavar="EMAIL",
        help="a mailbox outside the scheduling group: the app must NOT open it",
    )
    doctor.add_argument(
        "--probe-organizer", metavar="EMAIL", help="an organizer: the app must open it"
    )
    doctor.add_argument(
        "--probe-meeting",
        action="store_true",
        help="send a probe meeting request as --probe-organizer to see that Exchange leaves it "
        "unprocessed (deleted afterwards)",
    )

    demo = sub.add_parser(
        "demo", help="run the whole flow against the local Exchange simulator, no tenant needed"
    )
    demo.add_argument("--once", action="store_true", help="exit after the sample meetings")
    demo.add_argument(
        "--doctor",
        action="store_true",
        help="run 'vmrsched doctor' with every probe against the demo tenant instead",
    )
    demo.add_argument(
        "--listen", default="127.0.0.1:0", help="web API address (default: any free port)"
    )
    demo.add_argument(
        "--api", choices=("ews", "graph"), default="ews", help="how the service talks to Exchange"
    )
    return parser


def dispatch(args: argparse.Namespace) -> int:
    """Run the command ``args`` names."""
    out = sys.stdout
    match args.command:
        case "run":
            return commands.run(args.config, take_over=args.take_over)
        case "check-config":
            return commands.check_config(args.config, out)
        case "reserve":
            return commands.reserve_command(args.config, args.organizer, as_json=args.json, out=out)
        case "policy-check":
            return commands.policy_check(args.config, args.alias, args.at, out)
        case "meetings":
            return _meetings(args, out)
        case "setup-script":
            return setup_cli.setup_script(args, out)
        case "addin-manifest":
            return addin_cli.addin_manifest(
                commands.load(args.config),
                out,
                output=args.output,
                deploy_commands=args.deploy_commands,
                group=args.group,
            )
        case "doctor":
            return _doctor(args, out)
        case "demo":
            from vmrsched.cli import demo  # noqa: PLC0415 - the only command that needs exchangesim

            if args.doctor:
                return demo.run_demo_doctor(out=out, api=args.api)
            return demo.run_demo(
                once=args.once, listen=args.listen, out=out, log_level=args.log_level, api=args.api
            )
    raise edge.UsageError(f"unknown command {args.command!r}")


def _doctor(args: argparse.Namespace, out: TextIO) -> int:
    from vmrsched.cli import doctor  # noqa: PLC0415 - only this command needs the probes

    options = doctor.DoctorOptions(
        as_json=args.json,
        probe_outsider=args.probe_outsider,
        probe_organizer=args.probe_organizer,
        probe_meeting=args.probe_meeting,
    )
    return doctor.run_doctor(commands.load(args.config), options, out)


def _meetings(args: argparse.Namespace, out: TextIO) -> int:
    settings = commands.load(args.config)
    components = bootstrap.build(settings)
    try:
        if args.meetings_command == "list":
            return meetings_cli.list_meetings(
                components.store, as_json=args.json, out=out, limit=args.limit
            )
        return meetings_cli.show_meeting(components.store, args.id, out=out, as_json=args.json)
    finally:
        components.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, turn expected errors into plain words."""
    args = build_parser().parse_args(argv)
    quiet = args.command != "run"
    logs.configure(
        level="warning" if quiet and args.log_level == "info" else args.log_level,
        json=None if args.log_format is None else args.log_format == "json",
    )
    try:
        return dispatch(args)
    except KeyboardInterrupt:
        return edge.INTERRUPTED
    except Exception as exc:
        failure = edge.explain(exc)
        if failure is None:
            traceback.print_exc()
            print(
                "vmrsched: an internal error; please report it with the traceback above",
                file=sys.stderr,
            )
            return edge.FAILED
        return edge.report(failure)


if __name__ == "__main__":
    sys.exit(main())
