"""Shared test harness for exchangesim: live servers, tokens, SOAP envelopes, an EWS client, and
the collector that checks every EWS response of the session against the schemas.

Tests import it as `harness` (pytest puts this folder on sys.path through its conftest.py):

    from harness import LEGACY_APP, envelope, EwsClient

    async def test_something(sim_server):
        async with EwsClient(sim_server) as ews:
            reply = await ews.call("<m:ConvertId ...>", impersonate="alice@contoso.com")
        assert reply.status == 200
"""

from __future__ import annotations

import copy
import hashlib
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import aiohttp
from lxml import etree

from exchangesim.ews.xml import E_NS, M_NS, SOAP_NS, T_NS
from exchangesim.server import RunningServer, start_in_thread
from exchangesim.sim import ResponseRecord, Simulator
from exchangesim.tenant import Tenant, demo_tenant, parse_tenant

if TYPE_CHECKING:
    from types import TracebackType

    from exchangesim.admin import AdminClient
    from exchangesim.knobs import Knobs

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE_DIR = REPO_ROOT.parent / "shared" / "conformance"
SCHEMA_DIR = CONFORMANCE_DIR / "ews-schema"
SAMPLES_DIR = CONFORMANCE_DIR / "ews-samples"
SCHEMA_MISSING = (
    f"the EWS schemas are not here: {SCHEMA_DIR} (../shared/conformance/ews-schema relative to "
    "the repository); conformance checks need that folder"
)

EWS_RESOURCE = "https://outlook.office365.com"
#: Demo tenant apps (src/exchangesim/data/demo-tenant.toml).
VMRSCHED_APP = "522d29f1-c520-4cd7-bd5d-565f738f599b"  # scoped to vmr-schedulers by RBAC
LEGACY_APP = "c848bada-10bc-40ef-8f36-4fa35f7807cf"  # full_access_as_app consented tenant-wide
ALICE = "alice@contoso.com"
DAVE = "dave@contoso.com"  # outside the scheduling group
VMR = "vmr@contoso.com"

SOAP_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}
NSDECL = f'xmlns:s="{SOAP_NS}" xmlns:m="{M_NS}" xmlns:t="{T_NS}"'


def schema_available() -> bool:
    """Whether ../shared/conformance/ews-schema/messages.xsd is present."""
    return (SCHEMA_DIR / "messages.xsd").is_file()


# --- simulators and servers -----------------------------------------------------------------------


def make_sim(
    tenant: Tenant | str | None = None, *, validate_requests: bool = True, **kwargs: Any
) -> Simulator:
    """A simulator for the demo tenant (or a tenant object / TOML text), validating requests
    against the EWS schemas when they are available."""
    if tenant is None:
        tenant = demo_tenant()
    elif isinstance(tenant, str):
        tenant = parse_tenant(tenant, source="test-tenant.toml")
    schema = SCHEMA_DIR if validate_requests and schema_available() else None
    return Simulator.from_tenant(tenant, ews_schema=schema, **kwargs)


@dataclass
class SimServer:
    """A simulator served over HTTPS from a background thread."""

    sim: Simulator
    server: RunningServer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def ews_url(self) -> str:
        return self.server.ews_url

    @property
    def ca_file(self) -> Path:
        assert self.server.ca_file is not None
        return self.server.ca_file

    @property
    def knobs(self) -> Knobs:
        return self.sim.knobs

    @property
    def admin(self) -> AdminClient:
        return self.server.admin()

    def app_token(self, client_id: str = LEGACY_APP, resource: str = EWS_RESOURCE) -> str:
        """An app-only token as the token endpoint would issue it."""
        app = self.sim.tenant.app(client_id)
        assert app is not None, client_id
        return self.sim.issuer.mint_app_token(app, resource)

    def user_token(
        self,
        email: str = ALICE,
        client_id: str = VMRSCHED_APP,
        scopes: tuple[str, ...] = ("EWS.AccessAsUser.All",),
    ) -> str:
        """A delegated token for `email` with the given scopes."""
        return self.sim.issuer.mint_user_token(email, client_id, EWS_RESOURCE, scopes)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def stop(self) -> None:
        self.server.stop()


def start_sim_server(sim: Simulator | None = None, *, cert_dir: Path | None = None) -> SimServer:
    """Serve `sim` (default: a fresh demo-tenant simulator) over HTTPS on a free port."""
    sim = sim or make_sim()
    return SimServer(
        sim=sim, server=start_in_thread(sim, "127.0.0.1", 0, tls=True, cert_dir=cert_dir)
    )


