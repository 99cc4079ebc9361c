"""`python -m exchangesim --tenant FILE --listen HOST:PORT`: serve a simulated Exchange tenant."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from exchangesim.sim import EWS_SCHEMA_ENV, Simulator

ADMIN_KEY_ENV = "EXCHANGESIM_ADMIN_KEY"


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]") or "127.0.0.1"
    number = int(port)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range in {value!r}")
    return host, number


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="python -m exchangesim",
        description="Serve a simulated Exchange Online tenant: Entra token endpoint and EWS.",
    )
    p.add_argument("--tenant", type=Path, required=True, help="tenant TOML file")
    p.add_argument(
        "--listen",
        type=_listen,
        default=("127.0.0.1", 8443),
        metavar="HOST:PORT",
        help="address to listen on (default 127.0.0.1:8443; port 0 picks a free port)",
    )
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--tls", dest="tls", action="store_true", default=True, help="HTTPS (default)")
    tls.add_argument("--no-tls", dest="tls", action="store_false", help="plain HTTP")
    p.add_argument(
        "--cert-dir",
        type=Path,
        help="where the CA and server certificate are kept (default ~/.cache/exchangesim/tls)",
    )
    p.add_argument("--state-file", type=Path, help="load mailboxes from here; save here on stop")
    p.add_argument(
        "--admin-key",
        default=os.environ.get(ADMIN_KEY_ENV),
        help=f"key for the /_exchangesim/ admin routes (default ${ADMIN_KEY_ENV}, else random)",
    )
    p.add_argument(
        "--ews-schema",
        type=Path,
        default=os.environ.get(EWS_SCHEMA_ENV),
        help=f"folder with messages.xsd: validate EWS requests (default ${EWS_SCHEMA_ENV})",
    )
    p.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGINT/SIGTERM; the exit status."""
    from exchangesim import server  # noqa: PLC0415 (fast --help)
    from exchangesim.tenant import TenantFileError  # noqa: PLC0415

    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s %(message)s")
    host, port = args.listen
    try:
        sim = Simulator.from_tenant_file(
            args.tenant, state_file=args.state_file, ews_schema=args.ews_schema
        )
    except TenantFileError as exc:
        print(f"exchangesim: the tenant file is not valid:\n{exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"exchangesim: cannot start: {exc}", file=sys.stderr)
        return 2

    def ready(base_url: str, ca_file: Path | None, admin_key: str) -> None:
        tenant = sim.tenant.tenant_id
        print(f"exchangesim serving tenant {sim.tenant.domain} ({tenant})")
        print(f"  base URL:        {base_url}")
        print(f"  token endpoint:  {base_url}/{tenant}/oauth2/v2.0/token")
        print(f"  authority:       {base_url}/{tenant}")
        print(f"  EWS:             {base_url}/EWS/Exchange.asmx")
        print(f"  tenant id:       {tenant}")
        if ca_file is not None:
            print(f"  CA certificate:  {ca_file}")
            print(f"    export REQUESTS_CA_BUNDLE={ca_file} SSL_CERT_FILE={ca_file}")
        print(f"  admin key:       {admin_key}  (header X-Exchangesim-Admin-Key)")
        if sim.state_file is not None:
            print(f"  state file:      {sim.state_file} (saved on stop)")
        print("Stop with Ctrl-C.", flush=True)

    try:
        asyncio.run(
            server.serve(
                sim,
                host,
                port,
                tls_on=args.tls,
                cert_dir=args.cert_dir,
                admin_key=args.admin_key,
                on_ready=ready,
            )
        )
    except OSError as exc:
        print(f"exchangesim: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    print("exchangesim stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
