"""``vmrsched setup-script``: the admin's setup as a PowerShell script, or as a checklist.

The configuration file is read leniently: before setup there is no client id or secret yet, so
only ``[exchange] api``, ``ews_url`` and ``resource_mailbox`` are taken from it, and a missing
file is fine when ``--resource-mailbox`` is given. Options win over the file.
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vmrsched.cli.edge import OK, UsageError
from vmrsched.service.setup import (
    Api,
    SetupValueError,
    SetupValues,
    Target,
    render_checklist,
    render_script,
)

if TYPE_CHECKING:
    import argparse
    from pathlib import Path
    from typing import TextIO

_ONLINE_EWS_HOST = "outlook.office365.com"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``setup-script`` (``--config`` is added by the caller)."""
    parser.add_argument(
        "--target",
        choices=[target.value for target in Target],
        help="where the mailboxes live (default: from [exchange] ews_url and api)",
    )
    parser.add_argument(
        "--api", choices=[api.value for api in Api], help="default: [exchange] api, else ews"
    )
    parser.add_argument(
        "--checklist",
        action="store_true",
        help="print the same steps as a numbered checklist for the portal instead of a script",
    )
    parser.add_argument(
        "--resource-mailbox", metavar="EMAIL", help="default: [exchange] resource_mailbox"
    )
    parser.add_argument("--display-name", metavar="NAME", help="the resource's display name")
    parser.add_argument("--app-name", metavar="NAME", help="the app registration's name")
    parser.add_argument("--group", metavar="NAME", help="the scheduling distribution group")
    parser.add_argument("--secret-months", type=int, metavar="N", help="client secret lifetime")
    parser.add_argument("--ews-url", metavar="URL", help="default: [exchange] ews_url")
    parser.add_argument(
        "--delegate-admin", metavar="EMAIL", help="admin for the commented troubleshooting step"
    )


def setup_script(args: argparse.Namespace, out: TextIO) -> int:
    """Print the script (or the checklist) for the values in the file and the options."""
    values = setup_values(args)
    out.write(render_checklist(values) if args.checklist else render_script(values))
    return OK


def setup_values(args: argparse.Namespace) -> SetupValues:
    """The checked values from ``args`` over the configuration file; UsageError if unusable."""
    exchange = _exchange_section(args.config, required=args.resource_mailbox is None)
    api_text = args.api or _text(exchange, "api") or Api.EWS.value
    try:
        api = Api(api_text.strip().lower())
    except ValueError:
        raise UsageError(f"[exchange] api is {api_text!r}", fix='use "ews" or "graph"') from None
    ews_url = (
        args.ews_url
        or _text(exchange, "ews_url")
        or f"https://{_ONLINE_EWS_HOST}/EWS/Exchange.asmx"
    )
    if args.target:
        target = Target(args.target)
    elif api is Api.GRAPH or (urlsplit(ews_url).hostname or "").lower() == _ONLINE_EWS_HOST:
        target = Target.EXCHANGE_ONLINE
    else:
        target = Target.EXCHANGE_SERVER
    mailbox = args.resource_mailbox or _text(exchange, "resource_mailbox")
    if not mailbox:
        raise UsageError(
            "no resource mailbox", fix="pass --resource-mailbox or set [exchange] resource_mailbox"
        )
    chosen: dict[str, Any] = {
        "resource_display_name": args.display_name,
        "app_name": args.app_name,
        "group_name": args.group,
        "secret_months": args.secret_months,
        "delegate_admin": args.delegate_admin,
    }
    try:
        return SetupValues.checked(
            target=target,
            api=api,
            resource_mailbox=mailbox,
            ews_url=ews_url,
            **{name: value for name, value in chosen.items() if value is not None},
        )
    except SetupValueError as exc:
        raise UsageError(str(exc), fix=exc.fix) from exc


def _exchange_section(path: Path, *, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise UsageError(
                f"no configuration file at {path}",
                fix="pass --config FILE, or --resource-mailbox EMAIL to start without one",
            )
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"cannot read {path}: {exc}", fix="fix the file, or pass the options"
        ) from exc
    section = document.get("exchange", {})
    if not isinstance(section, dict):
        raise UsageError(
            f"{path}: [exchange] is not a section", fix="see docs/reference/configuration.md"
        )
    return section


def _text(section: dict[str, Any], key: str) -> str:
    value = section.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UsageError(f"[exchange] {key} is not text", fix="put the value in quotes")
    return value
