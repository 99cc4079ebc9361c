"""What Outlook asks Exchange for when an add-in calls ``getUserIdentityTokenAsync``.

Outlook calls EWS ``GetClientAccessToken`` (token type ``CallerIdentity``) as the signed-in user
for the installed add-in's id; exchangesim answers as Exchange does (`exchangesim.ews.ops_apps`).
The user's own EWS access token stands for Outlook's sign-in to Exchange.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import requests
from lxml import etree

if TYPE_CHECKING:
    from exchangesim.server import RunningServer

M_NS: Final = "http://schemas.microsoft.com/exchange/services/2006/messages"
T_NS: Final = "http://schemas.microsoft.com/exchange/services/2006/types"
SOAP_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
#: The app Outlook signs in to Exchange with, for the user's EWS token (any registered app works).
OUTLOOK_APP: Final = "522d29f1-c520-4cd7-bd5d-565f738f599b"


def identity_token(server: RunningServer, user: str, addin_id: str) -> str:
    """An Exchange user identity token for ``user`` and the installed add-in ``addin_id``."""
    ews_token = server.sim.issuer.mint_user_token(
        user, OUTLOOK_APP, "https://outlook.office365.com", ["EWS.AccessAsUser.All"]
    )
    body = (
        f'<s:Envelope xmlns:s="{SOAP_NS}" xmlns:m="{M_NS}" xmlns:t="{T_NS}"><s:Header>'
        '<t:RequestServerVersion Version="Exchange2013"/></s:Header><s:Body>'
        "<m:GetClientAccessToken><m:TokenRequests><t:TokenRequest>"
        f"<t:Id>{addin_id}</t:Id><t:TokenType>CallerIdentity</t:TokenType>"
        "</t:TokenRequest></m:TokenRequests></m:GetClientAccessToken></s:Body></s:Envelope>"
    )
    answer = requests.post(
        server.ews_url,
        data=body.encode(),
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "Authorization": f"Bearer {ews_token}",
        },
        verify=str(server.ca_file) if server.ca_file is not None else True,
        timeout=30,
    )
    answer.raise_for_status()
    value = etree.fromstring(answer.content).find(f".//{{{M_NS}}}Token/{{{T_NS}}}TokenValue")
    if value is None or not value.text:
        message = etree.fromstring(answer.content).findtext(f".//{{{M_NS}}}MessageText")
        msg = f"Exchange gave no identity token: {message}"
        raise AssertionError(msg)
    return value.text
