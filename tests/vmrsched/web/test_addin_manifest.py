"""The add-in manifest: checked against the documented rules of the add-in-only XML manifest.

No registry package ships Microsoft's manifest XSDs (npm's ``office-addin-manifest`` validates
through a web service), so the rules are checked one by one, each from the manifest reference
(https://learn.microsoft.com/en-us/javascript/api/manifest/): the order of the sequence elements,
the string limits, resource ids and the references to them, the icon sizes each control needs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from addin_support import make_settings
from lxml import etree

from vmrsched.cli.addin import deployment_commands, ps_quote
from vmrsched.cli.main import main
from vmrsched.web.manifest import (
    BT_NS,
    OFFICE_APP_NS,
    OVERRIDES_11_NS,
    OVERRIDES_NS,
    XSI_NS,
    ManifestError,
    build_manifest,
)

if TYPE_CHECKING:
    from pathlib import Path

    from vmrsched.config import Settings

NS = {"o": OFFICE_APP_NS, "bt": BT_NS, "v": OVERRIDES_NS, "v11": OVERRIDES_11_NS}
XSI_TYPE = f"{{{XSI_NS}}}type"
#: OfficeApp's children for a MailApp, in the schema's sequence order.
OFFICE_APP_ORDER = [
    "Id",
    "AlternateId",
    "Version",
    "ProviderName",
    "DefaultLocale",
    "DisplayName",
    "Description",
    "IconUrl",
    "HighResolutionIconUrl",
    "SupportUrl",
    "AppDomains",
    "Hosts",
    "Requirements",
    "FormSettings",
    "Permissions",
    "Rule",
    "DisableEntityHighlighting",
    "VersionOverrides",
]
OVERRIDES_ORDER = ["Description", "Requirements", "Hosts", "Resources", "VersionOverrides"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path,
        "https://login.microsoftonline.com",
        button_label='Add a VMR <& "now">',
        display_name="VMR Scheduling",
    )


def parse(text: str) -> etree._Element:
    assert text.startswith("<?xml version='1.0' encoding='UTF-8'?>")
    return etree.fromstring(text.encode("utf-8"))


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def test_the_manifest_is_a_mail_app_in_schema_order(settings: Settings) -> None:
    """OfficeApp (xsi:type MailApp) with its children in the order the schema's sequence gives."""
    root = parse(build_manifest(settings))
    assert root.tag == f"{{{OFFICE_APP_NS}}}OfficeApp"
    assert root.get(XSI_TYPE) == "MailApp"
    names = [local(child) for child in root]
    assert names == [name for name in OFFICE_APP_ORDER if name in names]
    for required in ("Id", "Version", "ProviderName", "DefaultLocale", "DisplayName",
                     "Description", "IconUrl", "Hosts", "FormSettings", "Permissions", "Rule"):  # fmt: skip
        assert required in names
    assert re.fullmatch(
        r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", root.findtext("o:Id", namespaces=NS) or ""
    )
    assert re.fullmatch(r"\d{1,5}(\.\d{1,5}){0,3}", root.findtext("o:Version", namespaces=NS) or "")
    assert root.findtext("o:Permissions", namespaces=NS) == "ReadWriteItem"
    rule = root.find("o:Rule/o:Rule", NS)
    assert rule is not None
    assert (rule.get(XSI_TYPE), rule.get("ItemType"), rule.get("FormType")) == (
        "ItemIs",
        "Appointment",
        "Edit",
    )
    host = root.find("o:Hosts/o:Host", NS)
    assert host is not None
    assert host.get("Name") == "Mailbox"
    mailbox = root.find("o:Requirements/o:Sets/o:Set", NS)
    assert mailbox is not None
    assert (mailbox.get("Name"), mailbox.get("MinVersion")) == ("Mailbox", "1.1")


def test_urls_point_at_the_service_over_https(settings: Settings) -> None:
    """Every URL in the manifest is https under the public URL (or the configured icons)."""
    text = build_manifest(settings)
    urls = re.findall(r'DefaultValue="(https?://[^"]+)"', text)
    assert urls
    assert all(
        url.startswith("https://vmrsched.contoso.com/") or url == "https://vmrsched.contoso.com"
        for url in urls
    )
    assert "https://vmrsched.contoso.com/addin/taskpane.html" in urls
    assert "https://vmrsched.contoso.com/addin/commands.html" in urls
    for size in (16, 32, 64, 80, 128):
        assert f"https://vmrsched.contoso.com/addin/assets/icon-{size}.png" in urls


