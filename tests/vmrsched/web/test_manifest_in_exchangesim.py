"""vmrsched's add-in manifest installs as an exchangesim organization add-in, and the identity token
exchangesim then issues names the add-in's task pane as its audience."""

from __future__ import annotations

import ssl
import urllib.request
from typing import TYPE_CHECKING

import jwt
from addin_support import make_settings
from lxml import etree

from exchangesim.addins import parse_manifest
from exchangesim.server import start_in_thread
from exchangesim.sim import Simulator
from exchangesim.tenant import demo_tenant
from vmrsched.web.manifest import addin_urls, build_manifest, manifest_id

if TYPE_CHECKING:
    from pathlib import Path

M_NS = "http://schemas.microsoft.com/exchange/services/2006/messages"
T_NS = "http://schemas.microsoft.com/exchange/services/2006/types"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"


def test_vmrsched_manifest_gives_exchangesim_its_id_and_task_pane_url(tmp_path: Path) -> None:
    """exchangesim reads vmrsched's manifest Id and its ItemEdit task pane URL."""
    settings = make_settings(tmp_path, "http://127.0.0.1:9")
    addin = parse_manifest(build_manifest(settings))
    assert addin.id == manifest_id(settings)
    assert addin.source_location == addin_urls(settings).taskpane


def test_a_user_gets_an_identity_token_for_the_installed_vmrsched_add_in(tmp_path: Path) -> None:
    """Installed with the admin API, the add-in gets a CallerIdentity token over EWS whose aud
    is vmrsched's task pane URL (the way the browser tests obtain one)."""
    settings = make_settings(tmp_path, "http://127.0.0.1:9")
    sim = Simulator.from_tenant(demo_tenant())
    with start_in_thread(sim, cert_dir=tmp_path / "tls") as server:
        server.admin().install_addin(build_manifest(settings))
        user_token = sim.issuer.mint_user_token(
            "alice@contoso.com",
            "522d29f1-c520-4cd7-bd5d-565f738f599b",
            "https://outlook.office365.com",
            ["EWS.AccessAsUser.All"],
        )
        body = (
            f'<s:Envelope xmlns:s="{SOAP_NS}" xmlns:m="{M_NS}" xmlns:t="{T_NS}"><s:Header>'
            '<t:RequestServerVersion Version="Exchange2013"/></s:Header><s:Body>'
            "<m:GetClientAccessToken><m:TokenRequests><t:TokenRequest>"
            f"<t:Id>{manifest_id(settings)}</t:Id><t:TokenType>CallerIdentity</t:TokenType>"
            "</t:TokenRequest></m:TokenRequests></m:GetClientAccessToken></s:Body></s:Envelope>"
        )
        request = urllib.request.Request(
            server.ews_url,
            data=body.encode(),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "Authorization": f"Bearer {user_token}",
            },
        )
        assert server.ca_file is not None
        context = ssl.create_default_context(cafile=str(server.ca_file))
        with urllib.request.urlopen(request, context=context) as response:
            root = etree.fromstring(response.read())
    value = root.find(f".//{{{M_NS}}}Token/{{{T_NS}}}TokenValue")
    assert value is not None
    claims = jwt.decode(value.text or "", options={"verify_signature": False})
    assert claims["aud"] == addin_urls(settings).taskpane
