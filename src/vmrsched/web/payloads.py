"""Request bodies read whole, up to a limit.

``StreamReader.read(n)`` answers with what has arrived so far, which may be less than the body:
judging that part alone would call a body split across packets "not JSON" or let an oversized
one slip past the size check.
"""

from aiohttp import StreamReader


async def read_at_most(content: StreamReader, limit: int) -> bytes:
    """Up to ``limit`` bytes of the body: all of it when it is shorter."""
    raw = bytearray()
    while len(raw) < limit:
        chunk = await content.read(limit - len(raw))
        if not chunk:
            break
        raw += chunk
    return bytes(raw)