# --- SOAP -------------------------------------------------------------------------------------


def envelope(
    body: str,
    *,
    impersonate: str | None = ALICE,
    version: str | None = "Exchange2016",
    extra_headers: str = "",
    impersonation_kind: str = "PrimarySmtpAddress",
) -> bytes:
    """A request envelope around `body` (XML text using the `m:`/`t:` prefixes)."""
    headers = ""
    if version is not None:
        headers += f'<t:RequestServerVersion Version="{version}"/>'
    if impersonate is not None:
        headers += (
            "<t:ExchangeImpersonation><t:ConnectingSID>"
            f"<t:{impersonation_kind}>{impersonate}</t:{impersonation_kind}>"
            "</t:ConnectingSID></t:ExchangeImpersonation>"
        )
    headers += extra_headers
    return (
        f'<?xml version="1.0" encoding="utf-8"?><s:Envelope {NSDECL}>'
        f"<s:Header>{headers}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def convert_id_body(
    item_id: str = "DUMMY", mailbox: str = "DUMMY", source: str = "EwsId", dest: str = "EntryId"
) -> str:
    """A ConvertId body (by default exchangelib's version probe)."""
    return (
        f'<m:ConvertId DestinationFormat="{dest}"><m:SourceIds>'
        f'<t:AlternateId Format="{source}" Id="{item_id}" Mailbox="{mailbox}"/>'
        "</m:SourceIds></m:ConvertId>"
    )


@dataclass
class EwsReply:
    """An HTTP answer of the EWS endpoint."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def root(self) -> etree._Element:
        return etree.fromstring(self.body)

    @property
    def body_child(self) -> etree._Element:
        soap_body = self.root.find(f"{{{SOAP_NS}}}Body")
        assert soap_body is not None
        return soap_body[0]

    @property
    def fault_code(self) -> str | None:
        """`detail/e:ResponseCode` of a SOAP fault, else None."""
        if not self.body or not self.body.lstrip().startswith(b"<"):
            return None
        fault = self.root.find(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault")
        if fault is None:
            return None
        code = fault.find(f"detail/{{{E_NS}}}ResponseCode")
        return (code.text or "").strip() if code is not None else None

    def response_codes(self) -> list[str]:
        """Every `m:ResponseCode` of the response messages, in order."""
        return [(el.text or "").strip() for el in self.root.iter(f"{{{M_NS}}}ResponseCode")]

    def response_classes(self) -> list[str]:
        return [
            el.get("ResponseClass", "")
            for el in self.root.iter()
            if isinstance(el.tag, str) and el.get("ResponseClass") is not None
        ]


class EwsClient:
    """A small async EWS client over aiohttp, trusting the simulator's CA."""

    def __init__(self, server: SimServer, *, limit: int = 100) -> None:
        self.server = server
        self._limit = limit
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        connector = aiohttp.TCPConnector(ssl=self.server.ssl_context(), limit=self._limit)
        self.session = aiohttp.ClientSession(connector=connector)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.session is not None:
            await self.session.close()

    async def post(
        self,
        data: bytes,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        path: str = "/EWS/Exchange.asmx",
        client_timeout: float = 30,
        method: str = "POST",
    ) -> EwsReply:
        """Send raw bytes; `token` None sends no Authorization header."""
        assert self.session is not None, "use `async with EwsClient(...)`"
        sent = dict(SOAP_HEADERS)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        async with self.session.request(
            method,
            self.server.base_url + path,
            data=data,
            headers=sent,
            timeout=aiohttp.ClientTimeout(total=client_timeout),
        ) as response:
            return EwsReply(response.status, dict(response.headers), await response.read())

    async def call(
        self,
        body: str,
        *,
        impersonate: str | None = ALICE,
        token: str | None = None,
        version: str | None = "Exchange2016",
        extra_headers: str = "",
        http_headers: dict[str, str] | None = None,
        client_timeout: float = 30,
    ) -> EwsReply:
        """Wrap `body` in an envelope and send it with an app token (LEGACY_APP by default)."""
        data = envelope(body, impersonate=impersonate, version=version, extra_headers=extra_headers)
        return await self.post(
            data,
            token=token if token is not None else self.server.app_token(),
            headers=http_headers,
            client_timeout=client_timeout,
        )


# --- the response collector ---------------------------------------------------------------------


