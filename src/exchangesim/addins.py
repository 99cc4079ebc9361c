"""Organization add-ins: the simulator's ``New-App -OrganizationApp -FileData <manifest>``.

An administrator installs an Outlook add-in for the whole organization by handing Exchange its
XML manifest (https://learn.microsoft.com/powershell/module/exchange/new-app). Exchange then
knows the add-in by the manifest's ``Id`` and, when Outlook asks EWS ``GetClientAccessToken``
for a ``CallerIdentity`` token for that Id, puts the add-in's URL into the token's ``aud``
(https://learn.microsoft.com/office/dev/add-ins/outlook/inside-the-identity-token: "aud: The URL
of the add-in that requested the token").

What is read from the manifest (``OfficeApp`` in the ``appforoffice/1.1`` namespace,
https://learn.microsoft.com/javascript/api/manifest/officeapp):

- ``xsi:type`` must be ``MailApp``: Exchange installs Outlook add-ins only;
- ``Id``: a GUID (the schema's ``UUID`` type);
- the add-in URL: the ``DefaultValue`` of the first ``SourceLocation`` under
  ``FormSettings/Form`` whose ``xsi:type`` is ``ItemRead`` or ``ItemEdit`` (whichever comes
  first); it must be an absolute http(s) URL;
- ``DisplayName/@DefaultValue`` (shown by the admin API; optional here).

A manifest that is not XML, is too large, or lacks these is refused with `ManifestError`.
Installed add-ins live in memory: they are not written to the state file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from lxml import etree

from exchangesim.tenant import is_guid

if TYPE_CHECKING:
    from collections.abc import Iterator

OFFICE_APP_NS: Final = "http://schemas.microsoft.com/office/appforoffice/1.1"
_XSI_TYPE: Final = "{http://www.w3.org/2001/XMLSchema-instance}type"
#: Office refuses manifests above 256 KB (Office add-in manifest limits, "Manifest file size").
MAX_MANIFEST_BYTES: Final = 256 * 1024
_FORM_TYPES: Final = frozenset({"ItemRead", "ItemEdit"})


class ManifestError(ValueError):
    """The manifest cannot be installed; the message says why."""


@dataclass(frozen=True)
class OrgAddin:
    """An add-in installed for the organization."""

    id: str
    source_location: str
    display_name: str
    manifest: str

    def to_json(self) -> dict[str, str]:
        """What the admin API reports about it (not the manifest text)."""
        return {
            "id": self.id,
            "source_location": self.source_location,
            "display_name": self.display_name,
        }


def _q(tag: str) -> str:
    return f"{{{OFFICE_APP_NS}}}{tag}"


def _local_type(element: etree._Element) -> str:
    """The local part of ``xsi:type`` ("MailApp" for ``xsi:type="MailApp"`` or ``"x:MailApp"``)."""
    return (element.get(_XSI_TYPE) or "").rpartition(":")[2]


def _parse(manifest: str | bytes) -> etree._Element:
    data = manifest.encode("utf-8") if isinstance(manifest, str) else manifest
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"the manifest is larger than {MAX_MANIFEST_BYTES} bytes")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ManifestError(f"the manifest is not well-formed XML: {exc}") from exc
    if root is None:
        raise ManifestError("the manifest is empty")
    return root


def _add_in_url(root: etree._Element) -> str:
    settings = root.find(_q("FormSettings"))
    forms = [] if settings is None else settings.findall(_q("Form"))
    form = next((f for f in forms if _local_type(f) in _FORM_TYPES), None)
    if form is None:
        raise ManifestError(
            "the manifest has no FormSettings/Form of xsi:type ItemRead or ItemEdit"
        )
    location = next(form.iter(_q("SourceLocation")), None)
    url = (location.get("DefaultValue") or "").strip() if location is not None else ""
    if not url:
        raise ManifestError(
            f"the manifest's {_local_type(form)} form has no SourceLocation DefaultValue"
        )
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.netloc:
        raise ManifestError(f"the SourceLocation {url!r} is not an absolute http(s) URL")
    return url


def parse_manifest(manifest: str | bytes) -> OrgAddin:
    """The add-in a manifest describes; raises `ManifestError` naming what is wrong."""
    root = _parse(manifest)
    if root.tag != _q("OfficeApp"):
        raise ManifestError(f"the root element is not OfficeApp in the {OFFICE_APP_NS} namespace")
    if _local_type(root) != "MailApp":
        raise ManifestError(
            f"the add-in is of xsi:type {_local_type(root) or '(none)'!r}; Exchange installs "
            "Outlook add-ins (xsi:type MailApp) only"
        )
    id_element = root.find(_q("Id"))
    addin_id = (id_element.text or "").strip() if id_element is not None else ""
    if not is_guid(addin_id):
        raise ManifestError(f"the manifest's Id {addin_id!r} is not a GUID")
    name_element = root.find(_q("DisplayName"))
    display_name = name_element.get("DefaultValue", "") if name_element is not None else ""
    text = manifest.decode("utf-8", "replace") if isinstance(manifest, bytes) else manifest
    return OrgAddin(
        id=addin_id.lower(),
        source_location=_add_in_url(root),
        display_name=display_name,
        manifest=text,
    )


class OrgAddins:
    """The add-ins installed for the organization, by Id (thread-safe)."""

    def __init__(self) -> None:
        self._addins: dict[str, OrgAddin] = {}
        self._lock = threading.Lock()

    def install(self, manifest: str | bytes) -> OrgAddin:
        """Install (or replace: an update keeps its Id) the add-in of ``manifest``."""
        addin = parse_manifest(manifest)
        with self._lock:
            self._addins[addin.id] = addin
        return addin

    def get(self, addin_id: str) -> OrgAddin | None:
        """The installed add-in with this Id (any case), or None."""
        with self._lock:
            return self._addins.get(addin_id.strip().lower())

    def remove(self, addin_id: str) -> bool:
        """Uninstall; True when it was installed."""
        with self._lock:
            return self._addins.pop(addin_id.strip().lower(), None) is not None

    def __iter__(self) -> Iterator[OrgAddin]:
        with self._lock:
            return iter(list(self._addins.values()))
