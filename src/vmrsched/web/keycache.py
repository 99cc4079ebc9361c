"""Signing keys read from an identity provider's published documents, and kept with care.

Both sign-ins use it: Entra ID's key set (`signin`) and Exchange's authentication metadata
(`exchange_identity`). The rules:

- keys are fetched when the first token needs them (never at import or start), kept for a day,
  and fetched again when a token names a key we do not have (keys roll over), at most once a
  minute, so that made-up key ids cannot make us hammer the provider;
- after a failed fetch, calls are refused (`KeysUnavailableError`, a 503) without asking again for
  ten seconds from the failure, so an outage is not asked once per call, nor are calls queued
  behind one timeout each;
- a token signed by a key we already have is still accepted while the daily refresh fails, and
  does not wait while a refresh is under way: keys roll over slowly, so a key the provider
  published still proves the signature.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import structlog

if TYPE_CHECKING:
    import ssl
    from collections.abc import Awaitable, Callable

    from vmrsched.service.clock import Clock

log = structlog.get_logger(__name__)

KEYS_TTL: Final = timedelta(hours=24)
REFRESH_GAP: Final = timedelta(minutes=1)
#: After a failed fetch, how long calls are refused without asking the provider again.
RETRY_GAP: Final = timedelta(seconds=10)
FETCH_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)


class KeysUnavailableError(Exception):
    """The provider's metadata or keys could not be fetched (provider or network down)."""


@dataclass
class KeySet:
    """Public keys by key id (``kid``, or a certificate thumbprint), and the issuer named."""

    keys: dict[str, Any] = field(default_factory=dict)
    issuer: str = ""
    fetched: datetime | None = None


class JsonFetcher:
    """GETs JSON documents over one HTTP session (made on first use, closed by `close`)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None

    async def get(self, url: str) -> dict[str, Any]:
        """The JSON object at ``url``; aiohttp, JSON or type errors propagate."""
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._ssl) if self._ssl is not None else None
            self._session = aiohttp.ClientSession(timeout=FETCH_TIMEOUT, connector=connector)
        async with self._session.get(url, allow_redirects=False) as response:
            response.raise_for_status()
            document = json.loads(await response.text())
        if not isinstance(document, dict):
            raise TypeError(f"{url} did not answer a JSON object")
        return document

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class KeyCache:
    """One provider's keys, fetched by ``fetch`` under the rules of the module docstring.

    ``fetch`` returns a `KeySet` or raises `KeysUnavailableError` (after logging why).
    """

    def __init__(self, fetch: Callable[[], Awaitable[KeySet]], clock: Clock, *, name: str) -> None:
        self._fetch = fetch
        self._clock = clock
        self._name = name
        self._keys = KeySet()
        self._failed: datetime | None = None
        self._lock = asyncio.Lock()

    @property
    def issuer(self) -> str:
        """The issuer the last fetch named ('' before any)."""
        return self._keys.issuer

    async def key(self, kid: str) -> Any | None:
        """The key ``kid`` names, or None when the provider does not publish it."""
        now = self._clock()
        keys = self._keys
        stale = keys.fetched is None or now - keys.fetched >= KEYS_TTL
        unknown = kid not in keys.keys
        may_refresh = keys.fetched is None or now - keys.fetched >= REFRESH_GAP
        if stale and not unknown and self._lock.locked():
            return keys.keys.get(kid)  # a refresh is under way: the key we hold still proves
        if stale or (unknown and may_refresh):
            async with self._lock:
                if self._keys is keys:  # nobody refreshed while we waited
                    try:
                        self._keys = await self._refresh(now)
                    except KeysUnavailableError:
                        if unknown:
                            raise
                        kept = str(keys.fetched)
                        log.warning("signin_keys_kept", source=self._name, fetched=kept)
        return self._keys.keys.get(kid)

    async def _refresh(self, now: datetime) -> KeySet:
        if self._failed is not None and now - self._failed < RETRY_GAP:
            raise KeysUnavailableError(f"{self._name} could not be read moments ago")
        try:
            fetched = await self._fetch()
        except KeysUnavailableError:
            self._failed = self._clock()  # the gap starts at the failure (a timeout takes long)
            raise
        self._failed = None
        fetched.fetched = now
        return fetched