def _overrides(root: etree._Element) -> list[tuple[etree._Element, str]]:
    outer = root.find("v:VersionOverrides", NS)
    assert outer is not None
    inner = outer.find("v11:VersionOverrides", NS)
    assert inner is not None
    return [(outer, "v"), (inner, "v11")]


def test_version_overrides_1_0_and_1_1_hold_the_ribbon_buttons(settings: Settings) -> None:
    """Both overrides: Mailbox 1.3, organizer ribbon with the one-click function and the pane."""
    root = parse(build_manifest(settings))
    (outer, _), (inner, _) = _overrides(root)
    assert outer.get(XSI_TYPE) == "VersionOverridesV1_0"
    assert inner.get(XSI_TYPE) == "VersionOverridesV1_1"
    for element, prefix in _overrides(root):
        names = [local(child) for child in element]
        assert names == [name for name in OVERRIDES_ORDER if name in names]
        sets = element.find(f"{prefix}:Requirements/bt:Sets", NS)
        assert sets is not None
        assert sets.get("DefaultMinVersion") == "1.3"
        point = element.find(
            f"{prefix}:Hosts/{prefix}:Host/{prefix}:DesktopFormFactor/{prefix}:ExtensionPoint", NS
        )
        assert point is not None
        assert point.get(XSI_TYPE) == "AppointmentOrganizerCommandSurface"
        actions = {action.get(XSI_TYPE): action for action in point.iter(f"{{{NS[prefix]}}}Action")}
        assert (
            actions["ExecuteFunction"].findtext(f"{prefix}:FunctionName", namespaces=NS) == "addVmr"
        )
        assert actions["ShowTaskpane"].find(f"{prefix}:SourceLocation", NS) is not None
        for icon in point.iter(f"{{{NS[prefix]}}}Icon"):
            assert sorted(int(image.get("size", "0")) for image in icon) == [16, 32, 80]
    mobile = inner.find("v11:Hosts/v11:Host/v11:MobileFormFactor/v11:ExtensionPoint", NS)
    assert mobile is not None
    assert mobile.get(XSI_TYPE) == "MobileOnlineMeetingCommandSurface"
    images = [(image.get("size"), image.get("scale")) for image in mobile.iter(f"{{{BT_NS}}}Image")]
    assert sorted(images) == sorted(
        (size, scale) for size in ("25", "32", "48") for scale in ("1", "2", "3")
    )


def own_elements(overrides: etree._Element) -> list[etree._Element]:
    """The elements of one VersionOverrides, without those of a nested one."""
    nested = overrides.find("v11:VersionOverrides", NS)
    inside = set(nested.iter()) if nested is not None else set()
    return [node for node in overrides.iter() if node not in inside]


def test_every_resource_reference_resolves_and_ids_are_short_and_unique(settings: Settings) -> None:
    """resid values name resources of the same overrides, at most 32 characters; ids unique."""
    root = parse(build_manifest(settings))
    for element, prefix in _overrides(root):
        resources = element.find(f"{prefix}:Resources", NS)
        assert resources is not None
        defined = [item.get("id") for item in resources.iter() if item.get("id")]
        assert len(defined) == len(set(defined))
        mine = own_elements(element)
        referenced = {node.get("resid") for node in mine if node.get("resid")}
        assert referenced
        assert referenced <= set(defined)
        assert all(len(str(resid)) <= 32 for resid in referenced)
        controls = [node.get("id") for node in mine if local(node) in ("Control", "Group")]
        assert len(controls) == len(set(controls))
        assert "Icon.16x16" in defined  # the id the add-in's notifications use
        for string in resources.iter(f"{{{BT_NS}}}String"):
            parent = string.getparent()
            limit = 125 if parent is not None and local(parent) == "ShortStrings" else 250
            assert 1 <= len(string.get("DefaultValue", "")) <= limit


def test_labels_are_escaped_and_come_from_the_settings(settings: Settings) -> None:
    """A label with markup characters is text in the XML, not markup; the text survives."""
    root = parse(build_manifest(settings))
    labels = {s.get("id"): s.get("DefaultValue") for s in root.iter(f"{{{BT_NS}}}String")}
    assert labels["AddVmr.Label"] == 'Add a VMR <& "now">'
    assert labels["Group.Label"] == "Video meeting"
    assert root.find("o:DisplayName", NS).get("DefaultValue") == "VMR Scheduling"  # type: ignore[union-attr]


