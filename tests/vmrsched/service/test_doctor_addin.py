"""The add-in's doctor checks as pure judgements: settings and fetched documents in, verdicts out
(the documents come from a fake `DocumentProbe`; the HTTP adapter is tested against exchangesim
and a small server in tests/vmrsched/adapters/test_doctor_addin_setups.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from signing_documents import certificate, certificate_entry, metadata_document, rsa_jwk
from vmrsched.ports.probe import ProbeError, Refusal
from vmrsched.service.doctor_addin import (
    ADDIN_CHECK_IDS,
    AddinRequest,
    ManifestFacts,
    diagnose_addin,
)
from vmrsched.service.doctor_checks import Check, Status

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
TENANT = "d182aff4-ea4d-43d8-b4a0-f4859ec8bdf5"
AUTHORITY = "https://login.microsoftonline.com"
OPENID = f"{AUTHORITY}/{TENANT}/v2.0/.well-known/openid-configuration"
JWKS = f"{AUTHORITY}/{TENANT}/discovery/v2.0/keys"
EXCHANGE = "https://mail.contoso.com/autodiscover/metadata/json/1"
SECOND = "https://mail.fabrikam.com/autodiscover/metadata/json/1"


class Documents:
    """A `DocumentProbe` answering from a dict: a document, or the `ProbeError` to raise."""

    def __init__(self, answers: dict[str, dict[str, Any] | ProbeError]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def json_document(self, url: str) -> dict[str, Any]:
        self.asked.append(url)
        answer = self.answers.get(url)
        if answer is None:
            raise ProbeError(f"{url} does not answer", reason=Refusal.UNREACHABLE, fix="network")
        if isinstance(answer, ProbeError):
            raise answer
        return answer

    def close(self) -> None:
        pass


def valid_for(days: int) -> dict[str, Any]:
    """An Exchange metadata document whose one certificate expires ``days`` after NOW."""
    return metadata_document(
        certificate_entry(certificate(expires_in=timedelta(days=days), now=NOW))
    )


def good_answers() -> dict[str, dict[str, Any] | ProbeError]:
    """Entra's documents for TENANT (issuer template as Entra's common metadata has it) and one
    Exchange document with a certificate valid for a year."""
    return {
        OPENID: {"issuer": f"{AUTHORITY}/{{tenantid}}/v2.0", "jwks_uri": JWKS},
        JWKS: {"keys": [rsa_jwk("k1"), rsa_jwk("k2")]},
        EXCHANGE: valid_for(365),
    }


REQUEST = AddinRequest(
    client_id="5f1c0a3e-2b6d-4c1e-9a7f-3d2e1b0c9a8f",
    tenant_id=TENANT,
    authority_url=AUTHORITY,
    metadata_urls=(EXCHANGE,),
    manifest=ManifestFacts(urls=("https://vmrsched.contoso.com",)),
)


def run(
    request: AddinRequest = REQUEST, **changes: dict[str, Any] | ProbeError
) -> dict[str, Check]:
    """The add-in's checks by id, with `good_answers` changed by ``changes`` (url=answer)."""
    answers = good_answers()
    for name, answer in changes.items():
        answers[{"openid": OPENID, "jwks": JWKS, "exchange": EXCHANGE}[name]] = answer
    checks = diagnose_addin(request, Documents(answers), now=NOW)
    assert [c.id for c in checks] == list(ADDIN_CHECK_IDS)
    return {c.id: c for c in checks}


def test_a_correct_add_in_setup_passes_every_check() -> None:
    """https manifest, the tenant's issuer and two RSA keys, a certificate valid for a year."""
    checks = run()
    assert {c.status for c in checks.values()} == {Status.PASS}, checks
    assert "2 RSA signing keys" in checks["addin.m365_signin"].summary
    assert f"{TENANT}/v2.0" in checks["addin.m365_signin"].summary
    assert "valid until 2028-02-29 (365 days)" in checks["addin.exchange_signin"].summary


def test_without_any_sign_in_the_add_in_checks_are_skipped_saying_why() -> None:
    """No client_id and no Exchange metadata: nothing fetched, three skips naming the settings."""
    documents = Documents({})
    request = AddinRequest(manifest=ManifestFacts(problem="no public_url"))
    checks = diagnose_addin(request, documents, now=NOW)
    assert [(c.id, c.status) for c in checks] == [(i, Status.SKIP) for i in ADDIN_CHECK_IDS]
    assert all("client_id and exchange_metadata_urls are empty" in c.summary for c in checks)
    assert documents.asked == []


@pytest.mark.parametrize(
    ("urls", "status", "phrase"),
    [
        (("https://vmrsched.contoso.com",), Status.PASS, "from https://vmrsched.contoso.com"),
        (("http://127.0.0.1:8080",), Status.WARN, "trials only"),
        (("http://localhost:8080",), Status.WARN, "trials only"),
        (("http://vmrsched.contoso.com",), Status.FAIL, "not https"),
        (
            ("https://vmrsched.contoso.com", "http://cdn.contoso.com/icons"),
            Status.FAIL,
            "http://cdn.contoso.com/icons",
        ),
    ],
)
def test_the_manifest_must_send_outlook_to_https(
    urls: tuple[str, ...], status: Status, phrase: str
) -> None:
    """Outlook loads add-ins only over https: plain http fails, on the loopback host it warns
    (a trial); the fix says how to serve https."""
    check = run(replace(REQUEST, manifest=ManifestFacts(urls=urls)))["addin.manifest"]
    assert (check.status, phrase in check.summary) == (status, True), check
    if status is not Status.PASS:
        assert "public_url" in check.fix


