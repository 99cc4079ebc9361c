"""Serving the web application as one of the supervisor's tasks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import structlog
from aiohttp import web

from vmrsched.service.supervisor import Task

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

log = structlog.get_logger(__name__)


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` too) as (host, port)."""
    match = re.fullmatch(r"\[?([^\[\]]+?)\]?:(\d+)", listen.strip())
    if match is None:
        raise ValueError(f"{listen!r} is not host:port")
    return match.group(1), int(match.group(2))


async def start_site(app: web.Application, listen: str) -> tuple[web.AppRunner, str]:
    """Start serving ``app`` on ``listen``; the runner and the URL it is reachable at."""
    host, port = split_listen(listen)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    bound = runner.addresses[0] if runner.addresses else (host, port)
    shown = f"[{bound[0]}]" if ":" in str(bound[0]) else str(bound[0])
    return runner, f"http://{shown}:{bound[1]}"


def web_task(
    app: web.Application, listen: str, *, on_ready: Callable[[str], None] | None = None
) -> Task:
    """A task that serves ``app`` on ``listen`` until the stop event is set."""

    async def body(stop: asyncio.Event) -> str:
        runner, url = await start_site(app, listen)
        log.info("web_listening", url=url)
        if on_ready is not None:
            on_ready(url)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
        return "stop requested"

    return Task("web", body)
