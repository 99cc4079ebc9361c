"""One Graph call: who asks, for which mailbox, with which options; and its answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from exchangesim.graph.render_common import zone_for

if TYPE_CHECKING:
    from datetime import tzinfo

    from exchangesim.graph.odata import Prefer, Query
    from exchangesim.identity import Principal
    from exchangesim.sim import Simulator


@dataclass
class GraphCall:
    """A request routed to a handler (also one request of a ``$batch``)."""

    sim: Simulator
    principal: Principal
    method: str
    path: str  # below /v1.0, e.g. /users/alice@contoso.com/messages
    query: Query
    prefer: Prefer
    body: Any
    service_root: str  # https://host:port/v1.0
    mailbox: str = ""  # the user segment's mailbox, once resolved
    user_segment: str = ""  # as the client wrote it (kept in links)
    applied: list[str] = field(default_factory=list)

    def zone(self) -> tuple[str, tzinfo]:
        """The time zone for ``dateTimeTimeZone`` values (``Prefer: outlook.timezone``)."""
        if self.prefer.timezone is None:
            return zone_for(None)
        found = zone_for(self.prefer.timezone)
        self.apply(f'outlook.timezone="{self.prefer.timezone}"')
        return found

    def body_type(self) -> str | None:
        """The body format ``Prefer: outlook.body-content-type`` asks for (None: as stored)."""
        if self.prefer.body_type is not None:
            self.apply(f'outlook.body-content-type="{self.prefer.body_type}"')
        return self.prefer.body_type

    def apply(self, preference: str) -> None:
        """Record a preference for the ``Preference-Applied`` header."""
        if preference not in self.applied:
            self.applied.append(preference)

    def page_size(self, default: int) -> int:
        """``$top``, else ``Prefer: odata.maxpagesize``, else the resource's default page."""
        if self.query.top is not None:
            return self.query.top
        if self.prefer.max_page_size is not None:
            self.apply(f"odata.maxpagesize={self.prefer.max_page_size}")
            return min(self.prefer.max_page_size, 1000)
        return default

    def link(self, path: str, params: dict[str, str]) -> str:
        """An absolute URL under the service root (for ``@odata.nextLink`` and friends)."""
        url = self.service_root + path
        return f"{url}?{urlencode(params, quote_via=quote, safe='$/:,')}" if params else url

    def context_url(self, fragment: str) -> str:
        """``@odata.context``: ``<root>/$metadata#users('<user>')/<fragment>``."""
        user = quote(self.user_segment, safe="@")
        return f"{self.service_root}/$metadata#users('{user}')/{fragment}"


@dataclass
class GraphResult:
    """A handler's answer: status, JSON body (None: empty) and extra headers."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
