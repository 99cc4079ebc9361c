"""Graph's error answers: ``{"error": {"code", "message", "innerError": {...}}}``.

The shape is the one Microsoft Graph sends (../shared/conformance/graph-samples/error-*.json):
``innerError`` carries ``date`` (UTC, no fraction), ``request-id`` and ``client-request-id``.
Outlook resources answer with Exchange's response codes (``ErrorItemNotFound``,
``ErrorAccessDenied``, ``ErrorInvalidIdMalformed`` ...); Graph's own layer with camelCase codes
(``InvalidAuthenticationToken``, ``BadRequest``, ``TooManyRequests``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from exchangesim.store.errors import (
    ChangeKeyMismatch,
    FolderNotFound,
    InvalidId,
    InvalidOperation,
    InvalidProperty,
    InvalidSyncState,
    ItemNotFound,
    NoSuchMailbox,
    OccurrenceOutOfRange,
    StoreError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

#: The message Graph gives with a 410 for a delta token it no longer has (Outlook delta tokens
#: live in a bounded cache: https://learn.microsoft.com/graph/delta-query-overview).
SYNC_STATE_GONE: Final = (
    "The sync state generation is not found. The delta token is expired and data must be "
    "synchronized again."
)


class GraphError(Exception):
    """An error answer: HTTP ``status``, Graph ``code`` and ``message``, extra ``headers``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        inner: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})
        self.inner: dict[str, str] = dict(inner or {})

    def body(self, now: datetime, request_id: str, client_request_id: str) -> dict[str, Any]:
        """The JSON body Graph sends."""
        inner = {
            **self.inner,
            "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id,
            "client-request-id": client_request_id,
        }
        return {"error": {"code": self.code, "message": self.message, "innerError": inner}}


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    """A 400."""
    return GraphError(400, code, message)


def not_found(message: str = "The specified object was not found in the store.") -> GraphError:
    """Outlook's 404 for an item or occurrence that is not there."""
    return GraphError(404, "ErrorItemNotFound", message)


def sync_state_gone() -> GraphError:
    """410 for a delta token Graph no longer has."""
    return GraphError(410, "syncStateNotFound", SYNC_STATE_GONE)


def from_store_error(exc: StoreError) -> GraphError:
    """The Graph answer for a store refusal (Outlook resources keep Exchange's codes)."""
    if isinstance(exc, InvalidId):
        return GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
    if isinstance(exc, ItemNotFound | OccurrenceOutOfRange):
        return not_found()
    if isinstance(exc, FolderNotFound):
        return GraphError(404, "ErrorFolderNotFound", "The specified folder could not be found.")
    if isinstance(exc, NoSuchMailbox):
        return GraphError(
            404, "ErrorInvalidUser", f"The requested user '{exc.address}' is invalid."
        )
    if isinstance(exc, ChangeKeyMismatch):
        return GraphError(409, "ErrorIrresolvableConflict", str(exc))
    if isinstance(exc, InvalidSyncState):
        return sync_state_gone()
    if isinstance(exc, InvalidProperty | InvalidOperation):
        return GraphError(400, exc.code, str(exc))
    return GraphError(400, exc.code, str(exc))
