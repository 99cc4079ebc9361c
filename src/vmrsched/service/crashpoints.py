"""TEST-ONLY crash points: kill this process at an exact line, to prove exactly-once effects.

Set ``VMRSCHED_TEST_CRASH_AT`` to a comma-separated list of ``<point>:<n>`` and the process
SIGKILLs itself the ``n``-th time (counting from 1, in this process) it reaches ``<point>``.
The points:

- ``decision`` — a fresh decision was recorded (in its batch's transaction, perhaps not yet
  committed); the cursor has not moved;
- ``cursor`` — a page's cursor was stored;
- ``<effect kind>:before`` (``reply:before``, ``write_instructions:before``) — an effect is
  about to be performed;
- ``<effect kind>`` (``reply``, ``write_instructions``) — an effect was performed and is not yet
  marked done: the window in which a careless service sends a second reply after a restart.

Example: ``VMRSCHED_TEST_CRASH_AT=reply:3`` kills the service right after its third reply is sent.
Test-only: nothing sets this variable in normal operation; it exists for
``tests/vmrsched/service/test_exactly_once.py``. It is read once, when the module is imported, so
a crash point cannot be switched on while the process runs.
"""

import os
import signal
import threading
from collections import Counter
from typing import Final

ENV: Final = "VMRSCHED_TEST_CRASH_AT"


def _parse(text: str) -> dict[str, int]:
    points: dict[str, int] = {}
    for item in text.split(","):
        name, _, number = item.strip().rpartition(":")
        if name and number.isdigit() and int(number) > 0:
            points[name] = int(number)
    return points


_POINTS: Final = _parse(os.environ.get(ENV, ""))
_reached: Counter[str] = Counter()
_lock = threading.Lock()


def reached(point: str) -> None:
    """Count a pass through ``point``; SIGKILL this process when its crash number comes up."""
    if not _POINTS or point not in _POINTS:
        return
    with _lock:
        _reached[point] += 1
        due = _reached[point] == _POINTS[point]
    if due:
        # SIGKILL, not an exception or sys.exit: nothing may run after this line (no finally,
        # no atexit, no flush), exactly as when the machine loses power.
        os.kill(os.getpid(), signal.SIGKILL)
