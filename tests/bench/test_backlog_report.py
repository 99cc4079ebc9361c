"""The backlog report judges each protocol by its own issue's targets."""

from __future__ import annotations

import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from backlog_report import Result, report


def _report(result: Result) -> str:
    out = io.StringIO()
    report([result], out, command="bench/backlog.py")
    return out.getvalue()


def test_a_graph_run_is_judged_against_the_limit_bound_optimum() -> None:
    """Graph: 1,000 meetings need 2,000 requests at 16.7/s (120 s); 1.5 x that is the bound."""
    quick = Result(n=1000, singles=800, latency_ms=50, seconds_to_clear=61.0, api="graph")
    quick.answered = 1000
    quick.ews_calls = {"get_message": 1000, "respond_to_event": 1000, "$batch": 50}
    text = _report(quick)
    assert "target (issue 7)" in text
    assert "≤ 1.5 x limit-bound optimum = 180 s: met" in text
    assert "≥ 20" not in text  # issue 4's EWS rate target is not Graph's

    slow = Result(n=1000, singles=800, latency_ms=50, seconds_to_clear=181.0, api="graph")
    assert "= 180 s: **not met**" in _report(slow)


def test_an_ews_run_keeps_issue_4s_targets() -> None:
    """EWS: meetings per second and calls per meeting, with no Graph bound on the time."""
    result = Result(n=1000, singles=800, latency_ms=50, seconds_to_clear=40.0)
    result.answered = 1000
    result.ews_calls = {"CreateItem": 1000, "GetItem": 20}
    text = _report(result)
    assert "target (issue 4)" in text
    assert "≥ 20: met" in text
    assert "≤ 2: met" in text
    assert "optimum" not in text


def test_the_answer_times_are_reported_as_first_p50_and_p95() -> None:
    """Time to the first answer, and the nearest-rank p50 / p95 of every answer's time."""
    result = Result(n=20, singles=20, latency_ms=50, seconds_to_clear=20.0, seconds_to_first=0.5)
    result.answered = 20
    result.answer_seconds = [float(second) for second in range(1, 21)]
    text = _report(result)
    assert "| time to first answer | **0.5 s** |" in text
    assert "| answer latency p50 / p95 (from the service's start) | 10.0 s / 19.0 s |" in text
