"""The resource owner password credentials (ROPC) grant: delegated user tokens over HTTP.

Entra ID serves ``grant_type=password`` on the v2 token endpoint
(https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth-ropc): ``client_id``,
``username``, ``password`` and ``scope`` (the API's scopes, e.g.
``api://vmrsched.contoso.com/<id>/access_as_user``, plus any of ``openid profile email
offline_access``). A public client ("Allow public client flows") sends no secret; a confidential
one must. ROPC never shows a consent prompt, so the scope must already be consented
(AADSTS65001 otherwise).

The answer is a v2.0 access token for the API (``aud`` = the API's client id, ``scp`` = the scope
names, ``preferred_username``, ``oid``, ``tid``), the token NAA gives an Outlook add-in. Not
simulated: refresh and ID tokens (``offline_access``/``openid`` are accepted and ignored), MFA and
federated accounts, and tokens for Microsoft Graph when only OpenID scopes are asked for.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from exchangesim.identity import errors
from exchangesim.identity.tokens import EXPIRES_IN

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from exchangesim.identity.tokens import TokenIssuer
    from exchangesim.tenant import App, Tenant

#: OpenID Connect scopes: they ask for ID/refresh tokens, not for an API.
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})


def password_grant(
    issuer: TokenIssuer,
    tenant: Tenant,
    fields: dict[str, str],
    *,
    authenticate: Callable[[App, str, datetime], None],
    now: datetime,
) -> dict[str, Any]:
    """The token response for a password grant; EntraError for every refusal.

    ``fields`` holds the form's ``client_id``, ``client_secret``, ``username``, ``password``
    and ``scope``; ``authenticate(app, secret, now)`` checks a confidential client's secret.
    """
    for name in ("client_id", "username", "password", "scope"):
        if not fields.get(name):
            raise errors.missing_parameter(name)
    app = tenant.app(fields["client_id"])
    if app is None:
        raise errors.unknown_client(fields["client_id"], tenant.name)
    if not app.public_client or fields.get("client_secret"):
        # A confidential client must prove itself; a public one may not send a secret at all
        # in Entra, but sending a valid one is harmless, so it is checked rather than refused.
        authenticate(app, fields.get("client_secret", ""), now)
    api, scope_names, granted = _api_scopes(tenant, app, fields["scope"])
    user = tenant.user(fields["username"])
    if user is None:
        raise errors.unknown_user(fields["username"], tenant.tenant_id)
    if not user.password or not hmac.compare_digest(
        user.password.encode(), fields["password"].encode()
    ):
        raise errors.invalid_user_credentials()
    token = issuer.mint_user_token(user.email, app.client_id, api.client_id, scope_names)
    return {
        "token_type": "Bearer",
        "scope": " ".join(granted),
        "expires_in": EXPIRES_IN,
        "ext_expires_in": EXPIRES_IN,
        "access_token": token,
    }


def _api_scopes(tenant: Tenant, client: App, scope: str) -> tuple[App, list[str], list[str]]:
    """The API the scopes name, the scope names for ``scp``, and the scopes as granted."""
    wanted = [item for item in scope.split() if item.casefold() not in OIDC_SCOPES]
    if not wanted:
        raise errors.invalid_scope(scope)
    resources = {item.rsplit("/", 1)[0].rstrip("/").casefold() for item in wanted if "/" in item}
    if len(resources) != 1 or any("/" not in item for item in wanted):
        raise errors.invalid_scope(scope)
    resource = wanted[0].rsplit("/", 1)[0]
    api = tenant.api_app(resource)
    if api is None:
        raise errors.unknown_resource(resource, tenant.name)
    names = [item.rsplit("/", 1)[1] for item in wanted]
    exposed = {name.casefold() for name in api.exposed_scopes}
    for item, name in zip(wanted, names, strict=True):
        if name.casefold() not in exposed:
            raise errors.invalid_scope(item)
        if not _consented(client, api, name):
            raise errors.consent_required(client.client_id, client.display_name)
    return api, names, wanted


def _consented(client: App, api: App, name: str) -> bool:
    """Whether the client holds an admin-consented delegated permission for ``api``'s scope."""
    if not client.admin_consent:
        return False
    for permission in client.delegated_permissions:
        resource, _, scope_name = permission.rstrip("/").rpartition("/")
        if scope_name.casefold() == name.casefold() and api.names_api(resource):
            return True
    return False
