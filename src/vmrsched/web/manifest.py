"""The add-in's XML manifest, made for one installation from its settings.

An add-in-only manifest (``OfficeApp`` of type ``MailApp``) for appointments the user organizes
(https://learn.microsoft.com/en-us/javascript/api/manifest/officeapp):

- the base manifest: task pane on the appointment compose form (``ItemIs Appointment Edit``),
  ``ReadWriteItem`` (body, location and attendees are written), ``Mailbox 1.1``;
- ``VersionOverrides`` 1.0 with a nested 1.1 (clients take the newest they understand), each with
  ``Mailbox 1.3`` (add-in commands): on the desktop ribbon of the appointment organizer
  (``AppointmentOrganizerCommandSurface``) a button that runs the function ``addVmr`` (one
  click) and a button that opens the task pane; in 1.1 also the mobile online-meeting button
  (``MobileOnlineMeetingCommandSurface``) that runs the same function.

Element order follows the schema (it is a sequence); text goes through lxml, so labels can
hold any character. Nothing secret is in it: it is served to anyone at ``/addin/manifest.xml``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from lxml import etree

if TYPE_CHECKING:
    from vmrsched.config import Settings

OFFICE_APP_NS: Final = "http://schemas.microsoft.com/office/appforoffice/1.1"
XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
BT_NS: Final = "http://schemas.microsoft.com/office/officeappbasictypes/1.0"
OVERRIDES_NS: Final = "http://schemas.microsoft.com/office/mailappversionoverrides"
OVERRIDES_11_NS: Final = "http://schemas.microsoft.com/office/mailappversionoverrides/1.1"
#: The function ``commands.js`` registers with ``Office.actions.associate``.
FUNCTION_NAME: Final = "addVmr"
ICON_SIZES: Final = (16, 32, 64, 80, 128)
# A stable manifest id per installation when none is configured: derived from the public URL.
_ID_NAMESPACE: Final = uuid.UUID("0c6f4b1e-7d0a-4a53-9b8e-5f2d1c3a9e71")


class ManifestError(ValueError):
    """The settings cannot make a manifest; ``fix`` says what to set."""

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True)
class AddinUrls:
    """Where Outlook loads the add-in from."""

    base: str
    icons: str
    support: str

    @property
    def taskpane(self) -> str:
        """The task pane page."""
        return f"{self.base}/addin/taskpane.html"

    @property
    def commands(self) -> str:
        """The function file (the one-click command)."""
        return f"{self.base}/addin/commands.html"

    def icon(self, size: int) -> str:
        """The square icon of ``size`` pixels."""
        return f"{self.icons}/icon-{size}.png"


def addin_urls(settings: Settings) -> AddinUrls:
    """The add-in's URLs under ``[web] public_url``; ManifestError without one."""
    base = settings.web.public_url.rstrip("/")
    if not base:
        raise ManifestError(
            "[web] public_url is not set, so Outlook would not know where the add-in lives",
            fix='set [web] public_url = "https://vmrsched.contoso.com" (as users reach it)',
        )
    addin = settings.addin
    icons = (addin.icon_url or f"{base}/addin/assets").rstrip("/")
    return AddinUrls(base=base, icons=icons, support=addin.support_url or base)


def manifest_id(settings: Settings) -> str:
    """``[addin] manifest_id``, or one derived from the public URL (stable across runs)."""
    if settings.addin.manifest_id:
        return settings.addin.manifest_id.lower()
    return str(uuid.uuid5(_ID_NAMESPACE, settings.web.public_url.rstrip("/").lower()))


def _default_ns(namespace: str, **prefixed: str) -> Any:
    """An lxml nsmap whose default namespace is ``namespace`` (its stubs type keys as str)."""
    return {None: namespace, **prefixed}


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _xsi_type(element: etree._Element, value: str) -> None:
    element.set(_q(XSI_NS, "type"), value)


class _Builder:
    """Appends elements of one namespace (the default one of the current part)."""

    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def add(
        self, parent: etree._Element, name: str, text: str | None = None, **attributes: str
    ) -> etree._Element:
        element = etree.SubElement(parent, _q(self.ns, name))
        for key, value in attributes.items():
            if key == "xsi_type":
                _xsi_type(element, value)
            else:
                element.set(key, value)
        if text is not None:
            element.text = text
        return element


_BT = _Builder(BT_NS)


