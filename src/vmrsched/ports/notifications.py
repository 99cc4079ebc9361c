"""Change notifications pushed to the web server, as the service sees them: an opaque payload
handed to whoever subscribed (today the Graph adapter, `vmrsched.adapters.graph.push`), which
checks it, ignores what it cannot trust and wakes the watcher. The web layer only receives
HTTP and answers it; what the payload means belongs to the adapter."""

from __future__ import annotations

from typing import Protocol


class ChangeNotifications(Protocol):
    """The receiver of pushed change notifications and lifecycle notifications."""

    def notified(self, payload: object) -> int:
        """Take a change notification payload; how many of its entries were trusted (the
        others are ignored and logged)."""
        ...

    def lifecycle(self, payload: object) -> int:
        """Take a lifecycle notification payload; how many of its entries were trusted."""
        ...
