"""What one backlog run measured (`Result`), and the Markdown report of one or more runs.

The report is meant to be pasted into docs/benchmarks.md as it is: a heading line with the date
and the command, the machine (CPUs, Python, library versions, load average before and after, so a
reader can tell a quiet machine from a shared one), one table column per run, and the EWS calls
by operation. Used by ``bench/backlog.py``.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

#: Targets of issue 4 (EWS).
TARGET_RATE = 20.0
TARGET_CALLS = 2.0
TARGET_P95_S = 2.0
#: Target of issue 7 (Graph): time to clear within 1.5 x the limit-bound optimum, that is the
#: requests a meeting needs at the least (read it with its event, answer on the event) times N,
#: divided by the rate Exchange Online allows per app and mailbox (10,000 per 10 minutes).
GRAPH_MIN_REQUESTS = 2
GRAPH_ALLOWED_PER_SECOND = 10_000 / 600
GRAPH_OPTIMUM_FACTOR = 1.5


@dataclass
class Result:
    """What one run measured."""

    n: int
    singles: int
    latency_ms: float
    series_occurrences: int = 10
    seconds_to_clear: float = 0.0
    seconds_to_first: float = 0.0
    answered: int = 0
    duplicates: int = 0
    ews_calls: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # user + system CPU of the whole process while the backlog cleared
    rss_before_mib: float = 0.0
    rss_peak_mib: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    push_seconds: list[float] = field(default_factory=list)
    push_calls: dict[str, int] = field(default_factory=dict)
    #: Seconds from the service's start to each backlog answer's arrival, in arrival order.
    answer_seconds: list[float] = field(default_factory=list)
    push_notifications: int = 0  # Graph change notifications delivered in the push phase
    api: str = "ews"  # [exchange] api; Graph counts each request of a $batch, and the $batch

    @property
    def protocol(self) -> str:
        return "Graph" if self.api == "graph" else "EWS"

    @property
    def per_second(self) -> float:
        return self.n / self.seconds_to_clear if self.seconds_to_clear else 0.0

    @property
    def calls_per_meeting(self) -> float:
        return sum(self.ews_calls.values()) / self.n if self.n else 0.0

    @property
    def cpu_ms_per_meeting(self) -> float:
        return 1000 * self.cpu_seconds / self.n if self.n else 0.0

    @property
    def push_p50(self) -> float:
        return statistics.median(self.push_seconds) if self.push_seconds else 0.0

    @property
    def push_p95(self) -> float:
        return percentile(self.push_seconds, 0.95) if self.push_seconds else 0.0

    @property
    def answer_p50(self) -> float:
        return percentile(self.answer_seconds, 0.5) if self.answer_seconds else 0.0

    @property
    def answer_p95(self) -> float:
        return percentile(self.answer_seconds, 0.95) if self.answer_seconds else 0.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def machine() -> str:
    """CPUs, OS, Python and the versions that matter, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:  # noqa: PTH123 - Linux only
            names = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, exchangelib {version('exchangelib')}, "
        f"SQLAlchemy {version('sqlalchemy')}, SQLite {sqlite3.sqlite_version}"
    )


