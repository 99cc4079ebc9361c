"""Errors of the simulated Entra ID: token endpoint refusals and bearer-token rejections.

The token endpoint answers every refusal with Entra's JSON error body; :class:`EntraError` holds
one such answer. Each factory below reproduces a real AADSTS error; its comment cites a captured
response (the full list with sources: ``docs/exchangesim-identity.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

ERROR_URI = "https://login.microsoftonline.com/error?code={code}"


class InvalidToken(Exception):  # noqa: N818 - the architecture names it; it reads as a verdict
    """A bearer token was rejected; ``category`` is a short machine word, ``reason`` is prose.

    Categories: ``malformed``, ``unsupported_alg``, ``unknown_key``, ``invalid_signature``,
    ``missing_claim``, ``invalid_issuer``, ``invalid_tenant``, ``invalid_audience``,
    ``expired``, ``not_yet_valid``.
    """

    def __init__(self, reason: str, category: str = "malformed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.category = category


class EntraError(Exception):
    """One refusal of the token endpoint: HTTP status, OAuth ``error`` and an AADSTS code."""

    def __init__(
        self,
        status: int,
        error: str,
        code: int,
        message: str,
        *,
        error_uri: bool = True,
        suberror: str = "",
    ) -> None:
        super().__init__(f"AADSTS{code}: {message}")
        self.status = status
        self.error = error
        self.code = code
        self.message = message
        self.error_uri = error_uri
        self.suberror = suberror

    def body(self, now: datetime, trace_id: str, correlation_id: str) -> dict[str, Any]:
        """The JSON body Entra sends, with its trace lines in ``error_description``."""
        timestamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        description = (
            f"AADSTS{self.code}: {self.message}\r\nTrace ID: {trace_id}\r\n"
            f"Correlation ID: {correlation_id}\r\nTimestamp: {timestamp}"
        )
        body: dict[str, Any] = {
            "error": self.error,
            "error_description": description,
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
        }
        if self.error_uri:
            body["error_uri"] = ERROR_URI.format(code=self.code)
        if self.suberror:
            body["suberror"] = self.suberror
        return body


def invalid_client_secret(client_id: str) -> EntraError:
    """AADSTS7000215: the secret matches none of the app's secrets.

    Seen in: github.com/OfficeDev/microsoft-365-agents-toolkit/issues/8621 (HTTP 401 body).
    """
    return EntraError(
        401,
        "invalid_client",
        7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        "client secret value, not the client secret ID, for a secret added to app "
        f"'{client_id}'.",
    )


def expired_client_secret(client_id: str) -> EntraError:
    """AADSTS7000222: the secret matches one that has expired.

    Seen in: github.com/dotnet/sign/issues/849,
    github.com/spencerwooo/onedrive-vercel-index/issues/1051.
    """
    return EntraError(
        401,
        "invalid_client",
        7000222,
        f"The provided client secret keys for app '{client_id}' are expired. Visit the Azure "
        "portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider "
        "using certificate credentials for added security: https://aka.ms/certCreds.",
    )


def missing_client_secret() -> EntraError:
    """AADSTS7000218: neither a secret nor an assertion came with the request.

    Seen in: github.com/joelmeiller/cypress-msal-login/issues/11,
    github.com/haystackeditor/haystack-editor/issues/41
    ("invalid_client").
    """
    return EntraError(
        401,
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or "
        "'client_secret'.",
    )


def unknown_client(client_id: str, directory: str) -> EntraError:
    """AADSTS700016: no app with this client id in the tenant.

    Seen in: github.com/MicrosoftDocs/azure-docs/issues/21690,
    github.com/donwa/oneindex/issues/621.
    """
    return EntraError(
        400,
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory "
        f"'{directory}'. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You may have "
        "sent your authentication request to the wrong tenant.",
    )


def scope_not_default(scope: str) -> EntraError:
    """AADSTS1002012: client credentials need ``<resource>/.default``.

    Seen in: github.com/microsoftgraph/msgraph-sdk-python/issues/181,
    github.com/microsoft/msticpy/pull/923.
    """
    return EntraError(
        400,
        "invalid_scope",
        1002012,
        f"The provided value for scope {scope} is not valid. Client credential flows must have "
        "a scope value with /.default suffixed to the resource identifier (application ID URI).",
    )


def invalid_scope(scope: str) -> EntraError:
    """AADSTS70011: the scope value is not valid (e.g. more than one resource).

    Seen in: github.com/Azure/azure-sdk-for-net/issues/9076 (two .default scopes, client
    credentials).
    """
    return EntraError(
        400,
        "invalid_scope",
        70011,
        "The provided request must include a 'scope' input parameter. The provided value for the "
        f"input parameter 'scope' is not valid. The scope {scope} is not valid.",
    )


def unknown_resource(resource: str, directory: str) -> EntraError:
    """AADSTS500011: no resource (API) with this identifier in the tenant.

    Seen in: github.com/rootinc/laravel-azure-middleware/issues/51,
    github.com/otris/ews-cpp/issues/148.
    """
    return EntraError(
        400,
        "invalid_resource",
        500011,
        f"The resource principal named {resource} was not found in the tenant named {directory}. "
        "This can happen if the application has not been installed by the administrator of the "
        "tenant or consented to by any user in the tenant. You might have sent your "
        "authentication request to the wrong tenant.",
    )


def unknown_tenant(tenant: str) -> EntraError:
    """AADSTS90002: no tenant with this id or domain.

    Seen in: github.com/microsoftgraph/windowsupdates-webapplication-sample/issues/6,
    github.com/james-gould/azure-keyvault-emulator/issues/324 (OIDC discovery answers the
    same).
    """
    return EntraError(
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant.",
    )


def malformed_tenant(tenant: str) -> EntraError:
    """AADSTS900023: the tenant segment is neither a GUID nor a DNS name.

    Seen in: github.com/microsoft/Analysis-Services/issues/194.
    """
    return EntraError(
        400,
        "invalid_request",
        900023,
        f"Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid "
        "external domain.",
    )


def tenantless_grant() -> EntraError:
    """AADSTS9001023: client credentials over /common, /consumers (and /organizations, inferred).

    Seen in: github.com/Microsoft365DSC/MSCloudLoginAssistant/issues/100 (client credentials
    on /common).
    """
    return EntraError(
        400,
        "invalid_request",
        9001023,
        "The grant type is not supported over the /common or /consumers endpoints. Please use "
        "the /organizations or tenant-specific endpoint.",
    )


def missing_parameter(name: str) -> EntraError:
    """AADSTS900144: a required body parameter is absent.

    Seen in: github.com/MicrosoftDocs/azure-docs/issues/43780 ('grant_type'); same wording
    for others.
    """
    return EntraError(
        400,
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def unsupported_grant(grant_type: str) -> EntraError:
    """AADSTS70003: a grant type this endpoint does not serve.

    Seen in: github.com/AzureAD/microsoft-authentication-library-for-dotnet/pull/3023,
    github.com/AzureAD/azure-activedirectory-library-for-android/issues/132 (error name).
    """
    return EntraError(
        400,
        "unsupported_grant_type",
        70003,
        f"The app requested an unsupported grant type '{grant_type}'.",
    )


def resource_parameter_on_v2() -> EntraError:
    """AADSTS901002: the v2 endpoint takes ``scope``, not v1's ``resource``.

    Seen in: github.com/AzureADQuickStarts/AppModelv2-WebApp-OpenIDConnect-nodejs/issues/35,
    github.com/microsoft/vscode/issues/254009 (v1 `resource=` sent to a v2 endpoint).
    """
    return EntraError(
        400, "invalid_request", 901002, "The 'resource' request parameter is not supported."
    )


def wrong_method(method: str) -> EntraError:
    """AADSTS900561: the token endpoint takes POST only.

    Not captured in our sources: the wording is Entra's as commonly reported, unverified here.
    """
    return EntraError(
        400,
        "invalid_request",
        900561,
        f"The endpoint only accepts POST, OPTIONS requests. Received a {method} request.",
    )


def temporarily_unavailable() -> EntraError:
    """AADSTS90033: Entra is having an outage.

    Seen in: github.com/Azure/azure-sdk-for-python/issues/14241 (HTTP 503, no error_uri).
    """
    return EntraError(
        503,
        "temporarily_unavailable",
        90033,
        "A transient error has occurred. Please try again.",
        error_uri=False,
    )


def invalid_user_credentials() -> EntraError:
    """AADSTS50126: the password grant with a wrong password (or a user without one).

    Seen in: github.com/Azure/azure-cli/issues/18647 (full body: HTTP 400, ``invalid_grant``),
    MicrosoftDocs/azure-docs#55028 (ROPC on the v2 endpoint).
    """
    return EntraError(
        400,
        "invalid_grant",
        50126,
        "Error validating credentials due to invalid username or password.",
    )


def unknown_user(username: str, directory: str) -> EntraError:
    """AADSTS50034: the password grant for an account the directory does not have.

    Seen in: github.com/Microsoft365DSC/Microsoft365DSC/pull/801 (``invalid_grant`` body),
    AzureAD/microsoft-authentication-library-for-java#38.
    """
    return EntraError(
        400,
        "invalid_grant",
        50034,
        f"The user account {username} does not exist in the {directory} directory. To sign "
        "into this application, the account must be added to the directory.",
    )


def consent_required(client_id: str, display_name: str) -> EntraError:
    """AADSTS65001: a delegated scope nobody consented to (ROPC cannot ask for consent).

    Seen in: github.com/MicrosoftDocs/azure-docs/issues/39189 (full body with
    ``"suberror": "consent_required"``), MicrosoftDocs/azure-docs#31318 (ROPC).
    """
    return EntraError(
        400,
        "invalid_grant",
        65001,
        f"The user or administrator has not consented to use the application with ID "
        f"'{client_id}' named '{display_name}'. Send an interactive authorization request for "
        "this user and resource.",
        error_uri=False,
        suberror="consent_required",
    )
