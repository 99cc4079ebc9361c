"""The doctor's reads of the add-in's sign-in documents (`vmrsched.ports.probe.DocumentProbe`).

Entra ID's OpenID metadata and key set and Exchange's authentication metadata are public: an
anonymous GET, as the web server's sign-in makes it (`vmrsched.web.keycache.JsonFetcher`): no
redirect followed, ten seconds at most, server certificates checked against ``[exchange]
ca_bundle`` (`transport.https_session`, which no environment variable can weaken). Every failure
becomes a `ProbeError` in plain words; the document's content is never logged.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

import requests

from vmrsched.adapters.auth.transport import https_session
from vmrsched.ports.probe import ProbeError, Refusal

if TYPE_CHECKING:
    from pathlib import Path

#: As long as the web server's sign-in waits for a document (keycache.FETCH_TIMEOUT).
TIMEOUT_SECONDS: Final = 10.0
#: Larger answers are not metadata documents (Entra's are a few kilobytes).
MAX_BYTES: Final = 1_000_000
_CA_FIX: Final = (
    "check the URL, DNS, firewall and proxy from this host; for a private CA set [exchange] "
    "ca_bundle"
)


class JsonDocuments:
    """GETs public JSON documents over one HTTPS session of its own."""

    def __init__(self, ca_bundle: Path | None) -> None:
        self._session = https_session(ca_bundle)

    def json_document(self, url: str) -> dict[str, Any]:
        """The JSON object at ``url`` (see `DocumentProbe.json_document`)."""
        try:
            with self._session.get(
                url, timeout=TIMEOUT_SECONDS, allow_redirects=False, stream=True
            ) as response:
                if response.status_code != requests.codes.ok:
                    where = response.headers.get("Location", "")
                    moved = f" to {where}" if where and response.is_redirect else ""
                    server_error = response.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR
                    raise ProbeError(
                        f"{url} answered HTTP {response.status_code}{moved}",
                        reason=Refusal.UNREACHABLE if server_error else Refusal.OTHER,
                        fix="give the document's own URL (redirects are not followed)"
                        if moved
                        else "",
                    )
                body = response.raw.read(MAX_BYTES + 1, decode_content=True)
        except requests.exceptions.SSLError as exc:
            raise ProbeError(
                f"{url}: TLS failed ({_first_line(exc)})", reason=Refusal.UNREACHABLE, fix=_CA_FIX
            ) from exc
        except requests.RequestException as exc:
            raise ProbeError(
                f"{url} does not answer ({type(exc).__name__})",
                reason=Refusal.UNREACHABLE,
                fix=_CA_FIX,
            ) from exc
        if len(body) > MAX_BYTES:
            raise ProbeError(f"{url} answered more than {MAX_BYTES} bytes", reason=Refusal.OTHER)
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise ProbeError(
                f"{url} did not answer a JSON object",
                reason=Refusal.OTHER,
                fix="check that the URL is the document's (not a sign-in or error page)",
            )
        return document

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
