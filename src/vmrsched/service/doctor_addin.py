"""``vmrsched doctor``: the Outlook add-in's setup (``[addin]``, ``[web] public_url``).

Three checks, after the Exchange ones, for EWS and Graph alike (docs/reference/doctor.md,
"The add-in"):

- ``addin.manifest``: the manifest can be built and every URL it gives Outlook is https;
- ``addin.m365_signin`` (``[addin] client_id``): the tenant's OpenID metadata and key set are
  readable from here, the issuer is the tenant's, the key set holds an RSA signing key;
- ``addin.exchange_signin`` (``[addin] exchange_metadata_urls``): each Exchange authentication
  metadata document is readable and publishes a signing certificate valid now, the newest one
  not expiring within `CERTIFICATE_WARNING`.

The documents are fetched through the `DocumentProbe` port (the adapter speaks HTTP) and read
with the sign-in's own parsers (`vmrsched.domain.signing_keys`), so the doctor judges the keys
the sign-in would use. Time is passed in. All three are skipped, saying why, when the add-in is
not configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from vmrsched.domain.signing_keys import jwks_signing_keys, signing_certificates
from vmrsched.ports.probe import ProbeError, Refusal
from vmrsched.service.doctor_checks import Check, Status

if TYPE_CHECKING:
    from datetime import datetime

    from vmrsched.domain.signing_keys import Certificates
    from vmrsched.ports.probe import DocumentProbe

#: The add-in's check ids, in the order they run (after the Exchange checks).
ADDIN_CHECK_IDS: Final = ("addin.manifest", "addin.m365_signin", "addin.exchange_signin")
#: Warn when the newest signing certificate of an Exchange metadata document expires this soon.
CERTIFICATE_WARNING: Final = timedelta(days=30)
_LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_ORDER: Final = (Status.PASS, Status.WARN, Status.FAIL)
_HTTPS_FIX: Final = (
    "serve vmrsched over https (a TLS reverse proxy in front of [web] listen) and set [web] "
    "public_url to that URL, e.g. https://vmrsched.contoso.com (icon_url and support_url too, "
    "when set)"
)
_TENANT_FIX: Final = (
    "set [addin] tenant_id to your Directory (tenant) ID (Entra admin center → Overview); Entra "
    "answers HTTP 400 for a tenant it does not know. National clouds: [addin] authority_url"
)
#: Microsoft's steps to replace Exchange's auth certificate (KB 2617816).
RENEW_DOCS: Final = (
    "https://learn.microsoft.com/troubleshoot/exchange/administration/"
    "cannot-access-owa-or-ecp-if-oauth-expired"
)
_RENEW_FIX: Final = (
    "renew Exchange's OAuth certificate (Exchange Management Shell): New-ExchangeCertificate "
    "-KeySize 2048 -PrivateKeyExportable $true -SubjectName 'cn=Microsoft Exchange Server Auth "
    "Certificate' -FriendlyName 'Microsoft Exchange Server Auth Certificate' -DomainName @(); "
    "Set-AuthConfig -NewCertificateThumbprint <its thumbprint> -NewCertificateEffectiveDate "
    "(Get-Date); Set-AuthConfig -PublishCertificate; Set-AuthConfig -ClearPreviousCertificate; "
    f"restart MSExchangeServiceHost and IIS ({RENEW_DOCS})"
)


@dataclass(frozen=True)
class ManifestFacts:
    """Whether the manifest could be built (``problem``/``fix`` when not), and the base URLs of
    what it tells Outlook to load: the add-in's pages, its icons, its support page."""

    problem: str = ""
    fix: str = ""
    urls: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AddinRequest:
    """The add-in's settings the checks read (``[addin]``), and the manifest's facts."""

    client_id: str = ""
    tenant_id: str = ""
    authority_url: str = "https://login.microsoftonline.com"
    metadata_urls: tuple[str, ...] = ()
    manifest: ManifestFacts = ManifestFacts()

    @property
    def configured(self) -> bool:
        """Whether any sign-in of the add-in is configured."""
        return bool(self.client_id or self.metadata_urls)

    @property
    def openid_url(self) -> str:
        """The tenant's v2.0 OpenID metadata, as the sign-in reads it (`web.signin`)."""
        base = self.authority_url.rstrip("/")
        return f"{base}/{self.tenant_id}/v2.0/.well-known/openid-configuration"


