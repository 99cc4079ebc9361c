"""The EWS front-end: SOAP framework, operation registry and the operations (`ops_*.py`).

Writing an operation:

    from exchangesim.ews import EwsContext, EwsError, operation
    from exchangesim.ews.faults import error_from
    from exchangesim.ews.xml import M_NS, T_NS, m, msub, response_message, tsub

    @operation("GetFolder")
    async def get_folder(ctx: EwsContext, request: Element) -> Element:
        response = m("GetFolderResponse")
        messages = msub(response, "ResponseMessages")
        for folder_id in ...:
            try:
                ...
            except EwsError as err:
                error_from(messages, "GetFolder", err)
                continue
            msg = response_message(messages, "GetFolder")
            ...
        return response

Put it in a module `exchangesim/ews/ops_<noun>.py`: the server imports every `ops_*` module at
start. See `docs/dev/exchangesim-architecture.md` and `docs/exchangesim.md`.
"""

from exchangesim.ews.context import EwsContext, Impersonation, ServerVersion, SoapHeaders
from exchangesim.ews.faults import EwsError, EwsFault
from exchangesim.ews.registry import operation

__all__ = [
    "EwsContext",
    "EwsError",
    "EwsFault",
    "Impersonation",
    "ServerVersion",
    "SoapHeaders",
    "operation",
]
