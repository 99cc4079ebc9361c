"""The Graph adapter's world for the mailbox contract: a simulator whose resource mailbox has
the Calendar Attendant on (AutomateProcessing AutoUpdate, as ``api = "graph"`` needs), organizers
on exchangelib as in the EWS world (one tenant: what EWS sends, Graph reads)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from harness import VMR, make_sim
from mailbox_support import exchange_settings
from mailbox_worlds import EwsWorld

from exchangesim.tenant import Tenant, demo_tenant
from vmrsched.adapters.ews.connection import RetryBudget
from vmrsched.adapters.graph.client import GraphMailbox
from vmrsched.config.settings import ExchangeApi

if TYPE_CHECKING:
    from datetime import timedelta

    from harness import SimServer

    from exchangesim.sim import Simulator
    from vmrsched.config.settings import ExchangeSettings
    from vmrsched.ports.mailbox import Mailbox


def autoupdate_tenant(tenant: Tenant | None = None, resource: str = VMR) -> Tenant:
    """The demo tenant (or `tenant`) with `resource` at AutomateProcessing AutoUpdate and
    AddNewRequestsTentatively on: what ``api = "graph"`` needs."""
    tenant = tenant or demo_tenant()
    resources = []
    for found in tenant.resources:
        kept = found
        if found.email == resource:
            processing = dataclasses.replace(
                found.calendar_processing,
                automate_processing="AutoUpdate",
                add_new_requests_tentatively=True,
            )
            kept = dataclasses.replace(found, calendar_processing=processing)
        resources.append(kept)
    return dataclasses.replace(tenant, resources=tuple(resources))


def graph_sim(**kwargs: Any) -> Simulator:
    """A simulator for the demo tenant with the resource set up for Graph."""
    return make_sim(autoupdate_tenant(), **kwargs)


def graph_settings(sim: SimServer, **changes: Any) -> ExchangeSettings:
    """``[exchange]`` for ``api = "graph"`` against the simulator."""
    return dataclasses.replace(
        exchange_settings(sim),
        api=ExchangeApi.GRAPH,
        graph_url=f"{sim.base_url}/v1.0",
        token_scope="https://graph.microsoft.com/.default",
        **changes,
    )


class GraphWorld(EwsWorld):
    """The Graph adapter on a simulator; Alice's exchangelib client is her Outlook."""

    def __init__(self, sim: SimServer, *, peek_every: timedelta | None = None) -> None:
        self._peek = peek_every
        super().__init__(sim)

    def _open(self, **changes: Any) -> Any:
        options: dict[str, Any] = {"sleep": self.sleeps, "budget": RetryBudget()}
        if self._peek is not None:
            options["peek_every"] = self._peek
        return GraphMailbox.from_settings(graph_settings(self.sim, **changes), **options)

    def restart(self) -> Mailbox:
        self.mailbox = self._open()
        self._opened.append(self.mailbox)
        return self.mailbox

    def delete_request(self, message_id: str) -> None:
        # Graph's REST id is the EWS id with "/" → "-" and "+" → "_" (exchangesim.graph.ids).
        super().delete_request(message_id.replace("-", "/").replace("_", "+"))

    def refused_cursor(self) -> str:
        # Graph expires delta tokens (410 syncStateNotFound): the simulator's epoch knob.
        cursor = self.mailbox.fetch_changes(None).cursor
        self.sim.knobs.update(graph_delta_epoch=self.sim.knobs.settings.graph_delta_epoch + 1)
        return cursor

    def throttle(self) -> None:
        # Graph's per-app-per-mailbox budget, used up: 429 with Retry-After far beyond the
        # adapter's wait budget.
        self.sim.knobs.update(graph_budget_calls=1, graph_budget_window_ms=120_000)
        self.mailbox.http.request("GET", f"/users/{VMR}/mailFolders/inbox", what="using it up")
