"""App-only authentication: client-credentials tokens from Entra ID's v2 token endpoint."""

from vmrsched.adapters.auth.client import AccessToken, AppTokenClient, BearerAuth

__all__ = ["AccessToken", "AppTokenClient", "BearerAuth"]
