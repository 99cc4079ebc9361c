"""The add-in API under hostile or unlucky input: bodies in pieces, Entra outages."""

from __future__ import annotations

import asyncio
from unittest import mock

import pytest
from aiohttp import StreamReader
from aiohttp.test_utils import make_mocked_request

from vmrsched.web.addin import API_PATH, _body_problem


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        ([b'{"subject": "Weekly', b' sync"}'], ""),
        ([b"{" + b" " * 10_000, b" " * 10_000 + b"}"], "the request body is too large"),
    ],
)
async def test_a_body_arriving_in_pieces_is_judged_whole(
    pieces: list[bytes], expected: str
) -> None:
    """The body is judged on all of it, not on the first piece the network delivered."""
    loop = asyncio.get_running_loop()
    content = StreamReader(mock.Mock(), 2**16, loop=loop)
    content.feed_data(pieces[0])

    def rest() -> None:
        for piece in pieces[1:]:
            content.feed_data(piece)
        content.feed_eof()

    loop.call_soon(rest)
    request = make_mocked_request("POST", API_PATH, payload=content)
    assert await _body_problem(request) == expected
