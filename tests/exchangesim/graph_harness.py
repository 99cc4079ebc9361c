"""A raw Graph client for exchangesim tests, and helpers to compare with captured Graph samples.

from graph_harness import GraphClient, sample_body

async def test_something(sim_server):
    async with GraphClient(sim_server) as graph:
        reply = await graph.get("/users/alice@contoso.com/messages")
    assert reply.status == 200
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

import aiohttp
from harness import CONFORMANCE_DIR, VMRSCHED_APP

if TYPE_CHECKING:
    from collections.abc import Set as AbstractSet
    from types import TracebackType

    from harness import SimServer

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_SAMPLES = CONFORMANCE_DIR / "graph-samples"
UNCONSENTED_APP = "3b1f0e5c-7d2a-4c8e-9f61-2a5d8c4b7e90"


def sample_body(name: str) -> Any:
    """The response body of a captured Graph sample (../shared/conformance/graph-samples)."""
    return json.loads((GRAPH_SAMPLES / name).read_text())["response"]["body"]


def key_types(data: dict[str, Any]) -> dict[str, str]:
    """Each key's JSON type (null counts as any type)."""
    names = {
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
        list: "array",
        dict: "object",
    }
    return {k: names.get(type(v), "null") for k, v in data.items()}


def assert_shape_like(
    ours: dict[str, Any], sample: dict[str, Any], *, ignore: AbstractSet[str] = frozenset()
) -> None:
    """Every key of the sample is in ours, with the same JSON type where both are non-null."""
    theirs, mine = key_types(sample), key_types(ours)
    missing = set(theirs) - set(mine) - set(ignore)
    assert not missing, f"keys Graph sends that we do not: {sorted(missing)}"
    wrong = {
        k: (mine[k], t)
        for k, t in theirs.items()
        if k in mine and "null" not in (t, mine[k]) and t != mine[k] and k not in ignore
    }
    assert not wrong, f"keys whose JSON type differs (ours, Graph's): {wrong}"


@dataclass
class GraphReply:
    """An HTTP answer of the Graph endpoint."""

    status: int
    headers: dict[str, str]
    body: Any

    @property
    def error_code(self) -> str | None:
        """``error.code`` of an error body."""
        return (
            self.body["error"]["code"]
            if isinstance(self.body, dict) and "error" in self.body
            else None
        )


class GraphClient:
    """Plain HTTP calls to `/v1.0/...` of a simulator, with an app token for Graph."""

    def __init__(
        self, server: SimServer, app: str = VMRSCHED_APP, token: str | None = None
    ) -> None:
        self.server = server
        self.token = token if token is not None else server.app_token(app, GRAPH_RESOURCE)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        await self._session.close()

    @property
    def root(self) -> str:
        """``https://host:port/v1.0``."""
        return self.server.base_url + "/v1.0"

    async def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> GraphReply:
        """`method` on `path` (below /v1.0, or an absolute URL such as a nextLink)."""
        assert self._session is not None
        url = path if path.startswith("https://") else self.root + path
        sent = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        sent |= headers or {}
        async with self._session.request(
            method, url, json=body, headers=sent, ssl=self.server.ssl_context()
        ) as response:
            text = await response.text()
            return GraphReply(
                response.status, dict(response.headers), json.loads(text) if text else None
            )

    async def get(self, path: str, headers: dict[str, str] | None = None) -> GraphReply:
        """GET."""
        return await self.call("GET", path, headers=headers)

    async def post(self, path: str, body: Any = None) -> GraphReply:
        """POST with a JSON body."""
        return await self.call("POST", path, body)

    async def patch(self, path: str, body: Any) -> GraphReply:
        """PATCH with a JSON body."""
        return await self.call("PATCH", path, body)

    async def delete(self, path: str) -> GraphReply:
        """DELETE."""
        return await self.call("DELETE", path)


def tomorrow_at(hour: int, minutes: int = 0) -> datetime:
    """Tomorrow at `hour`:`minutes` UTC."""
    day = datetime.now(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minutes, tzinfo=UTC)


def graph_time(value: datetime, zone: str = "UTC") -> dict[str, str]:
    """A dateTimeTimeZone for a request."""
    return {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone}


def meeting_body(
    subject: str, start: datetime, attendees: list[tuple[str, str]], *, hours: int = 1
) -> dict[str, Any]:
    """A POST /events body: `attendees` as (address, type)."""
    return {
        "subject": subject,
        "body": {"contentType": "html", "content": f"<p>{subject}</p>"},
        "start": graph_time(start),
        "end": graph_time(start + timedelta(hours=hours)),
        "location": {"displayName": "Room 1"},
        "attendees": [{"emailAddress": {"address": a}, "type": t} for a, t in attendees],
    }
