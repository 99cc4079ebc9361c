"""Request bodies read whole, up to a limit; the API's error answer.

``StreamReader.read(n)`` answers with what has arrived so far, which may be less than the body:
judging that part alone would call a body split across packets "not JSON" or let an oversized
one slip past the size check.
"""

from aiohttp import StreamReader, web


async def read_at_most(content: StreamReader, limit: int) -> bytes:
    """Up to ``limit`` bytes of the body: all of it when it is shorter."""
    raw = bytearray()
    while len(raw) < limit:
        chunk = await content.read(limit - len(raw))
        if not chunk:
            break
        raw += chunk
    return bytes(raw)


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """The API's error answer."""
    return web.json_response({"error": code, "message": message}, status=status, headers=headers)
