"""The EWS operation registry: `@operation("GetItem")` and the names of every EWS operation.

An operation is `async def op(ctx: EwsContext, request: Element) -> Element`: it gets the
`soap:Body` child (`m:GetItem`) and returns the response element (`m:GetItemResponse`), which the
framework wraps in an envelope with the `ServerVersionInfo` header. Operation modules are the
`exchangesim/ews/ops_*.py` files; `load_operations()` imports all of them, so a new module
registers itself by existing.

A streaming operation (`@operation("GetStreamingEvents", streaming=True)`) writes its own
response through `ctx.open_stream()` and returns None.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from exchangesim.ews.xml import Element

if TYPE_CHECKING:
    from exchangesim.ews.context import EwsContext

OperationFunc = Callable[["EwsContext", Element], Awaitable[Element | None]]


@dataclass(frozen=True)
class Operation:
    """A registered operation."""

    name: str
    func: OperationFunc
    streaming: bool = False


_REGISTRY: dict[str, Operation] = {}


def operation(name: str, *, streaming: bool = False) -> Callable[[OperationFunc], OperationFunc]:
    """Register `func` as the handler of the EWS operation `name` (e.g. "GetItem").

    Registering a name twice is a programming error and raises ValueError.
    """
    if name not in EWS_OPERATIONS:
        raise ValueError(f"{name!r} is not an EWS operation (see registry.EWS_OPERATIONS)")

    def register(func: OperationFunc) -> OperationFunc:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.func is not func:
            raise ValueError(f"EWS operation {name} is already registered by {existing.func!r}")
        _REGISTRY[name] = Operation(name=name, func=func, streaming=streaming)
        return func

    return register


def get_operation(name: str) -> Operation | None:
    """The registered operation `name`, or None."""
    return _REGISTRY.get(name)


def registered() -> Mapping[str, Operation]:
    """Every registered operation by name (read-only)."""
    return MappingProxyType(_REGISTRY)


_loaded = False


def load_operations() -> None:
    """Import every `exchangesim.ews.ops_*` module once, so their operations register."""
    global _loaded  # noqa: PLW0603 (import-once switch for the process)
    if _loaded:
        return
    package = importlib.import_module("exchangesim.ews")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("ops_"):
            importlib.import_module(f"exchangesim.ews.{info.name}")
    _loaded = True


#: Body elements whose name is not the operation's: the availability and OOF requests.
BODY_ELEMENT_TO_OPERATION: Final[Mapping[str, str]] = MappingProxyType(
    {
        "GetUserAvailabilityRequest": "GetUserAvailability",
        "GetUserOofSettingsRequest": "GetUserOofSettings",
        "SetUserOofSettingsRequest": "SetUserOofSettings",
    }
)

#: The EWS operations of Exchange 2016 / Exchange Online: the request elements of the MS-OXWS*
#: schemas (`../shared/conformance/ews-schema/`) plus the ones those schemas leave out
#: (availability, mail tips, OOF, inbox rules, service configuration). A body element outside
#: this set is not EWS at all; one inside it that is not registered is an operation the
#: simulator does not implement.
EWS_OPERATIONS: Final[frozenset[str]] = frozenset(
    {
        "AddDelegate", "ApplyConversationAction", "ArchiveItem", "ConvertId", "CopyFolder",
        "CopyItem", "CreateAttachment", "CreateFolder", "CreateFolderPath", "CreateItem",
        "CreateManagedFolder", "CreateUserConfiguration", "DeleteAttachment", "DeleteFolder",
        "DeleteItem", "DeleteUserConfiguration", "DisableApp", "EmptyFolder", "ExpandDL",
        "ExportItems", "FindConversation", "FindFolder", "FindItem", "FindPeople",
        "GetAppManifests", "GetAppMarketplaceUrl", "GetAttachment", "GetClientAccessToken",
        "GetConversationItems", "GetDelegate", "GetDiscoverySearchConfiguration", "GetEvents",
        "GetFolder", "GetHoldOnMailboxes", "GetInboxRules", "GetItem", "GetMailTips",
        "GetNonIndexableItemDetails", "GetNonIndexableItemStatistics",
        "GetPasswordExpirationDate", "GetReminders", "GetRoomLists", "GetRooms",
        "GetSearchableMailboxes", "GetServerTimeZones", "GetServiceConfiguration",
        "GetSharingFolder", "GetSharingMetadata", "GetStreamingEvents", "GetUserAvailability",
        "GetUserConfiguration", "GetUserOofSettings", "GetUserPhoto",
        "GetUserRetentionPolicyTags", "InstallApp", "MarkAllItemsAsRead", "MarkAsJunk",
        "MoveFolder", "MoveItem", "PerformInstantSearch", "PerformReminderAction",
        "RefreshSharingFolder", "RemoveDelegate", "ResolveNames", "SearchMailboxes",
        "SendItem", "SetHoldOnMailboxes", "SetUserOofSettings", "SetUserPhoto", "Subscribe",
        "SyncFolderHierarchy", "SyncFolderItems", "UninstallApp", "Unsubscribe",
        "UpdateDelegate", "UpdateFolder", "UpdateInboxRules", "UpdateItem",
        "UpdateItemInRecoverableItems", "UpdateUserConfiguration", "UploadItems",
    }
)  # fmt: skip