def test_the_manifest_id_is_stable_and_configurable(tmp_path: Path) -> None:
    """Derived from the public URL it is the same every time; a configured id wins."""
    first = make_settings(tmp_path, "https://login.microsoftonline.com")
    again = make_settings(tmp_path, "https://login.microsoftonline.com")
    chosen = make_settings(
        tmp_path,
        "https://login.microsoftonline.com",
        manifest_id="6F2D8A1C-0B3E-4C5D-9E7F-1A2B3C4D5E6F",
    )
    ids = [parse(build_manifest(s)).findtext("o:Id", namespaces=NS) for s in (first, again, chosen)]
    assert ids[0] == ids[1]
    assert ids[2] == "6f2d8a1c-0b3e-4c5d-9e7f-1a2b3c4d5e6f"


def test_no_secret_is_in_the_manifest(settings: Settings) -> None:
    """The manifest is public: the client secret never appears in it."""
    assert settings.exchange.client_secret.reveal() not in build_manifest(settings)


def test_without_a_public_url_there_is_no_manifest(tmp_path: Path) -> None:
    """The manifest needs [web] public_url; the error says so."""
    settings = make_settings(tmp_path, "https://login.microsoftonline.com")
    bare = type(settings)(**{**settings.__dict__, "web": type(settings.web)()})
    with pytest.raises(ManifestError, match="public_url"):
        build_manifest(bare)


def test_powershell_values_are_quoted_safely() -> None:
    """Single quotes (also typographic ones) are doubled; nothing expands inside."""
    assert ps_quote("vmr-schedulers@contoso.com") == "'vmr-schedulers@contoso.com'"
    assert ps_quote("o'brien$(Remove-Item x)") == "'o''brien$(Remove-Item x)'"
    assert ps_quote("a\u2019b") == "'a\u2019\u2019b'"


def test_deploy_commands_name_the_group_and_the_manifest(settings: Settings) -> None:
    """Both deployments target the scheduling group, with the manifest URL and id quoted."""
    text = deployment_commands(settings, "vmr-schedulers@contoso.com")
    manifest_id = parse(build_manifest(settings)).findtext("o:Id", namespaces=NS)
    assert (
        f"Set-OrganizationAddInAssignments -ProductId '{manifest_id}' -Add -Members 'vmr-schedulers@contoso.com'"
        in text
    )
    assert (
        "New-App -OrganizationApp -Url 'https://vmrsched.contoso.com/addin/manifest.xml' -ProvidedTo SpecificUsers -UserList $members -DefaultStateForUser Enabled"
        in text
    )
    assert "Get-DistributionGroupMember -Identity 'vmr-schedulers@contoso.com'" in text
    assert "brk-multihub://vmrsched.contoso.com" in text


def test_the_cli_prints_or_writes_the_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``vmrsched addin-manifest`` prints what the server serves; --output writes it."""
    config = tmp_path / "vmrsched.toml"
    config.write_text(
        f"""
[exchange]
token_endpoint = "https://login.microsoftonline.com/d182aff4-ea4d-43d8-b4a0-f4859ec8bdf5/oauth2/v2.0/token"
client_id = "522d29f1-c520-4cd7-bd5d-565f738f599b"
client_secret = "not-shown"
resource_mailbox = "vmr@contoso.com"

[web]
public_url = "https://vmrsched.contoso.com"

[service]
installation_key_file = "{tmp_path / "k.key"}"

[addin]
client_id = "de7b0c42-b3d8-4e98-8521-6498b2ab8387"
"""
    )
    assert main(["addin-manifest", "--config", str(config)]) == 0
    printed = capsys.readouterr().out
    assert parse(printed).get(XSI_TYPE) == "MailApp"
    target = tmp_path / "manifest.xml"
    assert main(["addin-manifest", "--config", str(config), "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == printed
    assert (
        main(
            [
                "addin-manifest",
                "--config",
                str(config),
                "--deploy-commands",
                "--group",
                "it's@contoso.com",
            ]
        )
        == 0
    )
    assert "-Members 'it''s@contoso.com'" in capsys.readouterr().out
