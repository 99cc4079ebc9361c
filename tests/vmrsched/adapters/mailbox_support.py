"""Helpers for the adapter tests: the demo tenant's values and settings for a live simulator.

The simulator's test harness lives with the exchangesim tests; it is put on ``sys.path`` here so
these tests start servers the same way (`harness.start_sim_server`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "exchangesim"))

from harness import VMR, VMRSCHED_APP

from vmrsched.config.settings import ExchangeSettings, Secret

if TYPE_CHECKING:
    from harness import SimServer

#: The demo tenant (src/exchangesim/data/demo-tenant.toml).
TENANT_ID = "d182aff4-ea4d-43d8-b4a0-f4859ec8bdf5"
VMRSCHED_SECRET = "demo-vmrsched-secret-2026-not-real"
VMRSCHED_EXPIRED_SECRET = "demo-vmrsched-secret-2024-expired"


def exchange_settings(
    sim: SimServer,
    *,
    secret: str = VMRSCHED_SECRET,
    client_id: str = VMRSCHED_APP,
    tenant: str = TENANT_ID,
    resource_mailbox: str = VMR,
) -> ExchangeSettings:
    """`[exchange]` settings for the simulator, as an admin would write them."""
    return ExchangeSettings(
        ews_url=sim.ews_url,
        token_endpoint=f"{sim.base_url}/{tenant}/oauth2/v2.0/token",
        client_id=client_id,
        client_secret=Secret(secret),
        resource_mailbox=resource_mailbox,
        ca_bundle=sim.ca_file,
        token_scope="https://outlook.office365.com/.default",
    )
