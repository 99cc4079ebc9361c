"""`KeyCache` during an outage of the identity provider: known keys keep working, and calls are
neither asked of the provider once each nor queued behind its timeouts.

The provider is a fetch function; the clock moves only when told to (no real waiting).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from addin_support import Clock

from vmrsched.web.keycache import KEYS_TTL, RETRY_GAP, KeyCache, KeySet, KeysUnavailableError


class Provider:
    """Answers the key set, or fails; a failure can take (fake) time, as a timeout does."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.fetches = 0
        self.failing = False
        self.takes = timedelta(0)
        self.release: asyncio.Event | None = None  # when set, a fetch waits for it

    async def __call__(self) -> KeySet:
        self.fetches += 1
        if self.release is not None:
            await self.release.wait()
        self.clock.advance(self.takes)
        if self.failing:
            raise KeysUnavailableError("the provider does not answer")
        return KeySet(keys={"k1": "key one"})


async def _stale_cache() -> tuple[KeyCache, Provider, Clock]:
    clock = Clock()
    provider = Provider(clock)
    cache = KeyCache(provider, clock, name="test keys")
    assert await cache.key("k1") == "key one"
    clock.advance(KEYS_TTL)  # the daily refresh is due
    provider.failing = True
    return cache, provider, clock


async def test_the_retry_gap_starts_when_a_slow_fetch_fails_not_when_it_started() -> None:
    """A fetch that times out after ten seconds is not asked again at once: for ``RETRY_GAP``
    after the failure, known keys are answered without a new fetch."""
    cache, provider, clock = await _stale_cache()
    provider.takes = RETRY_GAP  # the fetch times out as late as the gap is long
    assert await cache.key("k1") == "key one"
    assert provider.fetches == 2
    clock.advance(RETRY_GAP / 2)
    assert await cache.key("k1") == "key one"
    assert provider.fetches == 2, "asked again within RETRY_GAP of the failure"


async def test_a_known_key_does_not_wait_behind_a_refresh_under_way() -> None:
    """While the daily refresh hangs on a provider that does not answer, a token signed by a key
    already held is answered at once instead of queueing behind the refresh."""
    cache, provider, _ = await _stale_cache()
    provider.release = asyncio.Event()
    refreshing = asyncio.create_task(cache.key("k1"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert provider.fetches == 2  # the refresh is under way and waiting on the provider
    other = asyncio.create_task(cache.key("k1"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert other.done(), "a known key waited behind the refresh"
    assert other.result() == "key one"
    provider.release.set()
    assert await refreshing == "key one"


async def test_an_unknown_key_still_waits_for_the_refresh_and_gets_its_answer() -> None:
    """A key the cache does not hold can only be answered by the refresh: it waits for it, and
    the outage is a `KeysUnavailableError` (a 503), never a made-up answer."""
    cache, provider, _ = await _stale_cache()
    provider.release = asyncio.Event()
    refreshing = asyncio.create_task(cache.key("k1"))
    for _ in range(5):
        await asyncio.sleep(0)
    unknown = asyncio.create_task(cache.key("k2"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not unknown.done()
    provider.release.set()
    assert await refreshing == "key one"
    try:
        await unknown
    except KeysUnavailableError:
        pass
    else:
        raise AssertionError("an unknown key was answered during an outage")
