"""Graph change notifications: subscriptions with the validation handshake, notifications with
clientState, renewal, expiry limits and lifecycle notifications, delivered to an HTTPS receiver
whose certificate comes from the simulator's CA."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from graph_harness import GraphClient, meeting_body, tomorrow_at
from harness import ALICE, DAVE

from exchangesim import tls
from exchangesim.graph.notifier import remove_subscriptions
from exchangesim.store import Address, Message, send_message

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from harness import SimServer

BOB = "bob@contoso.com"
WAIT_S = 10.0


@dataclass
class Receiver:
    """An HTTPS endpoint that answers validations and records notifications."""

    base: str
    fail_notifications: bool = False
    validations: list[str] = field(default_factory=list)
    notifications: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    lifecycle: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    async def handle(self, request: web.Request) -> web.Response:
        token = request.query.get("validationToken")
        if token is not None:
            self.validations.append(request.path)
            if request.path.endswith("/refuse"):
                return web.Response(status=403)
            return web.Response(text=token, content_type="text/plain")
        body = await request.json()
        target = self.lifecycle if request.path.endswith("/lifecycle") else self.notifications
        if self.fail_notifications and target is self.notifications:
            return web.Response(status=500)
        for entry in body["value"]:
            target.put_nowait(entry)
        return web.Response(status=202)


@pytest.fixture
async def receiver(cert_dir: Path) -> AsyncIterator[Receiver]:
    """A receiver on 127.0.0.1 with a certificate from the session's simulator CA."""
    files = tls.ensure_tls_files(cert_dir, tls.hosts_for("127.0.0.1"))
    app = web.Application()
    state = Receiver(base="")
    app.router.add_post("/{tail:.*}", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    site = web.SockSite(runner, sock, ssl_context=tls.server_context(files))
    await site.start()
    state.base = f"https://127.0.0.1:{port}"
    yield state
    await runner.cleanup()


def _expires(minutes: int = 60) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _subscription(receiver: Receiver, resource: str, **extra: Any) -> dict[str, Any]:
    return {
        "changeType": "created,updated,deleted",
        "notificationUrl": f"{receiver.base}/notify",
        "lifecycleNotificationUrl": f"{receiver.base}/lifecycle",
        "resource": resource,
        "expirationDateTime": _expires(),
        "clientState": "secret-state",
        **extra,
    }


async def test_a_subscription_is_validated_and_notifies_new_mail(
    fresh_server: SimServer, receiver: Receiver
) -> None:
    """POST /subscriptions validates both URLs, answers 201; a new message in the inbox gives a
    `created` notification with the clientState and the message's id."""
    async with GraphClient(fresh_server) as graph:
        created = await graph.post(
            "/subscriptions", _subscription(receiver, f"users/{BOB}/mailFolders('inbox')/messages")
        )
        assert created.status == 201, created.body
        assert sorted(receiver.validations) == ["/lifecycle", "/notify"]
        message = send_message(
            fresh_server.sim.store, ALICE, Message(subject="ping", to_recipients=(Address(BOB),))
        )
        note = await asyncio.wait_for(receiver.notifications.get(), WAIT_S)
        inbox = await graph.get(f"/users/{BOB}/mailFolders/inbox/messages")
    assert created.body["changeType"] == "created,deleted,updated"
    assert created.body["clientState"] == "secret-state"
    assert note["subscriptionId"] == created.body["id"]
    assert note["changeType"] == "created"
    assert note["clientState"] == "secret-state"
    assert note["tenantId"] == fresh_server.sim.tenant.tenant_id
    assert note["resourceData"]["@odata.type"] == "#Microsoft.Graph.Message"
    (listed,) = inbox.body["value"]
    assert note["resourceData"]["id"] == listed["id"]
    assert note["resource"].endswith(f"/Messages/{listed['id']}")
    assert message.subject == "ping"


async def test_an_events_subscription_notifies_the_invitees_new_event(
    fresh_server: SimServer, receiver: Receiver
) -> None:
    """users/{id}/events: the Calendar Attendant's tentative event for a new invitation is a
    `created` notification for an Event."""
    async with GraphClient(fresh_server) as graph:
        created = await graph.post(
            "/subscriptions",
            _subscription(receiver, f"/users/{BOB}/events", changeType="created"),
        )
        assert created.status == 201, created.body
        await graph.post(
            f"/users/{ALICE}/events", meeting_body("Notify me", tomorrow_at(9), [(BOB, "required")])
        )
        note = await asyncio.wait_for(receiver.notifications.get(), WAIT_S)
        events = await graph.get(f"/users/{BOB}/events")
    assert note["changeType"] == "created"
    assert note["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"
    assert note["resourceData"]["id"] == events.body["value"][0]["id"]


async def test_an_endpoint_that_fails_validation_gets_no_subscription(
    fresh_server: SimServer, receiver: Receiver
) -> None:
    """A notification URL that does not echo the token: 400 ValidationError, nothing stored."""
    body = _subscription(
        receiver, f"users/{BOB}/messages", notificationUrl=f"{receiver.base}/refuse"
    )
    async with GraphClient(fresh_server) as graph:
        reply = await graph.post("/subscriptions", body)
        listed = await graph.get("/subscriptions")
    assert reply.status == 400
    assert reply.error_code == "ValidationError"
    assert listed.body["value"] == []


async def test_http_urls_too_long_lives_and_foreign_mailboxes_are_refused(
    fresh_server: SimServer, receiver: Receiver
) -> None:
    """http:// URLs, more than 10070 minutes and a mailbox outside the app's scope: refused."""
    async with GraphClient(fresh_server) as graph:
        plain = await graph.post(
            "/subscriptions",
            _subscription(
                receiver, f"users/{BOB}/messages", notificationUrl="http://127.0.0.1:9/x"
            ),
        )
        long = await graph.post(
            "/subscriptions",
            _subscription(receiver, f"users/{BOB}/messages", expirationDateTime=_expires(10071)),
        )
        foreign = await graph.post(
            "/subscriptions", _subscription(receiver, f"users/{DAVE}/messages")
        )
    assert plain.status == 400
    assert long.status == 400
    assert "10070" in long.body["error"]["message"]
    assert foreign.status == 403


async def test_a_subscription_is_renewed_read_and_deleted(
    fresh_server: SimServer, receiver: Receiver
) -> None:
    """PATCH renews expirationDateTime; GET reads it; DELETE removes it (then 404)."""
    async with GraphClient(fresh_server) as graph:
        created = await graph.post(
            "/subscriptions", _subscription(receiver, f"users/{BOB}/messages")
        )
        sub_id = created.body["id"]
        later = _expires(3000)
        renewed = await graph.patch(f"/subscriptions/{sub_id}", {"expirationDateTime": later})
        read = await graph.get(f"/subscriptions/{sub_id}")
        deleted = await graph.delete(f"/subscriptions/{sub_id}")
        gone = await graph.get(f"/subscriptions/{sub_id}")
    assert renewed.status == 200
    assert read.body["expirationDateTime"][:16] == later[:16]
    assert deleted.status == 204
    assert gone.status == 404


async def test_a_removed_subscription_sends_a_lifecycle_notification(
    fresh_server: SimServer, receiver: Receiver
) -> None:
    """When Graph drops a subscription, the lifecycle URL gets subscriptionRemoved with the
    clientState and the subscription is gone."""
    async with GraphClient(fresh_server) as graph:
        created = await graph.post(
            "/subscriptions", _subscription(receiver, f"users/{BOB}/messages")
        )
        future = remove_subscriptions(fresh_server.sim, mailbox=BOB)
        assert await asyncio.wait_for(asyncio.wrap_future(future), WAIT_S) == 1
        event = await asyncio.wait_for(receiver.lifecycle.get(), WAIT_S)
        gone = await graph.get(f"/subscriptions/{created.body['id']}")
    assert event["lifecycleEvent"] == "subscriptionRemoved"
    assert event["subscriptionId"] == created.body["id"]
    assert event["clientState"] == "secret-state"
    assert gone.status == 404


async def test_undeliverable_notifications_end_in_a_missed_lifecycle_event(
    fresh_server: SimServer, receiver: Receiver
) -> None:
    """An endpoint answering 500 to notifications: after three attempts the lifecycle URL gets
    `missed`."""
    async with GraphClient(fresh_server) as graph:
        created = await graph.post(
            "/subscriptions", _subscription(receiver, f"users/{BOB}/messages")
        )
    receiver.fail_notifications = True
    send_message(
        fresh_server.sim.store, ALICE, Message(subject="lost", to_recipients=(Address(BOB),))
    )
    event = await asyncio.wait_for(receiver.lifecycle.get(), WAIT_S)
    assert event["lifecycleEvent"] == "missed"
    assert event["subscriptionId"] == created.body["id"]
    assert fresh_server.knobs.counter("graph_notifications", "missed") == 1
