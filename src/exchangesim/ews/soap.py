"""SOAP 1.1 envelopes for EWS: parse requests safely, read their headers, write responses.

Parsing is hardened: no network, no DTD (Exchange's .NET parser prohibits DTDs too), no entity
expansion, a size limit enforced by the HTTP layer. A request that is not well-formed XML, or
whose body holds something that is not an EWS operation, is answered like Exchange does: an
`ErrorSchemaValidation` fault. Optionally the body is validated against the EWS schemas
(`RequestSchema`), which Exchange does for every request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from lxml import etree

from exchangesim.ews import faults
from exchangesim.ews.context import Impersonation, ImpersonationKind, ServerVersion, SoapHeaders
from exchangesim.ews.registry import BODY_ELEMENT_TO_OPERATION, EWS_OPERATIONS
from exchangesim.ews.xml import M_NS, SOAP_NS, T_NS, XSD_NS, XSI_NS, Element, local_name, qname

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

#: Largest request body accepted (bytes). EWS in Exchange Online takes requests up to about
#: 150 MB of message size; 64 MiB is plenty for a simulator and keeps a bad client in check.
MAX_REQUEST_BYTES: Final = 64 * 1024 * 1024

#: `RequestServerVersion` values Exchange accepts (`ExchangeVersionType` of every schema release
#: since 2007, plus the dated versions Exchange Online knows). Anything else gets
#: `ErrorInvalidRequest`, as Exchange 2019 answers `Exchange2019`; see docs/exchangesim.md.
REQUEST_VERSIONS: Final[frozenset[str]] = frozenset(
    {
        "Exchange2007", "Exchange2007_SP1", "Exchange2009", "Exchange2010", "Exchange2010_SP1",
        "Exchange2010_SP2", "Exchange2013", "Exchange2013_SP1", "Exchange2015",
        "Exchange2015_SP1", "Exchange2016", "V2015_10_05", "V2016_01_06", "V2016_04_13",
        "V2016_07_13", "V2016_10_10", "V2017_01_07", "V2017_04_14", "V2017_07_11",
        "V2017_10_09", "V2018_01_08",
    }
)  # fmt: skip
DEFAULT_REQUEST_VERSION: Final = "Exchange2007"

_IMPERSONATION_KINDS: Final[dict[str, ImpersonationKind]] = {
    "PrimarySmtpAddress": "PrimarySmtpAddress",
    "SmtpAddress": "SmtpAddress",
    "PrincipalName": "PrincipalName",
    "SID": "SID",
}


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        collect_ids=False,
        remove_comments=True,
        remove_pis=True,
    )


@dataclass(frozen=True)
class Envelope:
    """A parsed request: its header element (if any), body child and operation name."""

    header: Element | None
    body: Element
    operation: str


def parse_envelope(data: bytes) -> Envelope:
    """Parse a request envelope; raises `EwsFault` the way Exchange refuses bad requests."""
    if not data.strip():
        raise faults.invalid_request("The request body is empty.")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line, position = _position(exc)
        raise faults.schema_validation(str(exc.msg), line, position) from exc
    if _has_doctype(root):
        # .NET's XmlReader (Exchange) refuses DTDs outright; so do we (no entity expansion risk).
        raise faults.schema_validation(
            "For security reasons DTD is prohibited in this XML document.", _line(root)
        )
    if root.tag != qname(SOAP_NS, "Envelope"):
        raise faults.schema_validation(
            f"The root element '{local_name(root)}' in namespace "
            f"'{etree.QName(root).namespace or ''}' is not a SOAP 1.1 Envelope "
            f"('{SOAP_NS}').",
            _line(root),
        )
    header = root.find(qname(SOAP_NS, "Header"))
    body = root.find(qname(SOAP_NS, "Body"))
    if body is None:
        raise faults.invalid_request("The SOAP envelope has no Body.")
    body_children = [el for el in body if isinstance(el.tag, str)]
    if len(body_children) != 1:
        raise faults.invalid_request("The SOAP Body must hold exactly one operation element.")
    request = body_children[0]
    name = local_name(request)
    operation = BODY_ELEMENT_TO_OPERATION.get(name, name)
    if etree.QName(request).namespace != M_NS or operation not in EWS_OPERATIONS:
        raise faults.schema_validation(
            f"The element 'Body' in namespace '{SOAP_NS}' has invalid child element '{name}' "
            f"in namespace '{etree.QName(request).namespace or ''}'.",
            _line(request),
        )
    return Envelope(header=header, body=request, operation=operation)


def _position(exc: etree.XMLSyntaxError) -> tuple[int, int]:
    position: object = getattr(exc, "position", None)
    if isinstance(position, tuple) and len(position) == 2:
        line, column = position
        if isinstance(line, int) and isinstance(column, int):
            return line, column
    return 0, 0


def _line(element: Element) -> int:
    line: object = element.sourceline
    return line if isinstance(line, int) else 0


def _has_doctype(root: Element) -> bool:
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lacks DocInfo.doctype
    return bool(docinfo.doctype)


def read_headers(header: Element | None, anchor_mailbox: str | None) -> SoapHeaders:
    """The EWS SOAP headers of a request (and the `X-AnchorMailbox` HTTP header).

    `RequestServerVersion` is checked leniently (see `REQUEST_VERSIONS`); a malformed
    `ExchangeImpersonation` header raises `ErrorInvalidExchangeImpersonationHeaderData`.
    """
    version = DEFAULT_REQUEST_VERSION
    impersonation = None
    tz_id = None
    tz_definition = None
    precision = None
    if header is not None:
        rsv = header.find(qname(T_NS, "RequestServerVersion"))
        if rsv is not None:
            value = (rsv.get("Version") or "").strip()
            if value not in REQUEST_VERSIONS:
                raise faults.invalid_request(
                    f"RequestServerVersion '{value}' is not a version this server knows."
                )
            version = value
        imp = header.find(qname(T_NS, "ExchangeImpersonation"))
        if imp is not None:
            impersonation = _impersonation(imp)
        tzc = header.find(qname(T_NS, "TimeZoneContext"))
        if tzc is not None:
            tz_definition = tzc.find(qname(T_NS, "TimeZoneDefinition"))
            if tz_definition is not None:
                tz_id = tz_definition.get("Id") or tz_definition.get("Name")
        dtp = header.find(qname(T_NS, "DateTimePrecision"))
        if dtp is not None:
            precision = (dtp.text or "").strip() or None
    return SoapHeaders(
        request_version=version,
        impersonation=impersonation,
        time_zone_id=tz_id,
        time_zone_definition=tz_definition,
        anchor_mailbox=anchor_mailbox.strip() if anchor_mailbox else None,
        date_time_precision=precision,
    )


def _impersonation(element: Element) -> Impersonation:
    def bad(why: str) -> faults.EwsFault:
        return faults.EwsFault(
            "ErrorInvalidExchangeImpersonationHeaderData",
            f"The ExchangeImpersonation SOAP header is not valid: {why}",
        )

    sid = element.find(qname(T_NS, "ConnectingSID"))
    if sid is None:
        raise bad("it has no ConnectingSID.")
    ids = [el for el in sid if isinstance(el.tag, str)]
    if len(ids) != 1 or etree.QName(ids[0]).namespace != T_NS:
        raise bad("ConnectingSID must hold exactly one identifier.")
    name = local_name(ids[0])
    value = (ids[0].text or "").strip()
    kind = _IMPERSONATION_KINDS.get(name)
    if kind is None:
        raise bad(f"'{name}' is not PrimarySmtpAddress, SmtpAddress, PrincipalName or SID.")
    if not value:
        raise bad(f"{name} is empty.")
    return Impersonation(kind=kind, value=value)


def serialize_envelope(body: Element, version: ServerVersion) -> bytes:
    """The response envelope around `body`, with Exchange Online's `ServerVersionInfo` header."""
    env = etree.Element(qname(SOAP_NS, "Envelope"), nsmap={"s": SOAP_NS})
    header = etree.SubElement(env, qname(SOAP_NS, "Header"))
    info = etree.SubElement(
        header,
        qname(T_NS, "ServerVersionInfo"),
        nsmap={"h": T_NS, "xsd": XSD_NS, "xsi": XSI_NS},
    )
    info.set("MajorVersion", str(version.major))
    info.set("MinorVersion", str(version.minor))
    info.set("MajorBuildNumber", str(version.major_build))
    info.set("MinorBuildNumber", str(version.minor_build))
    info.set("Version", version.version)
    soap_body = etree.SubElement(env, qname(SOAP_NS, "Body"))
    soap_body.append(body)
    return serialize(env)


