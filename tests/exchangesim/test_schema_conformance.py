"""Every EWS answer the simulator gives must validate against the official EWS schemas.

Two checks, both against `../shared/conformance/ews-schema/messages.xsd` (skipped, saying so,
when that folder is absent):

- each `*.request.xml` sample of `../shared/conformance/ews-samples/` is sent to a live server
  (with a valid token and impersonation header) and its answer must conform; operations the
  simulator does not implement yet are listed as xfail with their name, so progress is visible;
- at the end of the session, every EWS response body any simulator emitted during the whole run
  (collected by `harness.COLLECTOR`) is validated: bodies against the schemas, faults against
  Exchange's fault shape.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from harness import (
    ALICE,
    COLLECTOR,
    SAMPLES_DIR,
    SCHEMA_MISSING,
    EwsClient,
    load_schema,
    make_sim,
    response_problems,
    schema_available,
    start_sim_server,
)
from lxml import etree

from exchangesim.ews.xml import M_NS, SOAP_NS, T_NS
from exchangesim.sim import ResponseRecord

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from harness import SimServer

SAMPLES = sorted(SAMPLES_DIR.glob("*.request.xml")) if SAMPLES_DIR.is_dir() else []


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    if not schema_available():
        pytest.skip(SCHEMA_MISSING)
    return load_schema()


@pytest.fixture(scope="module")
def samples_server(cert_dir: Path) -> Iterator[SimServer]:
    """A server of its own: the samples create, move and delete things."""
    server = start_sim_server(make_sim(), cert_dir=cert_dir)
    yield server
    server.stop()


def with_our_headers(sample: bytes) -> tuple[bytes, str, etree._Element]:
    """The sample with our impersonation header (any of its own removed); its operation name
    and body element."""
    root = etree.fromstring(sample)
    header = root.find(f"{{{SOAP_NS}}}Header")
    if header is None:
        header = etree.Element(f"{{{SOAP_NS}}}Header")
        root.insert(0, header)
    for old in header.findall(f"{{{T_NS}}}ExchangeImpersonation"):
        header.remove(old)
    if header.find(f"{{{T_NS}}}RequestServerVersion") is None:
        etree.SubElement(header, f"{{{T_NS}}}RequestServerVersion", Version="Exchange2016")
    impersonation = etree.SubElement(header, f"{{{T_NS}}}ExchangeImpersonation")
    sid = etree.SubElement(impersonation, f"{{{T_NS}}}ConnectingSID")
    etree.SubElement(sid, f"{{{T_NS}}}PrimarySmtpAddress").text = ALICE
    body = root.find(f"{{{SOAP_NS}}}Body")
    assert body is not None
    child = next(el for el in body if isinstance(el.tag, str))
    name = etree.QName(child).localname
    return (
        etree.tostring(root),
        name.removesuffix("Request") if name.endswith("Request") else name,
        child,
    )


@pytest.mark.parametrize("sample", SAMPLES or [None], ids=lambda p: p.name if p else "no-samples")
async def test_the_answer_to_each_sample_request_conforms(
    sample: Path | None, samples_server: SimServer, schema: etree.XMLSchema
):
    """Send a captured/documented EWS request; the answer must be schema-valid (errors for ids
    that do not exist here are fine), or the operation is listed as not implemented yet."""
    if sample is None:
        pytest.skip(f"no EWS samples at {SAMPLES_DIR}")
    raw = await asyncio.to_thread(sample.read_bytes)
    data, operation, child = with_our_headers(raw)
    if etree.QName(child).namespace != M_NS:
        pytest.skip(f"{sample.name} is not an EWS request ({etree.QName(child).namespace})")
    async with EwsClient(samples_server) as ews:
        reply = await ews.post(data, token=samples_server.app_token())
    if reply.fault_code == "ErrorInvalidOperation":
        pytest.xfail(f"exchangesim does not implement {operation} yet")
    record = ResponseRecord(operation=operation, status=reply.status, body=reply.body)
    assert reply.status in {200, 500}, reply.body[:300]
    assert response_problems(record, schema) == []
    if reply.fault_code == "ErrorSchemaValidation":
        # A refusal the schemas must back: the sample's body really is invalid.
        assert not schema.validate(child), f"{sample.name} is schema-valid but was refused"


def test_every_ews_response_of_the_session_conforms(schema: etree.XMLSchema):
    """Every EWS response body emitted during this test session validates (runs last)."""
    records = COLLECTOR.snapshot()
    if not records:
        pytest.skip("no EWS responses were emitted in this session")
    failures = []
    for record in records:
        problems = response_problems(record, schema)
        if problems:
            failures.append(
                f"{record.operation} (HTTP {record.status}): {problems[:3]}\n"
                f"    {record.body[:400].decode(errors='replace')}"
            )
    assert not failures, (
        f"{len(failures)} of {len(records)} responses do not conform:\n" + "\n".join(failures[:20])
    )


def test_the_conformance_check_catches_broken_responses(schema: etree.XMLSchema):
    """The session-end check is not vacuous: a body the schema refuses and a fault without
    Exchange's shape are both reported."""
    header = (
        f'<s:Header><h:ServerVersionInfo xmlns:h="{T_NS}" MajorVersion="15" MinorVersion="20"/>'
        "</s:Header>"
    )
    bad_body = (
        f'<s:Envelope xmlns:s="{SOAP_NS}">{header}<s:Body>'
        f'<m:ConvertIdResponse xmlns:m="{M_NS}"><m:Nonsense/></m:ConvertIdResponse>'
        "</s:Body></s:Envelope>"
    ).encode()
    bad_fault = (
        f'<s:Envelope xmlns:s="{SOAP_NS}"><s:Body><s:Fault><faultcode>Server</faultcode>'
        "</s:Fault></s:Body></s:Envelope>"
    ).encode()
    assert response_problems(ResponseRecord("ConvertId", 200, bad_body), schema)
    assert response_problems(ResponseRecord("ConvertId", 500, bad_fault), schema)
