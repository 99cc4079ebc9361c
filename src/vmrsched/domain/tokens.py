"""Alias tokens: the signed marker in a meeting's body that ties it to its reservation.

Format (version 1), shaped like Pexip's ``PXPS:-<id>#`` so admins recognise it::

    VMRS:-<32 base32 characters>.<24 base32 characters>#

The first part encodes 20 bytes: the reservation's random 128-bit id (``token_id``, shown as a
UUID) and the issue time (unsigned 32-bit Unix seconds). The second part is the first 15 bytes
(120 bits) of HMAC-SHA256 under the installation key over a context label, the id, the issue time
and the reservation's alias. Base32 (RFC 4648, no padding) uses only ``A-Z`` and ``2-7``: no
character that HTML, plain-text conversion or link detection rewrites, and reading ignores case.

Placeholder tokens are made by the add-in in the browser when it cannot reach vmrsched: they
carry a random id and no signature, and say "book a VMR for me later"::

    VMRP:-<16 to 64 letters or digits>#

Reading is lenient (the signature, not the parser, decides what is genuine): it looks through
HTML tags, entities, whitespace and line breaks inserted anywhere, ``>`` quote markers, soft
hyphens and zero-width characters, and quoted-printable soft line breaks.
"""

import base64
import hashlib
import hmac
import html
import re
import struct
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from vmrsched.domain.bodies import html_to_text
from vmrsched.domain.times import require_aware

SIGNED_PREFIX = "VMRS:-"
PLACEHOLDER_PREFIX = "VMRP:-"
TERMINATOR = "#"
_CONTEXT = b"vmrsched alias token v1\x00"
_SIGNATURE_BYTES = 15
_MIN_KEY_BYTES = 32

_SIGNED = re.compile(r"VMRS:-([A-Z2-7]{32})\.([A-Z2-7]{24})#", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"VMRP:-([A-Z0-9]{16,64})#", re.IGNORECASE)
_SIGNED_START = re.compile(re.escape(SIGNED_PREFIX), re.IGNORECASE)
_QUOTE_MARKERS = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.MULTILINE)
_SOFT_BREAK = re.compile(r"=\r?\n")
_INVISIBLE = re.compile(r"[\s\u00ad\u200b\u200c\u200d\u2060\ufeff]+")


@dataclass(frozen=True)
class TokenKey:
    """The installation key that signs alias tokens; its bytes never appear in repr or logs."""

    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.material) < _MIN_KEY_BYTES:
            raise ValueError(f"an installation key needs at least {_MIN_KEY_BYTES} bytes")

    @property
    def key_id(self) -> str:
        """A short public fingerprint, to tell keys apart in logs without revealing them."""
        return hashlib.sha256(b"vmrsched key id\x00" + self.material).hexdigest()[:8]

    def __repr__(self) -> str:
        return f"TokenKey(key_id={self.key_id!r})"


class TokenKind(StrEnum):
    """What reading a body found."""

    SIGNED = "signed"  # a well-formed signed token (not yet verified)
    PLACEHOLDER = "placeholder"  # a placeholder token from the add-in
    MALFORMED = "malformed"  # our prefix, but not a whole token (cut or mangled)
    ABSENT = "absent"  # no token at all


class TokenStatus(StrEnum):
    """A token's verdict once checked against its reservation's alias."""

    VALID = "valid"
    PLACEHOLDER = "placeholder"
    TAMPERED = "tampered"  # forged, edited, unknown to this installation, or mangled
    ABSENT = "absent"


@dataclass(frozen=True)
class TokenReading:
    """The token found in a body (``token_id`` when SIGNED, ``placeholder_id`` when PLACEHOLDER)."""

    kind: TokenKind
    text: str = ""
    token_id: str | None = None
    issued: datetime | None = None
    placeholder_id: str | None = None
    payload: bytes = field(default=b"", repr=False)
    signature: bytes = field(default=b"", repr=False)