def _load(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def _target(ok: bool, text: str) -> str:
    return f"{text}: {'met' if ok else '**not met**'}"


def _calls(calls: dict[str, int], n: int) -> str:
    ordered = sorted(calls.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(
        f"{name} {count:,} ({count / max(n, 1):.3f}/meeting)" for name, count in ordered
    )


def _clear_target(results: Sequence[Result]) -> str:
    """Issue 7's Graph target for the time to clear ('' for EWS, whose targets are rates)."""
    if results[0].api != "graph":
        return ""
    bound = GRAPH_OPTIMUM_FACTOR * GRAPH_MIN_REQUESTS * results[0].n / GRAPH_ALLOWED_PER_SECOND
    return _target(
        all(r.seconds_to_clear <= bound for r in results),
        f"≤ {GRAPH_OPTIMUM_FACTOR} x limit-bound optimum = {bound:.0f} s",
    )


def rows(results: Sequence[Result]) -> list[tuple[str, list[str], str]]:
    """(measure, one value per run, target) for the table."""
    first = results[0]
    series = first.n - first.singles
    pushed = all(r.push_seconds for r in results)
    graph = first.api == "graph"
    table: list[tuple[str, list[str], str]] = [
        (
            "meetings in backlog",
            [
                f"{r.n:,} ({r.singles:,} singles, {series:,} weekly series of "
                f"{r.series_occurrences})"
                for r in results
            ],
            "",
        ),
        (
            f"{first.protocol} latency added per call",
            [f"{r.latency_ms:.0f} ms" for r in results],
            "",
        ),
        (
            "answered / duplicates",
            [f"{r.answered:,} / {r.duplicates}" for r in results],
            _target(all(r.answered == r.n and not r.duplicates for r in results), "exactly once"),
        ),
        ("time to clear", [f"{r.seconds_to_clear:.1f} s" for r in results], _clear_target(results)),
        ("time to first answer", [f"**{r.seconds_to_first:.1f} s**" for r in results], ""),
        (
            "answer latency p50 / p95 (from the service's start)",
            [f"{r.answer_p50:.1f} s / {r.answer_p95:.1f} s" for r in results],
            "",
        ),
        (
            "meetings per second",
            [f"**{r.per_second:.1f}**" for r in results],
            ""
            if graph
            else _target(all(r.per_second >= TARGET_RATE for r in results), f"≥ {TARGET_RATE:.0f}"),
        ),
        (
            f"{first.protocol} calls per meeting",
            [f"**{r.calls_per_meeting:.3f}**" for r in results],
            ""
            if graph
            else _target(
                all(r.calls_per_meeting <= TARGET_CALLS for r in results), f"≤ {TARGET_CALLS:.0f}"
            ),
        ),
        (
            "CPU per meeting (whole process: simulator, service, client)",
            [f"{r.cpu_ms_per_meeting:.1f} ms" for r in results],
            "",
        ),
        (
            "peak RSS (process so far, simulator included)",
            [f"{r.rss_peak_mib:.0f} MiB" for r in results],
            "",
        ),
        (
            "RSS after seeding, before the service",
            [f"{r.rss_before_mib:.0f} MiB" for r in results],
            "",
        ),
    ]
    if pushed:
        table += [
            (
                f"push latency p50 / p95 ({len(first.push_seconds)} meetings)",
                [f"**{r.push_p50:.2f} s / {r.push_p95:.2f} s**" for r in results],
                ""
                if graph
                else _target(all(r.push_p95 <= TARGET_P95_S for r in results), "p95 ≤ 2 s"),
            ),
            (
                f"push phase: {first.protocol} calls per meeting",
                [f"{sum(r.push_calls.values()) / len(r.push_seconds):.2f}" for r in results],
                "",
            ),
        ]
        if any(r.push_notifications for r in results):
            table.append(
                (
                    "push phase: Graph change notifications delivered per meeting",
                    [f"{r.push_notifications / len(r.push_seconds):.2f}" for r in results],
                    "",
                )
            )
    table.append(
        (
            "load average 1/5/15 min, before → after",
            [f"{_load(r.load_before)} → {_load(r.load_after)}" for r in results],
            "",
        )
    )
    return table


def report(results: Sequence[Result], out: TextIO, *, command: str) -> None:
    """The Markdown report of ``results`` (one column per run)."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"`{command}` — {when}\n", file=out)
    print(f"Machine: {machine()}.\n", file=out)
    runs = [f"run {number}" for number in range(1, len(results) + 1)]
    issue = 7 if results[0].api == "graph" else 4
    print(f"| measure | {' | '.join(runs)} | target (issue {issue}) |", file=out)
    print(f"|---|{'---|' * len(runs)}---|", file=out)
    for label, values, target in rows(results):
        print(f"| {label} | {' | '.join(values)} | {target} |", file=out)
    for number, result in enumerate(results, start=1):
        print(
            f"\nRun {number}, {result.protocol} calls in the backlog: "
            f"{_calls(result.ews_calls, result.n)}.",
            file=out,
        )
        if result.push_calls:
            pushed = _calls(result.push_calls, len(result.push_seconds))
            print(f"Run {number}, {result.protocol} calls in the push phase: {pushed}.", file=out)
