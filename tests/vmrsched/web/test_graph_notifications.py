"""``POST /graph/notifications`` and ``/graph/lifecycle``: Graph's validation handshake, and
notifications handed to the receiver (the Graph adapter decides what to trust)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from aiohttp import StreamReader, web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from vmrsched.web import notifications

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class Receiver:
    def __init__(self) -> None:
        self.notified_with: list[object] = []
        self.lifecycle_with: list[object] = []

    def notified(self, payload: object) -> int:
        self.notified_with.append(payload)
        return 0

    def lifecycle(self, payload: object) -> int:
        self.lifecycle_with.append(payload)
        return 0


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def client(receiver: Receiver) -> AsyncIterator[TestClient[Any, Any]]:
    app = web.Application()
    notifications.add_routes(app, receiver)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.mark.parametrize("path", [notifications.NOTIFICATIONS, notifications.LIFECYCLE])
async def test_the_validation_handshake_echoes_the_decoded_token_as_plain_text(
    client: TestClient[Any, Any], receiver: Receiver, path: str
) -> None:
    """Graph's POST ?validationToken=...: 200, text/plain, the token URL-decoded, and nothing
    handed to the receiver."""
    token = "Validation: Testing client application reachability <b>&</b>"
    answer = await client.post(path, params={"validationToken": token})
    assert answer.status == 200
    assert answer.content_type == "text/plain"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert await answer.text() == token
    assert receiver.notified_with == receiver.lifecycle_with == []


async def test_a_notification_is_handed_over_and_answered_202(
    client: TestClient[Any, Any], receiver: Receiver
) -> None:
    """The JSON goes to the receiver as it came; Graph gets 202 whether it was trusted or not."""
    body = {"value": [{"subscriptionId": "s", "clientState": "wrong"}]}
    answer = await client.post(notifications.NOTIFICATIONS, json=body)
    assert answer.status == 202
    assert receiver.notified_with == [body]
    answer = await client.post(notifications.LIFECYCLE, json=body)
    assert answer.status == 202
    assert receiver.lifecycle_with == [body]


async def test_a_body_that_is_not_json_or_too_long_is_refused(
    client: TestClient[Any, Any], receiver: Receiver
) -> None:
    """Not JSON: 400; larger than a notification can be: 413; neither reaches the receiver."""
    answer = await client.post(notifications.NOTIFICATIONS, data=b"\xff{not json")
    assert answer.status == 400
    answer = await client.post(
        notifications.NOTIFICATIONS, data=b"[" + b"1," * notifications.MAX_BODY + b"1]"
    )
    assert answer.status == 413
    assert receiver.notified_with == []


async def test_json_nested_too_deep_is_refused_not_a_server_error(
    client: TestClient[Any, Any], receiver: Receiver
) -> None:
    """The endpoint is open to anyone: a few kB nested past the JSON decoder's recursion limit
    is a 400, not a 500, and does not reach the receiver."""
    answer = await client.post(notifications.NOTIFICATIONS, data=b"[" * 1500 + b"]" * 1500)
    assert answer.status == 400
    assert receiver.notified_with == []


async def test_an_overlong_validation_token_is_refused(client: TestClient[Any, Any]) -> None:
    """A "token" far longer than Graph's is not echoed."""
    answer = await client.post(notifications.NOTIFICATIONS, params={"validationToken": "x" * 5000})
    assert answer.status == 400


async def test_a_notification_arriving_in_pieces_is_read_whole() -> None:
    """A body split across packets is judged on all of it, not on the first piece."""
    loop = asyncio.get_running_loop()
    content = StreamReader(mock.Mock(), 2**16, loop=loop)
    content.feed_data(b'{"value": [{"subscriptionId": "s",')

    def rest() -> None:
        content.feed_data(b' "clientState": "c"}]}')
        content.feed_eof()

    loop.call_soon(rest)
    request = make_mocked_request("POST", notifications.NOTIFICATIONS, payload=content)
    assert await notifications._payload(request) == {
        "value": [{"subscriptionId": "s", "clientState": "c"}]
    }
