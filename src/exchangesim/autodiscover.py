"""Exchange's authentication metadata document: anonymous ``GET /autodiscover/metadata/json/1``.

The ``amurl`` of an Exchange user identity token points here; a back end fetches the document
and checks the token's signature with the certificate whose thumbprint is the token's ``x5t``
(learn.microsoft.com/office/dev/add-ins/outlook/validate-an-identity-token, "Validate the
identity token signature"). The document is public on Exchange, so no authentication here.
"""

from __future__ import annotations

from aiohttp import web

from exchangesim.identity.exchange_tokens import METADATA_PATH, metadata_url
from exchangesim.webkeys import SIM_KEY


def request_metadata_url(request: web.Request) -> str:
    """The ``amurl`` for the origin the client used (scheme, host and the port, always written).

    The port is the one in the request's Host header, else the scheme's default (443 / 80).
    """
    url = request.url
    host = url.raw_host or "localhost"
    port = url.port or (443 if request.scheme == "https" else 80)
    return metadata_url(request.scheme, host, port)


async def auth_metadata(request: web.Request) -> web.StreamResponse:
    """The JSON document with Exchange's signing certificate."""
    sim = request.app[SIM_KEY]
    document = sim.exchange_auth.metadata(request_metadata_url(request))
    return web.json_response(document)


def add_routes(app: web.Application) -> None:
    """Serve the metadata document (the app must carry `SIM_KEY`)."""
    app.router.add_get(METADATA_PATH, auth_metadata)
