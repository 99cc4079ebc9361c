"""Organization add-ins: reading an Outlook add-in manifest as ``New-App -OrganizationApp`` does,
and the admin routes that install, list and remove them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from harness import make_sim, start_sim_server

from exchangesim.addins import MAX_MANIFEST_BYTES, ManifestError, OrgAddins, parse_manifest
from exchangesim.admin import AdminClient, AdminError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from harness import SimServer

ADDIN_ID = "71a8c5d2-3b4e-4f60-8a9b-0c1d2e3f4a5b"
READ_URL = "https://addin.contoso.com/read.html"
EDIT_URL = "https://addin.contoso.com/compose.html"


def manifest(
    *,
    addin_id: str = ADDIN_ID,
    forms: str = f'<Form xsi:type="ItemRead"><DesktopSettings><SourceLocation DefaultValue="{READ_URL}"/></DesktopSettings></Form>',
    app_type: str = "MailApp",
    namespace: str = "http://schemas.microsoft.com/office/appforoffice/1.1",
    doctype: str = "",
) -> str:
    """A small mail add-in manifest with the given parts."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>{doctype}
<OfficeApp xmlns="{namespace}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
           xsi:type="{app_type}">
  <Id>{addin_id}</Id>
  <Version>1.0.0.0</Version>
  <ProviderName>Contoso</ProviderName>
  <DefaultLocale>en-US</DefaultLocale>
  <DisplayName DefaultValue="Contoso helper"/>
  <Description DefaultValue="Helps."/>
  <Hosts><Host Name="Mailbox"/></Hosts>
  <FormSettings>{forms}</FormSettings>
  <Permissions>ReadItem</Permissions>
  <Rule xsi:type="ItemIs" ItemType="Message" FormType="Read"/>
</OfficeApp>"""


def form(kind: str, url: str) -> str:
    """One FormSettings/Form with a desktop SourceLocation."""
    return (
        f'<Form xsi:type="{kind}"><DesktopSettings>'
        f'<SourceLocation DefaultValue="{url}"/></DesktopSettings></Form>'
    )


# --- reading manifests ---------------------------------------------------------------------------


def test_a_mail_app_manifest_gives_its_id_url_and_name() -> None:
    """Id (lower-cased), the ItemRead form's SourceLocation, DisplayName; the text is kept."""
    text = manifest(addin_id=ADDIN_ID.upper())
    addin = parse_manifest(text)
    assert (addin.id, addin.source_location, addin.display_name) == (
        ADDIN_ID,
        READ_URL,
        "Contoso helper",
    )
    assert addin.manifest == text


@pytest.mark.parametrize(
    ("forms", "url"),
    [
        (form("ItemEdit", EDIT_URL) + form("ItemRead", READ_URL), EDIT_URL),
        (form("ItemRead", READ_URL) + form("ItemEdit", EDIT_URL), READ_URL),
        (
            form("CardView", "https://addin.contoso.com/card.html") + form("ItemEdit", EDIT_URL),
            EDIT_URL,
        ),
    ],
)
def test_the_url_is_the_first_item_read_or_item_edit_form(forms: str, url: str) -> None:
    """Whichever of ItemRead and ItemEdit comes first gives the URL; other forms are skipped."""
    assert parse_manifest(manifest(forms=forms)).source_location == url


def test_bytes_are_accepted_like_text() -> None:
    """A manifest given as UTF-8 bytes (a file's content) reads the same."""
    assert parse_manifest(manifest().encode()).id == ADDIN_ID


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not xml at all", "not well-formed XML"),
        (manifest(namespace="urn:other"), "not OfficeApp"),
        (manifest(app_type="TaskPaneApp"), "MailApp"),
        (manifest(addin_id="my-addin"), "not a GUID"),
        (manifest(addin_id=""), "not a GUID"),
        (manifest(forms=""), "no FormSettings/Form"),
        (manifest(forms=form("CardView", READ_URL)), "no FormSettings/Form"),
        (
            manifest(forms='<Form xsi:type="ItemRead"><DesktopSettings/></Form>'),
            "no SourceLocation",
        ),
        (manifest(forms=form("ItemRead", "/taskpane.html")), "not an absolute http"),
        (manifest(forms=form("ItemRead", "javascript:alert(1)")), "not an absolute http"),
    ],
)
def test_a_manifest_lacking_what_exchange_needs_is_refused(text: str, reason: str) -> None:
    """Each defect is refused with a message that names it."""
    with pytest.raises(ManifestError, match=reason):
        parse_manifest(text)


