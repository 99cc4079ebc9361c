"""Typed keys for what the aiohttp application carries (shared by the server and front-ends)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from exchangesim.sim import Simulator

SIM_KEY: web.AppKey[Simulator] = web.AppKey("exchangesim_sim")
"""The simulator the application serves."""

STOPPING_KEY: web.AppKey[asyncio.Event] = web.AppKey("exchangesim_stopping", asyncio.Event)
"""Set when the server begins to stop; long waits (latency, long polls, streams) wake on it."""

ADMIN_KEY: web.AppKey[str] = web.AppKey("exchangesim_admin_key", str)
"""The shared secret the `/_exchangesim/` admin routes require."""
