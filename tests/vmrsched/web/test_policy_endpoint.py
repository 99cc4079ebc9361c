"""Pexip Infinity's service configuration request, answered over HTTP with Pexip's field names."""

from __future__ import annotations

import asyncio
import base64
import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from aiohttp.test_utils import TestClient, TestServer

from vmrsched.adapters.db import SqlStore
from vmrsched.config import PolicyAuth, Secret, VideoSettings
from vmrsched.domain.aliases import AliasFormat
from vmrsched.domain.bookings import SINGLE, Booking, BookingState, window
from vmrsched.domain.reservations import new_reservation
from vmrsched.service.health import Health
from vmrsched.web.app import WebOptions, build_app
from vmrsched.web.policy import PATH

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
START = NOW + timedelta(hours=2)
ALIASES = AliasFormat("81", 6, "vmr.contoso.com", "81")
SECRET = "a-shared-secret-of-32-characters"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store() -> Iterator[SqlStore]:
    opened = SqlStore.in_memory()
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def book(store: SqlStore, *, state: BookingState = BookingState.ACTIVE) -> Booking:
    """A stored booking for a one-hour meeting at START (buffers 30/60 minutes)."""
    rng = random.Random(5)
    reservation = store.add_reservation(
        lambda: new_reservation(
            organizer="alice@contoso.com",
            alias_format=ALIASES,
            rng=rng,
            now=NOW,
            ttl=timedelta(days=30),
        )
    )
    booking = Booking(
        booking_id="bk-1",
        meeting_key="meeting-1",
        alias=reservation.alias,
        numeric_alias=reservation.numeric_alias,
        token_id=reservation.token_id,
        windows=(
            window(
                SINGLE,
                START,
                START + timedelta(hours=1),
                before=timedelta(minutes=30),
                after=timedelta(minutes=60),
            ),
        ),
        state=state,
        sequence_seen=0,
        created=NOW,
        updated=NOW,
    )
    store.save_booking(booking)
    return booking


def options(store: SqlStore, clock: Clock, **video: object) -> WebOptions:
    return WebOptions(
        store=store,
        clock=clock,
        health=Health(NOW),
        alias_format=ALIASES,
        video=VideoSettings(**video),  # type: ignore[arg-type]
    )


@pytest.fixture
async def client(store: SqlStore, clock: Clock) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(options(store, clock)))) as test_client:
        yield test_client


async def ask(client: TestClient, local_alias: str, **params: str) -> dict:
    query = {
        "local_alias": local_alias,
        "remote_alias": "sip:bob@fabrikam.com",
        "call_direction": "dial_in",
        "protocol": "sip",
        "node_ip": "10.0.0.5",
        "version_id": "36",
    } | params
    response = await client.get(PATH, params=query)
    assert response.status == 200
    assert response.content_type == "application/json"
    return await response.json()


async def test_a_booked_alias_inside_its_window_gets_a_vmr(
    client: TestClient, store: SqlStore, clock: Clock
) -> None:
    """Inside the window (buffer included) the answer is a conference with Pexip's fields."""
    booking = book(store)
    clock.now = START - timedelta(minutes=29)
    answer = await ask(client, f"sip:{booking.alias}")
    assert answer["status"] == "success"
    assert answer["result"]["service_type"] == "conference"
    assert answer["result"]["name"] == f"vmrsched {booking.alias}"
    assert answer["result"]["service_tag"] == f"vmrsched:{booking.booking_id}"
    numeric = await ask(client, booking.numeric_alias, protocol="h323")
    assert numeric["result"]["service_tag"] == f"vmrsched:{booking.booking_id}"


@pytest.mark.parametrize("moment", [timedelta(minutes=-31), timedelta(hours=2), timedelta(days=3)])
async def test_a_booked_alias_outside_its_windows_is_rejected(
    client: TestClient, store: SqlStore, clock: Clock, moment: timedelta
) -> None:
    """Before the window opens and after it closes Infinity is told to reject the call."""
    booking = book(store)
    clock.now = START + moment
    assert await ask(client, booking.alias) == {
        "status": "success",
        "action": "reject",
        "result": {},
    }


