"""HTTPS sessions that trust exactly the configured CA bundle, whatever the environment says.

requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a session's ``verify`` for every
request that does not pass ``verify=`` itself (``Session.merge_environment_settings``;
https://github.com/psf/requests/issues/3829), and exchangelib never passes it. So ``ca_bundle``
is enforced one level lower, in the transport adapter, which is also the hook exchangelib
documents for TLS settings (``BaseProtocol.HTTP_ADAPTER_CLS``). Nothing global is changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter

if TYPE_CHECKING:
    from pathlib import Path

USER_AGENT = "vmrsched"


class PinnedCaAdapter(HTTPAdapter):
    """An adapter that verifies server certificates against `ca_bundle` (None: the default)."""

    def __init__(self, ca_bundle: Path | None = None, **kwargs: Any) -> None:
        self.ca_bundle = ca_bundle
        super().__init__(**kwargs)

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send with ``verify`` pinned to the bundle (never weakened to False)."""
        if self.ca_bundle is not None:
            if len(args) > 2:  # (stream, timeout, verify, ...) passed by position
                args = (*args[:2], str(self.ca_bundle), *args[3:])
            else:
                kwargs["verify"] = str(self.ca_bundle)
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