@dataclass
class ResponseCollector:
    """Every distinct EWS response body the simulators of this process emitted."""

    records: list[ResponseRecord] = field(default_factory=list)
    _seen: set[bytes] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: ResponseRecord) -> None:
        digest = hashlib.sha256(record.body).digest()
        with self._lock:
            if digest in self._seen:
                return
            self._seen.add(digest)
            self.records.append(record)

    def snapshot(self) -> list[ResponseRecord]:
        with self._lock:
            return list(self.records)


COLLECTOR = ResponseCollector()


def load_schema() -> etree.XMLSchema:
    """messages.xsd as lxml loads it (no network)."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "messages.xsd"), parser))


def response_problems(record: ResponseRecord, schema: etree.XMLSchema) -> list[str]:
    """What is wrong with one emitted response (empty when it conforms).

    A normal response: its header's ServerVersionInfo and its body element must validate against
    the EWS schemas. A SOAP fault (outside the EWS schemas): it must have Exchange's shape,
    `faultcode` `a:<code>` in the types namespace and `detail/e:ResponseCode` equal to `<code>`.
    """
    try:
        root = etree.fromstring(record.body)
    except etree.XMLSyntaxError as exc:
        return [f"not XML: {exc}"]
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        return [f"root is {root.tag}, not soap:Envelope"]
    body = root.find(f"{{{SOAP_NS}}}Body")
    if body is None or len(body) != 1:
        return ["soap:Body must hold exactly one element"]
    child = body[0]
    if child.tag == f"{{{SOAP_NS}}}Fault":
        return _fault_problems(child)
    problems = []
    info = root.find(f"{{{SOAP_NS}}}Header/{{{T_NS}}}ServerVersionInfo")
    if info is None:
        problems.append("no ServerVersionInfo header")
    elif not schema.validate(info):
        problems += [f"ServerVersionInfo: {e}" for e in _errors(schema)]
    if etree.QName(child).localname in NOT_IN_SCHEMA_SET:
        return problems  # checked against the captured samples instead (test_ops_availability)
    if etree.QName(child).localname in DECLARED_AS_ITS_MESSAGE:
        return problems + _message_problems(child, schema)
    if not schema.validate(child):
        problems += [f"line {e.line}: {e.message}" for e in _errors(schema)][:5]
    return problems


#: Response elements the Exchange2016 schema set in ../shared/conformance does not declare
#: (MS-OXWSAVAIL is not part of it; see its README). Their shapes are compared with the captured
#: GetUserAvailability samples by `test_answers_have_the_shape_of_the_captured_samples`.
NOT_IN_SCHEMA_SET = frozenset({"GetUserAvailabilityResponse"})


#: Responses whose global element the MS-OXWS* schema set declares with the type of its single
#: response message, while Exchange (and the EWS reference: "GetUserConfigurationResponse
#: ... Child elements: ResponseMessages") wraps the message in `m:ResponseMessages`, as every
#: other operation does. Each inner message is validated against that type instead.
DECLARED_AS_ITS_MESSAGE = frozenset({"GetUserConfigurationResponse"})


def _message_problems(response: etree._Element, schema: etree.XMLSchema) -> list[str]:
    name = etree.QName(response).localname
    messages = response.find(f"{{{M_NS}}}ResponseMessages")
    if messages is None or len(messages) != 1:
        return [f"{name}: expected m:ResponseMessages with one message"]
    inner = copy.deepcopy(messages[0])
    inner.tag = f"{{{M_NS}}}{name}"  # the global element of the message's type
    if schema.validate(inner):
        return []
    return [f"line {e.line}: {e.message}" for e in _errors(schema)][:5]


def _errors(schema: etree.XMLSchema) -> list[Any]:
    log: Any = schema.error_log
    return list(log)


def _fault_problems(fault: etree._Element) -> list[str]:
    problems = []
    code_el = fault.find("faultcode")
    code = (code_el.text or "").strip() if code_el is not None else ""
    prefix, _, name = code.partition(":")
    if code_el is None or not name or code_el.nsmap.get(prefix) != T_NS:
        problems.append(f"faultcode {code!r} is not a:<code> in the types namespace")
    if fault.find("faultstring") is None:
        problems.append("no faultstring")
    detail_code = fault.find(f"detail/{{{E_NS}}}ResponseCode")
    if detail_code is None or (detail_code.text or "").strip() != name:
        problems.append("detail/e:ResponseCode missing or not the faultcode")
    if fault.find(f"detail/{{{E_NS}}}Message") is None:
        problems.append("no detail/e:Message")
    return problems
