"""Run blocking port calls off the event loop, in daemon threads the loop need not wait for.

The ports are synchronous (see `vmrsched.ports.store`). ``asyncio.to_thread`` would do, except
that its executor's threads must all finish before the interpreter exits: a long push wait or a
hung HTTP call would then hold a stopping service past its grace period. A daemon thread per call
lets the supervisor give up on a call at the end of the grace; the call's work is crash-safe by
design (decisions and effects are recorded first), so being cut off is like a crash, not a loss.
``run_bounded`` runs several such calls at once, a bounded number at a time, on the same terms.
"""

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")


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


def run_bounded(
    work: Callable[[T], R], items: Sequence[T], *, limit: int, name: str = "vmrsched-worker"
) -> Iterator[R]:
    """``work(item)`` for every item, at most ``limit`` at a time, in daemon threads; the results
    in the order they finish. ``work`` must not raise (return the error instead): an exception
    from it is re-raised here once every item has finished."""
    pending: queue.SimpleQueue[T] = queue.SimpleQueue()
    for item in items:
        pending.put(item)
    finished: queue.SimpleQueue[tuple[R | None, BaseException | None]] = queue.SimpleQueue()

    def worker() -> None:
        while True:
            try:
                item = pending.get_nowait()
            except queue.Empty:
                return
            try:
                finished.put((work(item), None))
            except BaseException as exc:
                finished.put((None, exc))

    for number in range(min(max(1, limit), len(items))):
        threading.Thread(target=worker, name=f"{name}-{number}", daemon=True).start()
    error: BaseException | None = None
    for _ in items:
        result, raised = finished.get()
        if raised is not None:
            error = error or raised
        else:
            yield cast("R", result)
    if error is not None:
        raise error
