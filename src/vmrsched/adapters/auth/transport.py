"""HTTPS sessions that trust the default CAs plus ``[exchange] ca_bundle``, whatever the
environment says.

``ca_bundle`` *adds* CAs (an on-premises Exchange's private CA, the local simulator's): the same
process also talks to Entra ID (the token endpoint under Hybrid Modern Authentication, the
add-in's keys), whose certificates chain to public roots. So the PEM file verified against is the
default store requests uses (certifi's bundle) followed by ``ca_bundle`` (`trusted_bundle`).

requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a session's ``verify`` for every
request that does not pass ``verify=`` itself (``Session.merge_environment_settings``;
https://github.com/psf/requests/issues/3829), and exchangelib never passes it. So the bundle is
enforced one level lower, in the transport adapter, which is also the hook exchangelib documents
for TLS settings (``BaseProtocol.HTTP_ADAPTER_CLS``). Nothing global is changed.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import ssl
import tempfile
from pathlib import Path
from typing import Any

import certifi
import requests
from requests.adapters import HTTPAdapter

USER_AGENT = "vmrsched"


def trusted_bundle(ca_bundle: Path) -> str:
    """A PEM file of requests' default CAs followed by ``ca_bundle``'s (made once per version of
    the file, in a private temporary folder removed at exit)."""
    stat = ca_bundle.stat()
    return _combined(str(ca_bundle.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _combined(path: str, _mtime_ns: int, _size: int) -> str:
    folder = Path(tempfile.mkdtemp(prefix="vmrsched-ca-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    target = folder / "trusted.pem"
    default = Path(certifi.where()).read_text(encoding="ascii")
    extra = Path(path).read_text(encoding="ascii")
    target.write_text(f"{default.rstrip()}\n{extra.strip()}\n", encoding="ascii")
    return str(target)


def trusting_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """An `ssl.SSLContext` (for aiohttp) trusting the system's CAs plus ``ca_bundle``'s."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    return context


class PinnedCaAdapter(HTTPAdapter):
    """An adapter that verifies server certificates against the default CAs plus `ca_bundle`
    (None: the default CAs only)."""

    def __init__(self, ca_bundle: Path | None = None, **kwargs: Any) -> None:
        self.ca_bundle = ca_bundle
        self._verify = trusted_bundle(ca_bundle) if ca_bundle is not None else None
        super().__init__(**kwargs)

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send with ``verify`` pinned to the bundle (never weakened to False)."""
        if self._verify is not None:
            if len(args) > 2:  # (stream, timeout, verify, ...) passed by position
                args = (*args[:2], self._verify, *args[3:])
            else:
                kwargs["verify"] = self._verify
        return super().send(request, *args, **kwargs)


def https_session(
    ca_bundle: Path | None, *, pool_maxsize: int = 10, max_retries: int = 0
) -> requests.Session:
    """A requests session whose HTTPS connections trust `ca_bundle` (None: the default store)."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    adapter = PinnedCaAdapter(
        ca_bundle, pool_connections=1, pool_maxsize=pool_maxsize, max_retries=max_retries
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