def diagnose_addin(
    request: AddinRequest, documents: DocumentProbe, *, now: datetime
) -> list[Check]:
    """The add-in's checks, in `ADDIN_CHECK_IDS` order."""
    if not request.configured:
        why = (
            "not checked: the add-in is not configured ([addin] client_id and "
            "exchange_metadata_urls are empty)"
        )
        return [Check(check_id, Status.SKIP, why) for check_id in ADDIN_CHECK_IDS]
    manifest = manifest_check(request.manifest)
    return [
        manifest,
        m365_signin_check(request, documents),
        exchange_signin_check(request, documents, now=now),
    ]


def manifest_check(facts: ManifestFacts) -> Check:
    """``addin.manifest``: the manifest builds and names only https URLs (Outlook loads add-ins
    only over https; plain http on the loopback host is for trials with exchangesim)."""
    check_id = "addin.manifest"
    if facts.problem:
        return Check(
            check_id, Status.FAIL, f"the manifest cannot be built: {facts.problem}", facts.fix
        )
    plain = [url for url in facts.urls if urlsplit(url).scheme != "https"]
    remote = [url for url in plain if urlsplit(url).hostname not in _LOOPBACK]
    if remote:
        return Check(
            check_id,
            Status.FAIL,
            f"the manifest sends Outlook to {', '.join(remote)}: not https, and Outlook loads "
            "add-ins only over https",
            _HTTPS_FIX,
        )
    if plain:
        return Check(
            check_id,
            Status.WARN,
            f"the manifest builds but sends Outlook to {', '.join(plain)}: plain http on the "
            "loopback host is for trials only (exchangesim, vmrsched demo); Outlook loads "
            "add-ins only over https",
            _HTTPS_FIX,
        )
    where = facts.urls[0] if facts.urls else "[web] public_url"
    return Check(
        check_id, Status.PASS, f"the manifest builds; Outlook loads the add-in from {where}"
    )


def m365_signin_check(request: AddinRequest, documents: DocumentProbe) -> Check:
    """``addin.m365_signin``: Entra ID's documents for the tenant are readable and usable."""
    check_id = "addin.m365_signin"
    if not request.client_id:
        return Check(
            check_id,
            Status.SKIP,
            "not checked: [addin] client_id is empty (no Microsoft 365 sign-in)",
        )
    tenant = request.tenant_id
    if not tenant:
        return Check(
            check_id,
            Status.FAIL,
            "[addin] client_id is set but no tenant is known ([addin] tenant_id, or the tenant "
            "in [exchange] token_endpoint): every Microsoft 365 user's token is refused",
            _TENANT_FIX,
        )
    url = request.openid_url
    try:
        metadata = documents.json_document(url)
    except ProbeError as exc:
        return Check(
            check_id,
            Status.FAIL,
            f"the tenant's OpenID metadata cannot be read: {exc}",
            exc.fix or (_reach_fix(url) if exc.reason is Refusal.UNREACHABLE else _TENANT_FIX),
        )
    issuer = str(metadata.get("issuer", "")).replace("{tenantid}", tenant)
    segments = {part.casefold() for part in urlsplit(issuer).path.split("/")}
    if tenant.casefold() not in segments:
        return Check(
            check_id,
            Status.FAIL,
            f"the OpenID metadata at {url} names the issuer {issuer or '(none)'}, not tenant "
            f"{tenant}'s: its users' tokens would be refused",
            _TENANT_FIX,
        )
    jwks_uri = metadata.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri:
        return Check(
            check_id,
            Status.FAIL,
            f"the OpenID metadata at {url} names no key set (jwks_uri)",
            "check [addin] authority_url: it must be Entra ID's (https://login.microsoftonline.com)",
        )
    try:
        key_set = documents.json_document(jwks_uri)
    except ProbeError as exc:
        return Check(
            check_id,
            Status.FAIL,
            f"the tenant's key set cannot be read: {exc}",
            exc.fix or _reach_fix(jwks_uri),
        )
    found = jwks_signing_keys(key_set.get("keys"))
    if not found.keys:
        return Check(
            check_id,
            Status.FAIL,
            f"the tenant's key set ({jwks_uri}) holds no RSA signing key"
            + (f" ({len(found.skipped)} did not parse)" if found.skipped else ""),
            "check [addin] authority_url: it must be Entra ID's (https://login.microsoftonline.com)",
        )
    return Check(
        check_id,
        Status.PASS,
        f"the tenant's OpenID metadata names the issuer {issuer}; its key set holds "
        f"{_count(len(found.keys), 'RSA signing key')}",
    )


