"""Run blocking port calls off the event loop, in daemon threads the loop need not wait for.

The ports are synchronous (see `vmrsched.ports.store`). ``asyncio.to_thread`` would do, except
that its executor's threads must all finish before the interpreter exits: a long push wait or a
hung HTTP call would then hold a stopping service past its grace period. A daemon thread per call
lets the supervisor give up on a call at the end of the grace; the call's work is crash-safe by
design (decisions and effects are recorded first), so being cut off is like a crash, not a loss.
"""

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _settle(future: "asyncio.Future[T]", result: T | None, error: BaseException | None) -> None:
    if future.done():
        return  # the awaiting task was cancelled meanwhile
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]


async def in_thread(function: Callable[[], T], *, name: str = "vmrsched-call") -> T:
    """``function()`` in a new daemon thread; its result or exception, awaited."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def work() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting task, re-raised there
            error = exc
        # A closed loop raises RuntimeError: nobody waits for this result any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, future, result, error)

    threading.Thread(target=work, name=name, daemon=True).start()
    return await future