ABSENT = TokenReading(TokenKind.ABSENT)


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _signature(key: TokenKey, payload: bytes, alias: str) -> bytes:
    message = _CONTEXT + payload + alias.strip().casefold().encode("utf-8")
    return hmac.new(key.material, message, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def issue_token(key: TokenKey, token_id: str, alias: str, issued: datetime) -> str:
    """The signed token text for a reservation (the same inputs always give the same text)."""
    seconds = int(require_aware(issued, "issued").timestamp())
    payload = uuid.UUID(token_id).bytes + struct.pack(">I", seconds)
    return f"{SIGNED_PREFIX}{_b32(payload)}.{_b32(_signature(key, payload, alias))}{TERMINATOR}"


def placeholder_token(placeholder_id: str) -> str:
    """The placeholder token text for an id (the add-in builds the same text in JavaScript)."""
    if not re.fullmatch(r"[A-Za-z0-9]{16,64}", placeholder_id):
        raise ValueError("a placeholder id is 16 to 64 letters or digits")
    return f"{PLACEHOLDER_PREFIX}{placeholder_id.upper()}{TERMINATOR}"


def _compact(text: str, *, is_html: bool) -> str:
    if is_html:
        text = html_to_text(text)
    for _ in range(3):  # undo double escaping too (&amp;#35;)
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    text = _SOFT_BREAK.sub("", text)
    text = _QUOTE_MARKERS.sub("", text)
    return _INVISIBLE.sub("", text)


def _read_one(compact: str) -> TokenReading:
    signed = _SIGNED.search(compact)
    if signed is not None:
        payload = base64.b32decode(signed.group(1).upper())
        signature = base64.b32decode(signed.group(2).upper())
        (seconds,) = struct.unpack(">I", payload[16:])
        return TokenReading(
            TokenKind.SIGNED,
            text=f"{SIGNED_PREFIX}{signed.group(1).upper()}.{signed.group(2).upper()}{TERMINATOR}",
            token_id=str(uuid.UUID(bytes=payload[:16])),
            issued=datetime.fromtimestamp(seconds, UTC),
            payload=payload,
            signature=signature,
        )
    placeholder = _PLACEHOLDER.search(compact)
    if placeholder is not None:
        found = placeholder.group(1).upper()
        return TokenReading(
            TokenKind.PLACEHOLDER,
            text=f"{PLACEHOLDER_PREFIX}{found}{TERMINATOR}",
            placeholder_id=found,
        )
    if _SIGNED_START.search(compact) is not None:
        return TokenReading(TokenKind.MALFORMED)
    return ABSENT


def read_token(text: str = "", html_body: str = "") -> TokenReading:
    """Find the alias token in a message body (plain text, HTML, or both).

    A signed token wins over a placeholder, which wins over a malformed one; among equals the first
    in the text body, then in the HTML body.
    """
    readings = [
        _read_one(_compact(body, is_html=is_html))
        for body, is_html in ((text, False), (html_body, True))
        if body
    ]
    for kind in (TokenKind.SIGNED, TokenKind.PLACEHOLDER, TokenKind.MALFORMED):
        for reading in readings:
            if reading.kind is kind:
                return reading
    return ABSENT


def verify_token(reading: TokenReading, key: TokenKey, alias: str) -> bool:
    """True when a SIGNED reading was signed by ``key`` for ``alias``."""
    if reading.kind is not TokenKind.SIGNED:
        return False
    expected = _signature(key, reading.payload, alias)
    return hmac.compare_digest(expected, reading.signature)


def classify(reading: TokenReading, key: TokenKey, alias: str | None) -> TokenStatus:
    """The verdict on a reading, given the alias of the reservation its id names (None: unknown)."""
    match reading.kind:
        case TokenKind.ABSENT:
            return TokenStatus.ABSENT
        case TokenKind.PLACEHOLDER:
            return TokenStatus.PLACEHOLDER
        case TokenKind.MALFORMED:
            return TokenStatus.TAMPERED
        case TokenKind.SIGNED:
            valid = alias is not None and verify_token(reading, key, alias)
            return TokenStatus.VALID if valid else TokenStatus.TAMPERED
