"""The simulated Entra ID: signing key, token issuer and verifier, and the token endpoint.

- :class:`TokenIssuer` mints app-only v1.0 tokens (Exchange, Graph) and delegated v2.0 tokens
  (for our own APIs), publishes its key set and verifies bearer tokens into a :class:`Principal`.
- :func:`add_routes` serves the token endpoints, OIDC metadata and keys over aiohttp.
- Errors: :class:`InvalidToken` (a rejected bearer token) and :class:`EntraError` (a refusal of
  the token endpoint, with its AADSTS code).
"""

from exchangesim.identity.endpoint import IdentityHost, add_routes
from exchangesim.identity.errors import EntraError, InvalidToken
from exchangesim.identity.keys import SigningKey, generate_signing_key, load_signing_key
from exchangesim.identity.tokens import (
    CLOCK_SKEW,
    EXPIRES_IN,
    ApiResource,
    Clock,
    Principal,
    TokenIssuer,
    audiences,
    find_resource,
    read_clock,
    v1_issuer,
    v2_issuer,
)

__all__ = [
    "CLOCK_SKEW",
    "EXPIRES_IN",
    "ApiResource",
    "Clock",
    "EntraError",
    "IdentityHost",
    "InvalidToken",
    "Principal",
    "SigningKey",
    "TokenIssuer",
    "add_routes",
    "audiences",
    "find_resource",
    "generate_signing_key",
    "load_signing_key",
    "read_clock",
    "v1_issuer",
    "v2_issuer",
]