async def test_a_released_booking_is_rejected_inside_its_old_window(
    client: TestClient, store: SqlStore, clock: Clock
) -> None:
    """A cancelled meeting's alias cannot be joined any more."""
    booking = book(store, state=BookingState.RELEASED)
    clock.now = START
    assert (await ask(client, booking.alias))["action"] == "reject"


async def test_an_unknown_alias_passes_through(client: TestClient) -> None:
    """Aliases outside vmrsched's namespace are left to Infinity's own configuration."""
    for alias in ("meet.alice@contoso.com", "sip:81123@vmr.contoso.com", "4711"):
        assert await ask(client, alias) == {"status": "success", "action": "continue", "result": {}}


async def test_an_alias_in_our_namespace_that_is_not_booked_is_rejected(client: TestClient) -> None:
    """A reserved, expired or made-up scheduled alias is refused rather than passed through."""
    assert (await ask(client, "81999999@vmr.contoso.com"))["action"] == "reject"
    assert (await ask(client, "81999999"))["action"] == "reject"


async def test_a_request_without_local_alias_passes_through(client: TestClient) -> None:
    """A malformed request does not fail: Infinity falls back to its own configuration."""
    response = await client.get(PATH)
    assert (await response.json())["action"] == "continue"


async def test_a_slow_store_answers_continue_within_the_budget(
    store: SqlStore, clock: Clock
) -> None:
    """When the database is too slow, Infinity still gets an answer before its 5 s timeout."""
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow(alias: str, at: datetime) -> None:
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(10)

    store.live_booking_for_alias = slow  # type: ignore[method-assign]
    opts = options(store, clock)
    app = build_app(
        WebOptions(
            store=store,
            clock=clock,
            health=opts.health,
            alias_format=ALIASES,
            video=opts.video,
            policy_budget=timedelta(milliseconds=50),
        )
    )
    async with TestClient(TestServer(app)) as slow_client:
        answer = await ask(slow_client, "81123456@vmr.contoso.com")
    release.set()
    assert answer["action"] == "continue"


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_basic_auth_needs_the_user_and_password(store: SqlStore, clock: Clock) -> None:
    """policy_auth = basic: 401 with a challenge unless both user and password match."""
    opts = options(
        store,
        clock,
        policy_auth=PolicyAuth.BASIC,
        policy_username="infinity",
        policy_password=Secret(SECRET),
    )
    async with TestClient(TestServer(build_app(opts))) as auth_client:
        missing = await auth_client.get(PATH, params={"local_alias": "x"})
        wrong_user = await auth_client.get(
            PATH, params={"local_alias": "x"}, headers=basic("other", SECRET)
        )
        good = await auth_client.get(
            PATH, params={"local_alias": "x"}, headers=basic("infinity", SECRET)
        )
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Basic ")
    assert wrong_user.status == 401
    assert good.status == 200


async def test_a_shared_secret_accepts_any_user_name(store: SqlStore, clock: Clock) -> None:
    """policy_auth = shared_secret: the password alone decides."""
    opts = options(
        store, clock, policy_auth=PolicyAuth.SHARED_SECRET, policy_password=Secret(SECRET)
    )
    async with TestClient(TestServer(build_app(opts))) as auth_client:
        good = await auth_client.get(
            PATH, params={"local_alias": "x"}, headers=basic("anyone", SECRET)
        )
        bad = await auth_client.get(
            PATH, params={"local_alias": "x"}, headers=basic("anyone", SECRET + "x")
        )
    assert (good.status, bad.status) == (200, 401)


async def test_health_is_up_and_ready_waits_for_a_successful_pass(
    store: SqlStore, clock: Clock
) -> None:
    """/health answers at once; /ready is 503 until the watcher has read the mailbox."""
    opts = options(store, clock)
    async with TestClient(TestServer(build_app(opts))) as health_client:
        up = await health_client.get("/health")
        before = await health_client.get("/ready")
        reason = (await before.json())["reason"]
        opts.health.pass_succeeded(NOW)
        after = await health_client.get("/ready")
    assert up.status == 200
    assert before.status == 503
    assert reason == "no pass has completed yet"
    assert after.status == 200