@dataclass(frozen=True)
class DocumentVerdict:
    """What one Exchange metadata document gives ``addin.exchange_signin``."""

    status: Status
    summary: str
    fix: str = ""


def exchange_signin_check(
    request: AddinRequest, documents: DocumentProbe, *, now: datetime
) -> Check:
    """``addin.exchange_signin``: every trusted Exchange metadata document publishes a signing
    certificate valid now; the worst document decides."""
    check_id = "addin.exchange_signin"
    if not request.metadata_urls:
        return Check(
            check_id,
            Status.SKIP,
            "not checked: [addin] exchange_metadata_urls is empty (no Exchange Server sign-in)",
        )
    if request.manifest.problem:
        return Check(
            check_id,
            Status.SKIP,
            "not checked: without a manifest (addin.manifest) the reservation API accepts no "
            "Exchange identity token (their audience is the add-in's URL)",
        )
    verdicts = [_document_verdict(url, documents, now) for url in request.metadata_urls]
    worst = max((v.status for v in verdicts), key=_ORDER.index)
    fixes = dict.fromkeys(v.fix for v in verdicts if v.status is not Status.PASS and v.fix)
    return Check(check_id, worst, "; ".join(v.summary for v in verdicts), "; ".join(fixes))


def _document_verdict(url: str, documents: DocumentProbe, now: datetime) -> DocumentVerdict:
    try:
        document = documents.json_document(url)
    except ProbeError as exc:
        shown = str(exc) if url in str(exc) else f"{url} cannot be read: {exc}"
        return DocumentVerdict(Status.FAIL, shown, exc.fix or _metadata_fix(url))
    return certificate_verdict(url, signing_certificates(document.get("keys")), now)


def certificate_verdict(url: str, found: Certificates, now: datetime) -> DocumentVerdict:
    """One document's verdict from its signing certificates at ``now``."""
    certificates, skipped = found.certificates, found.skipped
    if not certificates:
        odd = f" ({_count(len(skipped), 'certificate')} did not parse)" if skipped else ""
        return DocumentVerdict(
            Status.FAIL,
            f"{url} publishes no signing certificate{odd}",
            "check that the URL is Exchange's authentication metadata document "
            "(https://<Exchange host>/autodiscover/metadata/json/1) and that Get-AuthConfig names "
            f"a current certificate; {_RENEW_FIX}",
        )
    newest = max(certificates, key=lambda c: c.not_after)
    if not any(c.valid_at(now) for c in certificates):
        if newest.not_after < now:
            what = f"every signing certificate of {url} has expired, the newest on "
            what += f"{newest.not_after:%Y-%m-%d}"
        else:
            earliest = min(certificates, key=lambda c: c.not_before)
            what = f"no signing certificate of {url} is valid yet (the first from "
            what += f"{earliest.not_before:%Y-%m-%d})"
        return DocumentVerdict(
            Status.FAIL, f"{what}: Exchange Server users cannot sign in to the add-in", _RENEW_FIX
        )
    left = newest.not_after - now
    days = left.days
    found_text = (
        f"{_count(len(certificates), 'signing certificate')}, the newest ({newest.subject})"
    )
    if left < CERTIFICATE_WARNING:
        return DocumentVerdict(
            Status.WARN,
            f"{url}: {found_text} expires in {_count(days, 'day')} ({newest.not_after:%Y-%m-%d}); "
            "after that Exchange Server users cannot sign in to the add-in",
            _RENEW_FIX,
        )
    return DocumentVerdict(
        Status.PASS,
        f"{url}: {found_text} is valid until {newest.not_after:%Y-%m-%d} ({_count(days, 'day')})",
    )


def _reach_fix(url: str) -> str:
    return (
        f"check that this host reaches {url} (DNS, firewall, proxy); for a private CA set "
        "[exchange] ca_bundle"
    )


def _metadata_fix(url: str) -> str:
    return (
        f"check that {url} is Exchange's authentication metadata document "
        "(https://<Exchange host>/autodiscover/metadata/json/1, the amurl of your users' "
        "identity tokens)"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
