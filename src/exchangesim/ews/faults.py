"""EWS errors in the two shapes Exchange uses.

- A whole-request failure is an HTTP 500 `s:Fault` whose `faultcode` is `a:<ResponseCode>` and
  whose `detail` holds `e:ResponseCode`, `e:Message` and optionally `t:MessageXml`
  (`../shared/conformance/ews-samples/ErrorServerBusy.fault.xml`,
  `ErrorSchemaValidation-*.fault.xml`).
  Raise `EwsFault` anywhere in the request's handling to answer with one.
- A per-item failure is a `<Operation>ResponseMessage ResponseClass="Error"` with `MessageText`,
  `ResponseCode`, `DescriptiveLinkKey` 0 and optionally `MessageXml`, next to the successful
  messages of the same batch (`ConvertId-ErrorInvalidSmtpAddress.response.xml`). Build one with
  `error_message`, usually from a caught `EwsError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

from lxml import etree

from exchangesim.ews.xml import E_NS, M_NS, SOAP_NS, T_NS, XML_NS, Element, msub, qname

if TYPE_CHECKING:
    from exchangesim.store.errors import StoreError

#: Exchange's own `MessageText` for the codes the simulator sends, copied from captured traffic
#: and the EWS reference (`ews-samples/`, REFERENCES.md §2); codes missing here need a text
#: from the caller.
MESSAGES: Final[dict[str, str]] = {
    # Exchange's own wording for store-side codes (seen in Exchange answers quoted in exchangelib
    # and EWS Managed API issues); codes not listed fall back to the store's description.
    "ErrorIrresolvableConflict": (
        "The send or update operation could not be performed because the change key passed in "
        "the request does not match the current change key for the item."
    ),
    "ErrorFolderNotFound": "The specified folder could not be found in the store.",
    "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange": (
        "Occurrence index is out of recurrence range."
    ),
    "ErrorCalendarOccurrenceIsDeletedFromRecurrence": (
        "Occurrence with this index was previously deleted from the recurrence."
    ),
    "ErrorAccessDenied": "Access is denied. Check credentials and try again.",
    "ErrorImpersonateUserDenied": (
        "The account does not have permission to impersonate the requested user."
    ),
    "ErrorInternalServerError": "An internal server error occurred. The operation failed.",
    "ErrorInvalidExchangeImpersonationHeaderData": (
        "ExchangeImpersonation SOAP header must be present for this type of OAuth token."
    ),
    "ErrorInvalidIdMalformed": "Id is malformed.",
    "ErrorInvalidRequest": "The request is invalid.",
    "ErrorInvalidSmtpAddress": "The SMTP address format is invalid.",
    "ErrorInvalidSyncStateData": "Synchronization state data is corrupted or otherwise invalid.",
    "ErrorItemNotFound": "The specified object was not found in the store.",
    "ErrorNameResolutionMultipleResults": "Multiple results were found.",
    "ErrorNameResolutionNoResults": "No results were found.",
    "ErrorNonExistentMailbox": "The SMTP address has no mailbox associated with it.",
    "ErrorSchemaValidation": "The request failed schema validation.",
    "ErrorServerBusy": "The server cannot service this request right now. Try again later.",
    "ErrorSubscriptionAccessDenied": (
        "Access is denied. Only the subscription owner may access the subscription."
    ),
    "ErrorSubscriptionNotFound": "The specified subscription was not found.",
}

#: Text Exchange Online sends when a delegated (user) token comes with an impersonation header.
IMPERSONATION_HEADER_NOT_ALLOWED: Final = (
    "ExchangeImpersonation SOAP header must not exist for this type of OAuth token."
)


def message_for(code: str) -> str:
    """Exchange's text for `code`, or the code itself when the table has none."""
    return MESSAGES.get(code, code)


MessageXmlValues = Sequence[tuple[str, str]]
"""`t:Value Name="..."` pairs for `MessageXml` (e.g. `("BackOffMilliseconds", "1000")`)."""


class EwsError(Exception):
    """A per-item EWS error: becomes one `ResponseClass="Error"` response message.

    Operations raise it from the code that handles one item and turn it into a message with
    `error_message(parent, operation, err.code, err.message, err.message_xml)`.
    """

    def __init__(
        self, code: str, message: str | None = None, message_xml: MessageXmlValues = ()
    ) -> None:
        self.code = code
        self.message = message if message is not None else message_for(code)
        self.message_xml = tuple(message_xml)
        super().__init__(f"{code}: {self.message}")