def test_a_manifest_that_cannot_be_built_fails_and_skips_the_exchange_sign_in() -> None:
    """The builder's reason and fix are shown; Exchange identity tokens need the add-in's URL,
    so their check is skipped (not fetched); the Microsoft 365 sign-in is still checked."""
    facts = ManifestFacts(problem="[web] public_url is not set", fix="set [web] public_url")
    checks = run(replace(REQUEST, manifest=facts))
    manifest = checks["addin.manifest"]
    assert manifest.status is Status.FAIL
    assert "public_url is not set" in manifest.summary
    assert manifest.fix == "set [web] public_url"
    assert checks["addin.exchange_signin"].status is Status.SKIP
    assert "addin.manifest" in checks["addin.exchange_signin"].summary
    assert checks["addin.m365_signin"].status is Status.PASS


def test_a_client_id_without_a_tenant_fails_with_the_setting_to_add() -> None:
    """No tenant: every Microsoft 365 token would be refused; nothing is fetched."""
    documents = Documents(good_answers())
    checks = diagnose_addin(replace(REQUEST, tenant_id=""), documents, now=NOW)
    check = next(c for c in checks if c.id == "addin.m365_signin")
    assert check.status is Status.FAIL
    assert "no tenant" in check.summary
    assert "[addin] tenant_id" in check.fix
    assert OPENID not in documents.asked


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({"openid": ProbeError("HTTP 400", reason=Refusal.UNREACHABLE)}, "metadata cannot be read"),
        ({"openid": {"issuer": f"{AUTHORITY}/another/v2.0", "jwks_uri": JWKS}}, "not tenant"),
        ({"openid": {"issuer": f"{AUTHORITY}/{TENANT}/v2.0"}}, "names no key set"),
        ({"jwks": ProbeError("TLS failed", reason=Refusal.UNREACHABLE)}, "key set cannot be read"),
        ({"jwks": {"keys": [rsa_jwk("enc", use="enc")]}}, "holds no RSA signing key"),
    ],
)
def test_each_broken_microsoft_365_sign_in_fails_for_its_own_reason(
    changes: dict[str, Any], phrase: str
) -> None:
    """Unreadable metadata, another tenant's issuer, no jwks_uri, unreadable or useless keys."""
    check = run(**changes)["addin.m365_signin"]
    assert check.status is Status.FAIL, check
    assert phrase in check.summary, check
    assert check.fix


def test_without_a_client_id_the_microsoft_365_sign_in_is_skipped() -> None:
    """Exchange Server only: the Microsoft 365 check says it is off; Exchange's is checked."""
    checks = run(replace(REQUEST, client_id=""))
    assert checks["addin.m365_signin"].status is Status.SKIP
    assert "client_id is empty" in checks["addin.m365_signin"].summary
    assert checks["addin.exchange_signin"].status is Status.PASS


@pytest.mark.parametrize(
    ("document", "status", "phrase"),
    [
        (valid_for(31), Status.PASS, "valid until"),
        (valid_for(10), Status.WARN, "expires in 10 days (2027-03-11)"),
        (valid_for(-1), Status.FAIL, "has expired, the newest on 2027-02-28"),
        (metadata_document(), Status.FAIL, "publishes no signing certificate"),
        (
            ProbeError("HTTP 404", reason=Refusal.UNREACHABLE, fix="check the URL"),
            Status.FAIL,
            "cannot be read: HTTP 404",
        ),
    ],
)
def test_the_exchange_certificate_is_judged_by_its_expiry(
    document: dict[str, Any] | ProbeError, status: Status, phrase: str
) -> None:
    """Valid for more than 30 days passes; within 30 days warns; expired or missing fails. An
    expiring or expired certificate's fix names the cmdlets and Microsoft's steps."""
    check = run(exchange=document)["addin.exchange_signin"]
    assert (check.status, phrase in check.summary) == (status, True), check
    if status is not Status.PASS and not isinstance(document, ProbeError):
        assert "New-ExchangeCertificate" in check.fix
        assert "Set-AuthConfig -PublishCertificate" in check.fix
        assert "learn.microsoft.com/troubleshoot/exchange" in check.fix


def test_a_renewed_certificate_beside_the_expiring_one_passes() -> None:
    """Exchange publishes the next certificate next to the current one: the newest decides."""
    old = certificate_entry(certificate(expires_in=timedelta(days=5), now=NOW))
    new = certificate_entry(certificate(expires_in=timedelta(days=5 * 365), now=NOW))
    check = run(exchange=metadata_document(old, new))["addin.exchange_signin"]
    assert check.status is Status.PASS, check
    assert "2 signing certificates" in check.summary


def test_a_certificate_not_valid_yet_fails() -> None:
    """Not before is in the future: no token can be checked with it now."""
    future = certificate(expires_in=timedelta(days=400), valid_for=timedelta(days=200), now=NOW)
    check = run(exchange=metadata_document(certificate_entry(future)))["addin.exchange_signin"]
    assert check.status is Status.FAIL
    assert "valid yet" in check.summary


def test_with_two_exchange_organizations_each_is_named_and_the_worst_decides() -> None:
    """One organization fine, the other's certificate expiring: WARN naming both documents."""
    answers = good_answers() | {SECOND: valid_for(3)}
    request = replace(REQUEST, metadata_urls=(EXCHANGE, SECOND))
    checks = diagnose_addin(request, Documents(answers), now=NOW)
    check = next(c for c in checks if c.id == "addin.exchange_signin")
    assert check.status is Status.WARN
    assert f"{EXCHANGE}: 1 signing certificate" in check.summary
    assert f"{SECOND}: 1 signing certificate" in check.summary
    assert "expires in 3 days" in check.summary