def test_external_entities_are_not_read(tmp_path: Path) -> None:
    """An entity pointing at a local file is not expanded: the Id stays empty, and the file's
    content never appears in the error."""
    secret = tmp_path / "secret.txt"
    secret.write_text("5a3b1c2d-8e7f-4a6b-9c0d-1e2f3a4b5c6d", encoding="utf-8")
    doctype = f'<!DOCTYPE OfficeApp [<!ENTITY id SYSTEM "file://{secret}">]>'
    with pytest.raises(ManifestError, match="not a GUID") as caught:
        parse_manifest(manifest(addin_id="&id;", doctype=doctype))
    assert "5a3b1c2d" not in str(caught.value)


def test_an_oversized_manifest_is_refused() -> None:
    """Above Office's 256 KB manifest limit the manifest is not parsed at all."""
    padding = "<!--" + "x" * MAX_MANIFEST_BYTES + "-->"
    with pytest.raises(ManifestError, match="larger than"):
        parse_manifest(manifest() + padding)


def test_installing_again_replaces_the_add_in() -> None:
    """A second manifest with the same Id (an update) replaces the first; remove forgets it."""
    addins = OrgAddins()
    addins.install(manifest())
    addins.install(manifest(forms=form("ItemEdit", EDIT_URL)))
    assert [a.source_location for a in addins] == [EDIT_URL]
    assert addins.get(ADDIN_ID.upper()) is not None
    assert addins.remove(ADDIN_ID) is True
    assert addins.get(ADDIN_ID) is None
    assert addins.remove(ADDIN_ID) is False


# --- the admin routes ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(cert_dir: Path) -> Iterator[SimServer]:
    """A server of its own (the add-ins installed here must not leak to other tests)."""
    served = start_sim_server(make_sim(), cert_dir=cert_dir)
    yield served
    served.stop()


def test_the_admin_installs_lists_and_removes_an_organization_add_in(server: SimServer) -> None:
    """POST answers the add-in (201), GET lists it, DELETE removes it, a second DELETE is 404."""
    admin = server.admin
    installed = admin.install_addin(manifest())
    assert installed == {
        "id": ADDIN_ID,
        "source_location": READ_URL,
        "display_name": "Contoso helper",
    }
    assert admin.addins() == [installed]
    assert server.sim.addins.get(ADDIN_ID) is not None
    admin.remove_addin(ADDIN_ID)
    assert admin.addins() == []
    with pytest.raises(AdminError) as caught:
        admin.remove_addin(ADDIN_ID)
    assert caught.value.status == 404


def test_the_admin_refuses_a_bad_manifest_with_the_reason(server: SimServer) -> None:
    """A manifest without a usable Id is a 400 naming the defect; nothing is installed."""
    with pytest.raises(AdminError) as caught:
        server.admin.install_addin(manifest(addin_id="nope"))
    assert caught.value.status == 400
    assert "not a GUID" in caught.value.message
    with pytest.raises(AdminError) as missing:
        server.admin.call("POST", "addins", {"xml": manifest()})
    assert missing.value.status == 400
    assert server.admin.addins() == []


def test_installing_an_add_in_needs_the_admin_key(server: SimServer) -> None:
    """Without the right X-Exchangesim-Admin-Key the call is refused (401)."""
    intruder = AdminClient(server.base_url, "wrong-key", server.ca_file)
    with pytest.raises(AdminError) as caught:
        intruder.install_addin(manifest())
    assert caught.value.status == 401
    assert server.admin.addins() == []