class EwsFault(Exception):  # noqa: N818 (named after the SOAP Fault it becomes)
    """A whole-request EWS failure: answered with an `s:Fault` (HTTP 500 unless told otherwise).

    `message` goes into `detail/e:Message`, `faultstring` into the fault's `faultstring`
    (Exchange repeats the message there, or for schema errors prefixes the violation), and
    `message_xml` into `detail/t:MessageXml` as `t:Value Name=...` pairs, or as given elements.
    """

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        faultstring: str | None = None,
        message_xml: MessageXmlValues = (),
        message_xml_elements: Iterable[Element] = (),
        http_status: int = 500,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.code = code
        self.message = message if message is not None else message_for(code)
        self.faultstring = faultstring if faultstring is not None else self.message
        self.message_xml = tuple(message_xml)
        self.message_xml_elements = tuple(message_xml_elements)
        self.http_status = http_status
        self.headers = dict(headers or {})
        super().__init__(f"{code}: {self.message}")

    def envelope(self) -> Element:
        """The `s:Envelope` Exchange sends for this fault (no SOAP header, like Exchange)."""
        env = etree.Element(qname(SOAP_NS, "Envelope"), nsmap={"s": SOAP_NS})
        body = etree.SubElement(env, qname(SOAP_NS, "Body"))
        fault = etree.SubElement(body, qname(SOAP_NS, "Fault"))
        code_el = etree.SubElement(fault, "faultcode", nsmap={"a": T_NS})
        code_el.text = f"a:{self.code}"
        string_el = etree.SubElement(fault, "faultstring")
        string_el.set(qname(XML_NS, "lang"), "en-US")
        string_el.text = self.faultstring
        detail = etree.SubElement(fault, "detail")
        rc = etree.SubElement(detail, qname(E_NS, "ResponseCode"), nsmap={"e": E_NS})
        rc.text = self.code
        msg = etree.SubElement(detail, qname(E_NS, "Message"), nsmap={"e": E_NS})
        msg.text = self.message
        if self.message_xml or self.message_xml_elements:
            mx = etree.SubElement(detail, qname(T_NS, "MessageXml"), nsmap={"t": T_NS})
            for name, value in self.message_xml:
                val = etree.SubElement(mx, qname(T_NS, "Value"), Name=name)
                val.text = value
            for el in self.message_xml_elements:
                mx.append(el)
        return env


# --- the faults the framework sends ---------------------------------------------------------------


def server_busy(back_off_ms: int) -> EwsFault:
    """`ErrorServerBusy` with `BackOffMilliseconds`, exactly like `ErrorServerBusy.fault.xml`."""
    return EwsFault("ErrorServerBusy", message_xml=[("BackOffMilliseconds", str(int(back_off_ms)))])


def schema_validation(violation: str, line: int = 0, position: int = 0) -> EwsFault:
    """`ErrorSchemaValidation`, shaped like `ErrorSchemaValidation-FindConversation.fault.xml`."""
    el_line = etree.Element(qname(T_NS, "LineNumber"), nsmap={"t": T_NS})
    el_line.text = str(line)
    el_pos = etree.Element(qname(T_NS, "LinePosition"), nsmap={"t": T_NS})
    el_pos.text = str(position)
    el_violation = etree.Element(qname(T_NS, "Violation"), nsmap={"t": T_NS})
    el_violation.text = violation
    return EwsFault(
        "ErrorSchemaValidation",
        faultstring=f"The request failed schema validation: {violation}",
        message_xml_elements=[el_line, el_pos, el_violation],
    )


def invalid_request(detail: str | None = None) -> EwsFault:
    """`ErrorInvalidRequest` ("The request is invalid."), Exchange's answer to a request it cannot
    route, e.g. an unknown RequestServerVersion. `detail` extends the message for humans."""
    message = message_for("ErrorInvalidRequest")
    if detail:
        message = f"{message} {detail}"
    return EwsFault("ErrorInvalidRequest", message)


def internal_server_error() -> EwsFault:
    """`ErrorInternalServerError`, what Exchange sends when it fails inside."""
    return EwsFault("ErrorInternalServerError")


def non_existent_mailbox(address: str) -> EwsFault:
    """`ErrorNonExistentMailbox` with the address in `MessageXml/Value[@Name="SmtpAddress"]`,
    as Exchange answers an impersonation header naming no mailbox (Microsoft KB 3214326)."""
    return EwsFault("ErrorNonExistentMailbox", message_xml=[("SmtpAddress", address)])


# --- per-item error messages ----------------------------------------------------------------------


def error_message(
    parent: Element,
    operation: str,
    code: str,
    message: str | None = None,
    message_xml: MessageXmlValues = (),
) -> Element:
    """Append `m:<operation>ResponseMessage ResponseClass="Error"` in schema order and return it."""
    msg = msub(parent, f"{operation}ResponseMessage", ResponseClass="Error")
    msub(msg, "MessageText", message if message is not None else message_for(code))
    msub(msg, "ResponseCode", code)
    msub(msg, "DescriptiveLinkKey", "0")
    if message_xml:
        mx = msub(msg, "MessageXml")
        for name, value in message_xml:
            val = etree.SubElement(mx, qname(T_NS, "Value"), Name=name)
            val.text = value
    return msg


def from_store_error(exc: StoreError) -> EwsError:
    """The per-item `EwsError` for a store error (the store names the Exchange code)."""
    return EwsError(exc.code, MESSAGES.get(exc.code, str(exc)))


def error_from(parent: Element, operation: str, err: EwsError) -> Element:
    """`error_message` for a caught `EwsError`."""
    return error_message(parent, operation, err.code, err.message, err.message_xml)


__all__ = [
    "IMPERSONATION_HEADER_NOT_ALLOWED",
    "MESSAGES",
    "M_NS",
    "EwsError",
    "EwsFault",
    "error_from",
    "error_message",
    "internal_server_error",
    "invalid_request",
    "message_for",
    "non_existent_mailbox",
    "schema_validation",
    "server_busy",
]