def build_manifest(settings: Settings) -> str:
    """The manifest XML for ``settings`` (UTF-8 text with an XML declaration)."""
    urls = addin_urls(settings)
    addin = settings.addin
    app = _Builder(OFFICE_APP_NS)
    root = etree.Element(
        _q(OFFICE_APP_NS, "OfficeApp"),
        nsmap=_default_ns(OFFICE_APP_NS, xsi=XSI_NS, bt=BT_NS),
    )
    _xsi_type(root, "MailApp")
    app.add(root, "Id", manifest_id(settings))
    app.add(root, "Version", addin.version)
    app.add(root, "ProviderName", addin.provider_name)
    app.add(root, "DefaultLocale", "en-US")
    app.add(root, "DisplayName", DefaultValue=addin.display_name)
    app.add(root, "Description", DefaultValue=addin.description)
    app.add(root, "IconUrl", DefaultValue=urls.icon(64))
    app.add(root, "HighResolutionIconUrl", DefaultValue=urls.icon(128))
    app.add(root, "SupportUrl", DefaultValue=urls.support)
    hosts = app.add(root, "Hosts")
    app.add(hosts, "Host", Name="Mailbox")
    sets = app.add(app.add(root, "Requirements"), "Sets")
    app.add(sets, "Set", Name="Mailbox", MinVersion="1.1")
    form = app.add(app.add(root, "FormSettings"), "Form", xsi_type="ItemEdit")
    app.add(app.add(form, "DesktopSettings"), "SourceLocation", DefaultValue=urls.taskpane)
    app.add(root, "Permissions", "ReadWriteItem")
    rule = app.add(root, "Rule", xsi_type="RuleCollection", Mode="Or")
    app.add(rule, "Rule", xsi_type="ItemIs", ItemType="Appointment", FormType="Edit")
    app.add(root, "DisableEntityHighlighting", "false")
    outer = etree.SubElement(
        root, _q(OVERRIDES_NS, "VersionOverrides"), nsmap=_default_ns(OVERRIDES_NS)
    )
    _xsi_type(outer, "VersionOverridesV1_0")
    _overrides(_Builder(OVERRIDES_NS), outer, settings, urls, mobile=False)
    inner = etree.SubElement(
        outer, _q(OVERRIDES_11_NS, "VersionOverrides"), nsmap=_default_ns(OVERRIDES_11_NS)
    )
    _xsi_type(inner, "VersionOverridesV1_1")
    _overrides(_Builder(OVERRIDES_11_NS), inner, settings, urls, mobile=True)
    text: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return text.decode("utf-8")


def _overrides(
    b: _Builder, parent: etree._Element, settings: Settings, urls: AddinUrls, *, mobile: bool
) -> None:
    """Requirements, Hosts (ribbon buttons) and Resources of one VersionOverrides."""
    addin = settings.addin
    _BT.add(_BT.add(b.add(parent, "Requirements"), "Sets", DefaultMinVersion="1.3"), "Set",
            Name="Mailbox")  # fmt: skip
    host = b.add(b.add(parent, "Hosts"), "Host", xsi_type="MailHost")
    desktop = b.add(host, "DesktopFormFactor")
    b.add(desktop, "FunctionFile", resid="Commands.Url")
    point = b.add(desktop, "ExtensionPoint", xsi_type="AppointmentOrganizerCommandSurface")
    group = b.add(b.add(point, "OfficeTab", id="TabDefault"), "Group", id="vmrsched.Group")
    b.add(group, "Label", resid="Group.Label")
    add = b.add(group, "Control", xsi_type="Button", id="vmrsched.AddVmr")
    _button(b, add, "AddVmr")
    action = b.add(add, "Action", xsi_type="ExecuteFunction")
    b.add(action, "FunctionName", FUNCTION_NAME)
    pane = b.add(group, "Control", xsi_type="Button", id="vmrsched.OpenPane")
    _button(b, pane, "Pane")
    action = b.add(pane, "Action", xsi_type="ShowTaskpane")
    b.add(action, "SourceLocation", resid="Taskpane.Url")
    if mobile:
        phone = b.add(host, "MobileFormFactor")
        b.add(phone, "FunctionFile", resid="Commands.Url")
        point = b.add(phone, "ExtensionPoint", xsi_type="MobileOnlineMeetingCommandSurface")
        control = b.add(point, "Control", xsi_type="MobileButton", id="vmrsched.MobileAddVmr")
        b.add(control, "Label", resid="AddVmr.Label")
        icon = b.add(control, "Icon", xsi_type="bt:MobileIconList")
        for size, file_size in ((25, 32), (32, 32), (48, 64)):
            resid = f"Icon.{file_size}x{file_size}"
            for scale in ("1", "2", "3"):
                _BT.add(icon, "Image", size=str(size), scale=scale, resid=resid)
        action = b.add(control, "Action", xsi_type="ExecuteFunction")
        b.add(action, "FunctionName", FUNCTION_NAME)
    resources = b.add(parent, "Resources")
    images = _BT.add(resources, "Images")
    for size in ICON_SIZES:
        _BT.add(images, "Image", id=f"Icon.{size}x{size}", DefaultValue=urls.icon(size))
    links = _BT.add(resources, "Urls")
    _BT.add(links, "Url", id="Commands.Url", DefaultValue=urls.commands)
    _BT.add(links, "Url", id="Taskpane.Url", DefaultValue=urls.taskpane)
    short = _BT.add(resources, "ShortStrings")
    _BT.add(short, "String", id="Group.Label", DefaultValue=addin.group_label)
    _BT.add(short, "String", id="AddVmr.Label", DefaultValue=addin.button_label)
    _BT.add(short, "String", id="Pane.Label", DefaultValue=addin.taskpane_label)
    long_strings = _BT.add(resources, "LongStrings")
    _BT.add(
        long_strings,
        "String",
        id="AddVmr.Tip",
        DefaultValue="Adds a video meeting room with its joining details to this meeting.",
    )
    _BT.add(
        long_strings,
        "String",
        id="Pane.Tip",
        DefaultValue="Shows the video meeting room of this meeting and what the add-in did.",
    )


def _button(b: _Builder, control: etree._Element, name: str) -> None:
    """Label, Supertip and Icon of a desktop button (16, 32 and 80 pixel icons are required)."""
    b.add(control, "Label", resid=f"{name}.Label")
    tip = b.add(control, "Supertip")
    b.add(tip, "Title", resid=f"{name}.Label")
    b.add(tip, "Description", resid=f"{name}.Tip")
    icon = b.add(control, "Icon")
    for size in (16, 32, 80):
        _BT.add(icon, "Image", size=str(size), resid=f"Icon.{size}x{size}")