_DECLARATION: Final = b'<?xml version="1.0" encoding="utf-8"?>'


def serialize(envelope: Element) -> bytes:
    """UTF-8 bytes with the XML declaration as Exchange writes it."""
    return _DECLARATION + etree.tostring(envelope, encoding="utf-8")


class RequestSchema:
    """The EWS schemas, loaded once, for validating request bodies as Exchange does.

    The schema files are not shipped with exchangesim (they are third-party data kept in
    `../shared/conformance/ews-schema/`); point `--ews-schema` or `EXCHANGESIM_EWS_SCHEMA` at a
    folder holding `messages.xsd` to switch validation on.
    """

    def __init__(self, folder: Path) -> None:
        entry = folder / "messages.xsd"
        if not entry.is_file():
            raise FileNotFoundError(f"no messages.xsd in {folder}")
        self.folder = folder
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        self._schema = etree.XMLSchema(etree.parse(str(entry), parser))
        self._elements = _global_elements(folder)

    def declares(self, element: Element) -> bool:
        """Whether the schemas declare `element` as a global element (the 2016 schemas lack
        e.g. GetUserAvailabilityRequest; such requests are not validated)."""
        return etree.QName(element).localname in self._elements.get(
            etree.QName(element).namespace or "", frozenset()
        )

    def validate(self, element: Element) -> None:
        """Raise `ErrorSchemaValidation` (first violation and its line) if `element` is invalid."""
        if not self.declares(element):
            return
        if self._schema.validate(element):
            return
        error_log: Any = self._schema.error_log  # lxml-stubs: _ErrorLog is not iterable there
        errors = [e for e in error_log if not _newer_than_2016_schema(e.message)]
        if not errors and len(error_log) > 0:
            return
        if not errors:
            raise faults.schema_validation("The request does not match the EWS schema.")
        first = errors[0]
        raise faults.schema_validation(first.message, first.line, first.column)


def _newer_than_2016_schema(message: str) -> bool:
    """Whether a violation is only a value that Exchange Online's schema (V2018_01_08, newer than
    the Exchange2016 files we validate with) accepts: distinguished folder names added since
    2016, such as `allcategorizeditems`, which exchangelib sends when it walks the folder tree.
    The operation itself then answers `ErrorFolderNotFound` for names it does not know.
    """
    return "DistinguishedFolderId', attribute 'Id'" in message


def _global_elements(folder: Path) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    xs = "http://www.w3.org/2001/XMLSchema"
    for path in sorted(folder.glob("*.xsd")):
        tree = etree.parse(str(path), parser)
        target = tree.getroot().get("targetNamespace") or ""
        names = found.setdefault(target, set())
        names.update(el.get("name") or "" for el in tree.getroot().findall(qname(xs, "element")))
    return {ns: frozenset(names) for ns, names in found.items()}
