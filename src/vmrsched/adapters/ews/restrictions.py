"""FindItem restrictions vmrsched needs, as ``m:Restriction`` elements.

exchangelib builds restrictions from its query language, which needs folder objects (one
GetFolder each) and refuses fields it thinks unsearchable; these few are written directly.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

from exchangelib.properties import UID
from exchangelib.util import create_element

#: Responses are ``IPM.Schedule.Meeting.Resp.Pos/Tent/Neg``.
RESPONSE_CLASS_PREFIX: Final = "IPM.Schedule.Meeting.Resp"


def global_object_id(uid: str) -> bytes:
    """The PidLidGlobalObjectId that a meeting with this UID carries.

    Exchange's UIDs are the hex form of the id; other UIDs (from iCalendar) are wrapped the way
    [MS-OXOCAL] 2.2.1.27 describes (exchangelib's `UID`).
    """
    try:
        return binascii.unhexlify(uid)
    except (binascii.Error, ValueError):
        return bytes(UID(uid))


class RawRestriction:
    """An ``m:Restriction`` element for exchangelib's FindItem (which calls ``to_xml``)."""

    def __init__(self, expression: Any) -> None:
        self._expression = expression

    def to_xml(self, version: Any) -> Any:  # noqa: ARG002 - exchangelib's signature
        """The ``m:Restriction`` element."""
        element = create_element("m:Restriction")
        element.append(self._expression)
        return element

    def __bool__(self) -> bool:
        return True


def _field_uri(uri: str) -> Any:
    return create_element("t:FieldURI", attrs={"FieldURI": uri})


def _contains(path: Any, value: str, mode: str) -> Any:
    element = create_element(
        "t:Contains", attrs={"ContainmentMode": mode, "ContainmentComparison": "IgnoreCase"}
    )
    element.append(path)
    element.append(create_element("t:Constant", attrs={"Value": value}))
    return element


def _equals(path: Any, value: str) -> Any:
    element = create_element("t:IsEqualTo")
    element.append(path)
    constant = create_element("t:FieldURIOrConstant")
    constant.append(create_element("t:Constant", attrs={"Value": value}))
    element.append(constant)
    return element


def sent_reply(digest: str) -> RawRestriction:
    """Responses in Sent Items whose body carries this key digest."""
    both = create_element("t:And")
    both.append(_contains(_field_uri("item:ItemClass"), RESPONSE_CLASS_PREFIX, "Prefixed"))
    both.append(_contains(_field_uri("item:Body"), digest, "Substring"))
    return RawRestriction(both)


def meeting_by_goid(uid: str) -> RawRestriction:
    """Calendar items whose PidLidGlobalObjectId is this UID's (how Exchange finds by UID)."""
    path = create_element(
        "t:ExtendedFieldURI",
        attrs={
            "DistinguishedPropertySetId": "Meeting",
            "PropertyId": "3",
            "PropertyType": "Binary",
        },
    )
    return RawRestriction(_equals(path, base64.b64encode(global_object_id(uid)).decode("ascii")))
